// Embeddings from an encoder model (input_ids, attention_mask -> last_hidden_state) served as an
// ordinary tensor model: texts are tokenised, refused beyond max_tokens, right-padded to a length
// bucket (powers of two) and sent through the version's scheduler, so concurrent requests of the
// same bucket share executions in the dynamic batcher; the token states are then pooled with the
// attention mask and, if configured, normalised to unit length.

import { MODEL_CONFIG_DEFAULTS, type EmbeddingConfig } from '../config/model-config-schema.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { EmbeddingEngine, TextTokenizer } from './engine-types.js';
import { loadTokenizer } from './tokenizer.js';

/** What the engine needs of a model version's scheduler. */
export interface InferBackend {
  infer(request: InferRequest): Promise<InferResult>;
}

export interface EmbeddingEngineOptions {
  readonly modelName: string;
  readonly config: ResolvedModelConfig;
  readonly embedding: EmbeddingConfig;
  readonly tokenizer: TextTokenizer;
  readonly backend: InferBackend;
  /** Token id that fills the padded positions (masked out; any valid id works). */
  readonly padTokenId: number;
}

const INPUT_IDS = 'input_ids';
const ATTENTION_MASK = 'attention_mask';
const HIDDEN = 'last_hidden_state';
/** The shortest padded length; shorter buckets would only add batch keys. */
const MIN_BUCKET = 8;

export class ModelEmbeddingEngine implements EmbeddingEngine {
  readonly modelName: string;
  readonly contextLength: number;
  readonly dimensions: number;
  readonly tokenizer: TextTokenizer;
  private readonly pooling: EmbeddingConfig['pooling'];
  private readonly normalize: boolean;
  private readonly maxRows: number;
  private readonly backend: InferBackend;
  private readonly padTokenId: number;

  constructor(options: EmbeddingEngineOptions) {
    const { config, embedding } = options;
    this.modelName = options.modelName;
    this.tokenizer = options.tokenizer;
    this.backend = options.backend;
    this.padTokenId = options.padTokenId;
    this.pooling = embedding.pooling;
    this.normalize = embedding.normalize;
    this.dimensions = checkSignature(config);
    // A model without a batch dimension in its config still takes [1, seq] rows, one text per run.
    this.maxRows = Math.max(1, config.maxBatchSize);
    this.contextLength = embedding.max_tokens;
  }

  async embed(
    inputs: readonly (string | readonly number[])[],
    options: { readonly requestId: string; readonly signal?: AbortSignal },
  ): Promise<{ readonly embeddings: Float32Array[]; readonly promptTokens: number }> {
    if (inputs.length === 0) throw invalidArgument('input must not be empty');
    // Tokenise and check everything before any work is queued.
    const tokenized = inputs.map((input, i) => this.tokens(input, i));
    const promptTokens = tokenized.reduce((n, t) => n + t.length, 0);
    const byBucket = new Map<number, number[]>();
    tokenized.forEach((t, i) => {
      const b = bucketFor(t.length, this.contextLength);
      const list = byBucket.get(b);
      if (list === undefined) byBucket.set(b, [i]);
      else list.push(i);
    });
    const embeddings = new Array<Float32Array>(inputs.length);
    const arrivalNs = process.hrtime.bigint();
    const runs: Promise<void>[] = [];
    for (const [length, indices] of byBucket) {
      for (let start = 0; start < indices.length; start += this.maxRows) {
        const rows = indices.slice(start, start + this.maxRows);
        const part = rows.length === indices.length ? '' : `.${start / this.maxRows}`;
        runs.push(
          this.run(
            rows.map((i) => tokenized[i] ?? []),
            length,
            `${options.requestId}${byBucket.size > 1 ? `.L${length}` : ''}${part}`,
            arrivalNs,
            options.signal,
          ).then((vectors) => vectors.forEach((v, k) => (embeddings[rows[k] ?? 0] = v))),
        );
      }
    }
    await Promise.all(runs);
    return { embeddings, promptTokens };
  }

  private tokens(input: string | readonly number[], index: number): readonly number[] {
    const at = `input[${index}]`;
    let ids: readonly number[];
    if (typeof input === 'string') {
      ids = this.tokenizer.encode(input);
    } else {
      if (input.length === 0) throw invalidArgument(`${at} is an empty list of token ids`);
      const vocab = this.tokenizer.vocabSize;
      for (const id of input) {
        if (!Number.isInteger(id) || id < 0 || id >= vocab)
          throw invalidArgument(`${at} holds token id ${id}; ids are integers from 0 to ${vocab - 1}`);
      }
      ids = input;
    }
    if (ids.length > this.contextLength)
      throw invalidArgument(
        `This model's maximum context length is ${this.contextLength} tokens. However, ${at} is ${ids.length} tokens long.`,
      );
    return ids;
  }

