// Runs an optimum-style ONNX decoder over a batch of sequences that each carry their own KV cache.
// Rows with different past lengths share one run: each row's past is left-padded to the longest,
// its new tokens are right-padded to the longest, and `attention_mask` hides the padding, so a
// row's real tokens see exactly its own past and themselves. Position ids count real tokens only
// (the cumulative sum of the mask, as transformers does). A row alone in a step runs unpadded and
// keeps the graph's `present` outputs as its cache without a copy.

import * as ort from 'onnxruntime-node';
import { float16ArrayToFloat32 } from '../tensor/half.js';
import { logitsRowsOf, type CacheOps, type DecoderInfo, type StepRow, type StepTimings } from './decoder-messages.js';
import { openSession } from './ort-session.js';
import type { SessionOptionsWire } from './worker-messages.js';

type KvArray = Float32Array | Uint16Array;

/** One sequence's cache: per layer, key and value laid out [kvHeads, length, headDim]. */
interface SeqCache {
  length: number;
  keys: KvArray[];
  values: KvArray[];
}

const PAST_KEY = /^past_key_values\.(\d+)\.key$/;

function dimOf(shape: readonly (number | string)[], i: number, what: string): number {
  const d = shape[i];
  if (typeof d !== 'number' || d <= 0) throw new Error(`${what} has no fixed size in the graph (dimension ${i})`);
  return d;
}

