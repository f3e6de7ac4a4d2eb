// What the embedding and rerank engines share: an encoder graph (BERT, RoBERTa, XLM-R and the
// decoder-trunk encoders) fed `input_ids`, `attention_mask` and, when the graph has it,
// `token_type_ids` (zeros for a single text, the pair's segment ids for a cross-encoder). Rows are
// right-padded to a length bucket (powers of two) and sent through the version's scheduler, so
// concurrent requests of the same bucket share executions in the dynamic batcher; each row's
// slice of the one output is then read back by the caller.

import type { ResolvedModelConfig, ResolvedTensorConfig } from '../config/resolved-model-config.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import { InferdError } from '../errors/index.js';
import type { Tensor } from '../tensor/tensor.js';

/** What the engines need of a model version's scheduler. */
export interface InferBackend {
  infer(request: InferRequest): Promise<InferResult>;
}

/** One tokenized row: its ids and, for a text pair, the segment (token type) of each id. */
export interface EncodedRow {
  readonly ids: readonly number[];
  /** Same length as ids; absent = all zeros (a single text). */
  readonly typeIds?: readonly number[];
}

export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const TOKEN_TYPE_IDS = 'token_type_ids';
/** The shortest padded length; shorter buckets would only add batch keys. */
const MIN_BUCKET = 8;

/** The smallest power of two (at least MIN_BUCKET) that holds `tokens`, capped at the context length. */
export function bucketFor(tokens: number, contextLength: number): number {
  let b = MIN_BUCKET;
  while (b < tokens) b *= 2;
  return Math.min(b, Math.max(contextLength, tokens));
}

/**
 * Checks the graph takes input_ids and attention_mask (INT64), perhaps token_type_ids, and nothing
 * else, and has `output` in FP32. Returns the output's config and whether token types are fed.
 */
export function checkEncoderSignature(
  config: ResolvedModelConfig,
  output: string,
  serving: string,
): { readonly output: ResolvedTensorConfig; readonly tokenTypes: boolean } {
  const problem = (reason: string) =>
    new InferdError('INF_ERR_MODEL_LOAD', `model '${config.name}' cannot serve ${serving}: ${reason}`);
  for (const name of [INPUT_IDS, ATTENTION_MASK]) {
    const input = config.inputs.find((t) => t.name === name);
    if (input === undefined) throw problem(`it has no input '${name}'`);
  }
  const known = [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS];
  for (const input of config.inputs) {
    if (!known.includes(input.name))
      throw problem(`it takes input '${input.name}'; an encoder takes ${known.join(', ')} (the last optional)`);
    if (input.datatype !== 'INT64') throw problem(`input '${input.name}' is ${input.datatype}, not INT64`);
  }
  const out = config.outputs.find((t) => t.name === output);
  if (out === undefined) throw problem(`it has no output '${output}'`);
  if (out.datatype !== 'FP32') throw problem(`output '${output}' is ${out.datatype}, not FP32`);
  return { output: out, tokenTypes: config.inputs.some((t) => t.name === TOKEN_TYPE_IDS) };
}

export interface EncoderBatchesOptions {
  readonly modelName: string;
  readonly backend: InferBackend;
  /** The one output read back. */
  readonly output: string;
  /** Feed token_type_ids (the graph has that input). */
  readonly tokenTypes: boolean;
  /** Most rows per execution (the model's max_batch_size; at least 1). */
  readonly maxRows: number;
  readonly contextLength: number;
  /** Token id that fills the padded positions (masked out; for RoBERTa it must be the padding id). */
  readonly padTokenId: number;
}

/** Reads one row's result out of the batch's output: row index, its real and padded lengths. */
export type RowReader<T> = (output: Tensor<'FP32'>, row: number, real: number, length: number) => T;

export class EncoderBatches {
  constructor(private readonly options: EncoderBatchesOptions) {}

  /** Runs every row (grouped by length bucket, split at maxRows) and reads each row's result, in order. */
  async run<T>(
    rows: readonly EncodedRow[],
    read: RowReader<T>,
    request: { readonly requestId: string; readonly signal?: AbortSignal | undefined },
  ): Promise<T[]> {
    const { maxRows, contextLength } = this.options;
    const byBucket = new Map<number, number[]>();
    rows.forEach((row, i) => {
      const b = bucketFor(row.ids.length, contextLength);
      const list = byBucket.get(b);
      if (list === undefined) byBucket.set(b, [i]);
      else list.push(i);
    });
    const results = new Array<T>(rows.length);
    const arrivalNs = process.hrtime.bigint();
    const runs: Promise<void>[] = [];
    for (const [length, indices] of byBucket) {
      for (let start = 0; start < indices.length; start += maxRows) {
        const part = indices.slice(start, start + maxRows);
        const suffix = part.length === indices.length ? '' : `.${start / maxRows}`;
        const requestId = `${request.requestId}${byBucket.size > 1 ? `.L${length}` : ''}${suffix}`;
        runs.push(
          this.execute(
            part.map((i) => rows[i] ?? { ids: [] }),
            length,
            requestId,
            arrivalNs,
            request.signal,
            read,
          ).then((values) => values.forEach((v, k) => (results[part[k] ?? 0] = v))),
        );
      }
    }
    await Promise.all(runs);
    return results;
  }

  private async execute<T>(
    rows: readonly EncodedRow[],
    length: number,
    requestId: string,
    arrivalNs: bigint,
    signal: AbortSignal | undefined,
    read: RowReader<T>,
  ): Promise<T[]> {
    const { backend, output, modelName } = this.options;
    const n = rows.length;
    const ids = new BigInt64Array(n * length).fill(BigInt(this.options.padTokenId));
    const mask = new BigInt64Array(n * length);
    const types = this.options.tokenTypes ? new BigInt64Array(n * length) : undefined;
    rows.forEach((row, r) => {
      for (let t = 0; t < row.ids.length; t++) {
        ids[r * length + t] = BigInt(row.ids[t] ?? 0);
        mask[r * length + t] = 1n;
        if (types !== undefined) types[r * length + t] = BigInt(row.typeIds?.[t] ?? 0);
      }
    });
    const shape = [n, length];
    const inputs: Tensor[] = [
      { name: INPUT_IDS, datatype: 'INT64', shape, data: ids },
      { name: ATTENTION_MASK, datatype: 'INT64', shape, data: mask },
    ];
    if (types !== undefined) inputs.push({ name: TOKEN_TYPE_IDS, datatype: 'INT64', shape, data: types });
    const result = await backend.infer({
      requestId,
      inputs,
      outputNames: [output],
      batchSize: n,
      priority: 0,
      timeoutUs: 0,
      arrivalNs,
      ...(signal === undefined ? {} : { signal }),
    });
    const out = result.outputs.find((t) => t.name === output);
    if (out === undefined || out.datatype !== 'FP32')
      throw new InferdError('INF_ERR_RUNTIME', `model '${modelName}' returned no FP32 ${output}`);
    return rows.map((row, r) => read(out, r, row.ids.length, length));
  }
}