  private async run(
    rows: readonly (readonly number[])[],
    length: number,
    requestId: string,
    arrivalNs: bigint,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array[]> {
    const n = rows.length;
    const ids = new BigInt64Array(n * length).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(n * length);
    rows.forEach((row, r) => {
      for (let t = 0; t < row.length; t++) {
        ids[r * length + t] = BigInt(row[t] ?? 0);
        mask[r * length + t] = 1n;
      }
    });
    const shape = [n, length];
    const result = await this.backend.infer({
      requestId,
      inputs: [
        { name: INPUT_IDS, datatype: 'INT64', shape, data: ids },
        { name: ATTENTION_MASK, datatype: 'INT64', shape, data: mask },
      ],
      outputNames: [HIDDEN],
      batchSize: n,
      priority: 0,
      timeoutUs: 0,
      arrivalNs,
      ...(signal === undefined ? {} : { signal }),
    });
    const hidden = result.outputs.find((t) => t.name === HIDDEN);
    if (hidden === undefined || hidden.datatype !== 'FP32')
      throw new InferdError('INF_ERR_RUNTIME', `model '${this.modelName}' returned no FP32 ${HIDDEN}`);
    return rows.map((row, r) => this.pool(hidden, r, row.length, length));
  }

  /** One row's token states [length, dimensions] reduced to a vector over its first `real` tokens. */
  private pool(hidden: Tensor<'FP32'>, row: number, real: number, length: number): Float32Array {
    const d = this.dimensions;
    const data = hidden.data;
    const base = row * length * d;
    const out = new Float32Array(d);
    if (this.pooling === 'cls') out.set(data.subarray(base, base + d));
    else if (this.pooling === 'last') out.set(data.subarray(base + (real - 1) * d, base + real * d));
    else {
      // Sum in float64: hundreds of tokens summed in float32 lose digits.
      const sum = new Float64Array(d);
      for (let t = 0; t < real; t++) {
        const o = base + t * d;
        for (let k = 0; k < d; k++) sum[k] = (sum[k] ?? 0) + (data[o + k] ?? 0);
      }
      for (let k = 0; k < d; k++) out[k] = (sum[k] ?? 0) / real;
    }
    if (this.normalize) {
      let norm = 0;
      for (let k = 0; k < d; k++) norm += (out[k] ?? 0) ** 2;
      norm = Math.sqrt(norm);
      if (norm > 0) for (let k = 0; k < d; k++) out[k] = (out[k] ?? 0) / norm;
    }
    return out;
  }
}

/** The smallest power of two (at least MIN_BUCKET) that holds `tokens`, capped at the context length. */
export function bucketFor(tokens: number, contextLength: number): number {
  let b = MIN_BUCKET;
  while (b < tokens) b *= 2;
  return Math.min(b, Math.max(contextLength, tokens));
}

/** Checks the model is an encoder in the feature-extraction format; returns its hidden size. */
function checkSignature(config: ResolvedModelConfig): number {
  const problem = (reason: string) =>
    new InferdError('INF_ERR_MODEL_LOAD', `model '${config.name}' cannot serve embeddings: ${reason}`);
  for (const name of [INPUT_IDS, ATTENTION_MASK]) {
    const input = config.inputs.find((t) => t.name === name);
    if (input === undefined) throw problem(`it has no input '${name}'`);
    if (input.datatype !== 'INT64') throw problem(`input '${name}' is ${input.datatype}, not INT64`);
  }
  const extra = config.inputs.filter((t) => t.name !== INPUT_IDS && t.name !== ATTENTION_MASK);
  if (extra.length > 0) throw problem(`inputs other than ${INPUT_IDS} and ${ATTENTION_MASK}: ${extra[0]?.name}`);
  const output = config.outputs.find((t) => t.name === HIDDEN);
  if (output === undefined) throw problem(`it has no output '${HIDDEN}'`);
  if (output.datatype !== 'FP32') throw problem(`output '${HIDDEN}' is ${output.datatype}, not FP32`);
  const hidden = output.dims[output.dims.length - 1];
  if (hidden === undefined || hidden <= 0) throw problem(`the last dimension of '${HIDDEN}' must be a fixed size`);
  return hidden;
}

/** Loads the tokenizer beside the model and builds the engine over the version's scheduler. */
export async function createEmbeddingEngine(options: {
  readonly modelName: string;
  /** The version folder (tokenizer.json, tokenizer_config.json). */
  readonly folder: string;
  readonly config: ResolvedModelConfig;
  readonly embedding: EmbeddingConfig | undefined;
  readonly backend: InferBackend;
}): Promise<ModelEmbeddingEngine> {
  const tokenizer = await loadTokenizer(options.folder);
  const padToken = tokenizer.padToken ?? tokenizer.eosToken;
  const padTokenId = (padToken === undefined ? undefined : tokenizer.tokenId(padToken)) ?? 0;
  return new ModelEmbeddingEngine({
    modelName: options.modelName,
    config: options.config,
    embedding: options.embedding ?? MODEL_CONFIG_DEFAULTS.embedding,
    tokenizer,
    backend: options.backend,
    padTokenId,
  });
}