export function describeDecoder(session: ort.InferenceSession, providers: readonly string[]): DecoderInfo {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  for (const name of ['input_ids', 'attention_mask'])
    if (!inputs.has(name)) throw new Error(`not a decoder with a KV cache: the graph has no input '${name}'`);
  if (!outputs.has('logits')) throw new Error("not a decoder: the graph has no output 'logits'");
  let layers = 0;
  for (const name of inputs.keys()) {
    const m = PAST_KEY.exec(name);
    if (m !== null) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (layers === 0) throw new Error("not a decoder with a KV cache: the graph has no 'past_key_values.{i}.key' inputs");
  for (let i = 0; i < layers; i++) {
    for (const part of ['key', 'value']) {
      if (!inputs.has(`past_key_values.${i}.${part}`))
        throw new Error(`the graph has no input 'past_key_values.${i}.${part}'`);
      if (!outputs.has(`present.${i}.${part}`)) throw new Error(`the graph has no output 'present.${i}.${part}'`);
    }
  }
  const past = inputs.get('past_key_values.0.key');
  if (past === undefined || !past.isTensor) throw new Error("'past_key_values.0.key' is not a tensor");
  const kvType = past.type as string;
  if (kvType !== 'float32' && kvType !== 'float16')
    throw new Error(`KV cache element type '${kvType}' is not supported (float32 or float16)`);
  const logits = outputs.get('logits');
  const logitsType = logits !== undefined && logits.isTensor ? (logits.type as string) : 'float32';
  if (logitsType !== 'float32' && logitsType !== 'float16')
    throw new Error(`logits element type '${logitsType}' is not supported (float32 or float16)`);
  if (past.shape.length !== 4) throw new Error("'past_key_values.0.key' is not [batch, heads, past, head_dim]");
  const vocab = logits !== undefined && logits.isTensor ? logits.shape[2] : undefined;
  return {
    layers,
    vocab: typeof vocab === 'number' && vocab > 0 ? vocab : undefined,
    kvHeads: dimOf(past.shape, 1, 'the number of KV heads'),
    headDim: dimOf(past.shape, 3, 'the head dimension'),
    kvType,
    logitsType,
    hasPositionIds: inputs.has('position_ids'),
    hasNumLogitsToKeep: inputs.has('num_logits_to_keep'),
    hasUseCacheBranch: inputs.has('use_cache_branch'),
    providers,
  };
}

export interface StepOutput {
  /** Each row's logits rows (see StepResult.logits), `vocab` floats each. */
  readonly logits: Float32Array;
  readonly vocab: number;
  readonly timings: StepTimings;
}

export class DecoderRunner {
  private readonly caches = new Map<number, SeqCache>();
  private readonly entries = new Map<number, SeqCache>();
  private readonly outputNames: string[];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly info: DecoderInfo,
  ) {
    this.outputNames = ['logits'];
    for (let i = 0; i < info.layers; i++) this.outputNames.push(`present.${i}.key`, `present.${i}.value`);
  }

  static async open(modelPath: string, options: SessionOptionsWire): Promise<DecoderRunner> {
    const opened = await openSession(modelPath, options);
    try {
      return new DecoderRunner(opened.session, describeDecoder(opened.session, opened.providers));
    } catch (err) {
      await opened.session.release();
      throw err;
    }
  }

  /** Tokens cached for a sequence (0 when it has none). */
  cachedLength(seq: number): number {
    return this.caches.get(seq)?.length ?? 0;
  }

  applyBefore(ops: CacheOps): void {
    // Forks first: an entry a fork names was alive when the fork was decided; a drop in the same
    // message was decided later.
    // A missing entry fails the step only after the drops and frees are done, so none leaks.
    let missing: number | undefined;
    for (const f of ops.fork ?? []) {
      const entry = this.entries.get(f.entry);
      if (entry === undefined) missing ??= f.entry;
      else this.caches.set(f.seq, this.slice(entry, Math.min(f.length, entry.length)));
    }
    for (const e of ops.dropEntries ?? []) this.entries.delete(e);
    for (const s of ops.free ?? []) this.caches.delete(s);
    for (const t of ops.truncate ?? []) {
      const cache = this.caches.get(t.seq);
      if (cache !== undefined && t.length < cache.length)
        this.caches.set(t.seq, this.slice(cache, Math.max(0, t.length)));
    }
    if (missing !== undefined) throw new Error(`no prefix cache entry ${missing}`);
  }

  applyAfter(ops: CacheOps): void {
    for (const s of ops.save ?? []) {
      const cache = this.caches.get(s.seq);
      if (cache === undefined) throw new Error(`no cache for sequence ${s.seq}`);
      this.entries.set(s.entry, this.slice(cache, Math.min(s.length, cache.length)));
    }
  }

  close(): Promise<void> {
    this.caches.clear();
    this.entries.clear();
    return this.session.release();
  }

  /** A copy of the first `length` tokens of a cache. */
  private slice(cache: SeqCache, length: number): SeqCache {
    const { kvHeads: h, headDim: d } = this.info;
    const cut = (a: KvArray): KvArray => {
      const out = this.newKv(h * length * d);
      for (let i = 0; i < h; i++)
        out.set(a.subarray(i * cache.length * d, (i * cache.length + length) * d), i * length * d);
      return out;
    };
    return { length, keys: cache.keys.map(cut), values: cache.values.map(cut) };
  }

  private newKv(n: number): KvArray {
    return this.info.kvType === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  }

  private emptyCache(): SeqCache {
    const empty = (): KvArray => this.newKv(0);
    return {
      length: 0,
      keys: Array.from({ length: this.info.layers }, empty),
      values: Array.from({ length: this.info.layers }, empty),
    };
  }

  /**
   * Runs one step: appends each row's tokens to its sequence and returns its last-position logits,
   * or every new position's for a row with allLogits.
   */
  async step(rows: readonly StepRow[]): Promise<StepOutput> {
    const t0 = process.hrtime.bigint();
    const { layers, kvHeads: h, headDim: d, kvType } = this.info;
    const b = rows.length;
    if (b === 0) throw new Error('a step needs at least one row');
    const caches = rows.map((r) => {
      if (r.tokenIds.length === 0) throw new Error(`sequence ${r.seq}: a step row needs at least one token`);
      let c = this.caches.get(r.seq);
      if (c === undefined) {
        c = this.emptyCache();
        this.caches.set(r.seq, c);
      }
      return c;
    });
    const maxPast = Math.max(...caches.map((c) => c.length));
    const maxNew = Math.max(...rows.map((r) => r.tokenIds.length));
    const total = maxPast + maxNew;
    const ids = new BigInt64Array(b * maxNew);
    const mask = new BigInt64Array(b * total);
    const positions = new BigInt64Array(b * maxNew);
    rows.forEach((r, i) => {
      const past = (caches[i] as SeqCache).length;
      const n = r.tokenIds.length;
      for (let j = 0; j < maxNew; j++) {
        ids[i * maxNew + j] = BigInt(j < n ? (r.tokenIds[j] as number) : 0);
        positions[i * maxNew + j] = BigInt(past + Math.min(j, n - 1));
      }
      mask.fill(1n, i * total + maxPast - past, i * total + maxPast + n);
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [b, maxNew]),
      attention_mask: new ort.Tensor('int64', mask, [b, total]),
    };
    if (this.info.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', positions, [b, maxNew]);
    const sameLength = rows.every((r) => r.tokenIds.length === maxNew);
    const kept = sameLength && !rows.some((r) => r.allLogits === true) ? 1 : maxNew;
    if (this.info.hasNumLogitsToKeep)
      feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.of(BigInt(kept)), []);
    if (this.info.hasUseCacheBranch)
      feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(maxPast > 0 ? 1 : 0), [1]);
    for (let l = 0; l < layers; l++) {
      for (const part of ['key', 'value'] as const) {
        let data: KvArray;
        if (b === 1) data = (part === 'key' ? caches[0]?.keys[l] : caches[0]?.values[l]) as KvArray;
        else {
          data = this.newKv(b * h * maxPast * d);
          caches.forEach((c, i) => {
            const src = (part === 'key' ? c.keys[l] : c.values[l]) as KvArray;
            for (let k = 0; k < h; k++) {
              data.set(
                src.subarray(k * c.length * d, (k + 1) * c.length * d),
                ((i * h + k) * maxPast + maxPast - c.length) * d,
              );
            }
          });
        }
        feeds[`past_key_values.${l}.${part}`] = new ort.Tensor(kvType, data, [b, h, maxPast, d]);
      }
    }
    const t1 = process.hrtime.bigint();
    const out = await this.session.run(feeds, this.outputNames);
    const t2 = process.hrtime.bigint();
    for (let l = 0; l < layers; l++) {
      for (const part of ['key', 'value'] as const) {
        const present = out[`present.${l}.${part}`];
        if (present === undefined) throw new Error(`the model produced no 'present.${l}.${part}'`);
        const data = present.data as KvArray;
        rows.forEach((r, i) => {
          const c = caches[i] as SeqCache;
          const len = c.length + r.tokenIds.length;
          let next: KvArray;
          if (b === 1) next = data;
          else {
            next = this.newKv(h * len * d);
            for (let k = 0; k < h; k++) {
              const from = ((i * h + k) * total + maxPast - c.length) * d;
              next.set(data.subarray(from, from + len * d), k * len * d);
            }
          }
          if (part === 'key') c.keys[l] = next;
          else c.values[l] = next;
        });
      }
    }
    for (let i = 0; i < b; i++) (caches[i] as SeqCache).length += (rows[i] as StepRow).tokenIds.length;
    const logits = out.logits;
    if (logits === undefined) throw new Error("the model produced no 'logits'");
    const [, seqOut, vocab] = logits.dims;
    if (seqOut === undefined || vocab === undefined) throw new Error('logits are not [batch, seq, vocab]');
    const raw = logits.data as Float32Array | Uint16Array;
    let outRows = 0;
    for (const r of rows) outRows += logitsRowsOf(r);
    const result = new Float32Array(outRows * vocab);
    let o = 0;
    rows.forEach((r, i) => {
      // With every row the same length and num_logits_to_keep 1 only the last position comes back.
      const last = seqOut === maxNew ? r.tokenIds.length - 1 : seqOut - 1;
      for (let pos = last + 1 - logitsRowsOf(r); pos <= last; pos++, o++) {
        const at = (i * seqOut + pos) * vocab;
        const row = raw.subarray(at, at + vocab);
        if (row instanceof Uint16Array) float16ArrayToFloat32(row, result.subarray(o * vocab, (o + 1) * vocab));
        else result.set(row, o * vocab);
      }
    });
    const t3 = process.hrtime.bigint();
    return {
      logits: result,
      vocab,
      timings: { prepareNs: Number(t1 - t0), inferNs: Number(t2 - t1), collectNs: Number(t3 - t2) },
    };
  }
}
