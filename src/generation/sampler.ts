// Picks the next token of one sequence from the model's last-position logits, as vLLM's sampler
// does and in its order: logit_bias and min_tokens masking, then repetition / frequency / presence
// penalties, then temperature, then top_k, top_p and min_p, then a draw from a per-sequence seeded
// RNG (so a seed gives the same tokens whatever else shares the batch). Temperature 0 is argmax
// over the processed logits. Logprobs are the log-softmax of the raw model logits (vLLM's default,
// `logprobs_mode=raw_logprobs`), so they do not change with the sampling options.
// Pure: no I/O, no clocks; one instance per sequence.

import type { SamplingParams } from './engine-types.js';
import { applyTokenMask } from './token-mask.js';

/** One sampled token with its raw logprob and the most likely alternatives (ids only). */
export interface SampledToken {
  readonly tokenId: number;
  /** Present when SamplingParams.logprobs is set. */
  readonly logprob?: number;
  readonly top?: readonly { readonly tokenId: number; readonly logprob: number }[];
}

/** xoshiro128** seeded through splitmix32: fast, 2^128 period, same stream on every platform. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0 || 0x9e3779b9;
    // The seed's high bits (seeds may exceed 2^32) join through a second splitmix round.
    const high = Math.floor(Math.abs(seed) / 2 ** 32) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s ^ high;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result / 2 ** 32;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Index of the largest value (the lowest index among ties). */
export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** log-softmax normaliser: max + log(sum(exp(x - max))). */
function logSumExp(values: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if ((values[i] as number) > max) max = values[i] as number;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp((values[i] as number) - max);
  return max + Math.log(sum);
}

/** The k largest entries, best first (ties: lower index first). */
export function topIndices(values: Float32Array, k: number): number[] {
  const n = Math.min(k, values.length);
  if (n <= 0) return [];
  // Insertion into a small sorted list: k is ≤ 20 for logprobs, and top_k is usually small too.
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (idx.length === n && v <= (values[idx[n - 1] as number] as number)) continue;
    let pos = idx.length === n ? n - 1 : idx.length;
    if (idx.length < n) idx.push(i);
    while (pos > 0 && (values[idx[pos - 1] as number] as number) < v) {
      idx[pos] = idx[pos - 1] as number;
      pos--;
    }
    idx[pos] = i;
  }
  return idx;
}

export interface SamplerOptions {
  readonly params: SamplingParams;
  readonly promptTokenIds: readonly number[];
  /** The model's EOS ids: masked before minTokens, and end generation unless ignoreEos. */
  readonly eosTokenIds: readonly number[];
  /** Seed used when params.seed is undefined (the engine passes a random one). */
  readonly fallbackSeed: number;
}

export class Sampler {
  private readonly params: SamplingParams;
  private readonly rng: SeededRandom;
  /** Token id → times generated (frequency / presence penalties). */
  private readonly outputCounts = new Map<number, number>();
  /** Tokens in the prompt or the output (repetition penalty). */
  private readonly seen = new Set<number>();
  /** Ids that end the sequence: stop_token_ids, and EOS unless ignore_eos. */
  readonly stopTokenIds: ReadonlySet<number>;
  private generated = 0;
  private work: Float32Array | undefined;

  constructor(options: SamplerOptions) {
    this.params = options.params;
    this.rng = new SeededRandom(options.params.seed ?? options.fallbackSeed);
    if (options.params.repetitionPenalty !== 1) for (const t of options.promptTokenIds) this.seen.add(t);
    const stops = new Set(options.params.stopTokenIds);
    if (!options.params.ignoreEos) for (const t of options.eosTokenIds) stops.add(t);
    this.stopTokenIds = stops;
  }

  /** Tokens generated so far. */
  get count(): number {
    return this.generated;
  }

  /**
   * Chooses the next token from the raw logits of the last position (not modified). With a
   * grammar's `mask` (bit i set = token i allowed), disallowed tokens are set to -Infinity after
   * bias and penalties and before temperature and truncation, so only allowed tokens can win;
   * min_tokens then does not hold back the stop tokens (the grammar decides where text ends).
   */
  sample(logits: Float32Array, mask?: Int32Array): SampledToken {
    const p = this.params;
    const x = this.processed(logits, mask === undefined);
    if (mask !== undefined) applyTokenMask(x, mask);
    let tokenId: number;
    if (p.temperature === 0) tokenId = argmax(x);
    else tokenId = this.draw(x);
    if (p.logprobs === undefined) return { tokenId };
    const norm = logSumExp(logits);
    const top = topIndices(logits, p.logprobs).map((id) => ({ tokenId: id, logprob: (logits[id] as number) - norm }));
    return { tokenId, logprob: (logits[tokenId] as number) - norm, top };
  }

  /** Records a token as generated (penalties and min_tokens count it). */
  accept(tokenId: number): void {
    this.generated++;
    this.outputCounts.set(tokenId, (this.outputCounts.get(tokenId) ?? 0) + 1);
    if (this.params.repetitionPenalty !== 1) this.seen.add(tokenId);
  }

  /** Whether this token ends the sequence (a stop id or EOS, once min_tokens are out). */
  isStopToken(tokenId: number): boolean {
    return this.stopTokenIds.has(tokenId) && this.generated >= this.params.minTokens;
  }

  /** Logits after bias, min_tokens masking and penalties (a working copy). */
  private processed(logits: Float32Array, holdStops: boolean): Float32Array {
    const p = this.params;
    if (this.work === undefined || this.work.length !== logits.length) this.work = new Float32Array(logits.length);
    const x = this.work;
    x.set(logits);
    for (const [id, bias] of p.logitBias) if (id >= 0 && id < x.length) x[id] = (x[id] as number) + bias;
    if (holdStops && this.generated < p.minTokens)
      for (const id of this.stopTokenIds) if (id < x.length) x[id] = -Infinity;
    if (p.repetitionPenalty !== 1) {
      // HF / vLLM: positive logits divided by the penalty, negative ones multiplied.
      for (const id of this.seen) {
        const v = x[id];
        if (v === undefined) continue;
        x[id] = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty;
      }
    }
    if (p.frequencyPenalty !== 0 || p.presencePenalty !== 0) {
      for (const [id, n] of this.outputCounts) {
        const v = x[id];
        if (v === undefined) continue;
        x[id] = v - p.frequencyPenalty * n - p.presencePenalty;
      }
    }
    return x;
  }

  /** Temperature, top_k, top_p, min_p, then one draw. `x` is the processed working copy. */
  private draw(x: Float32Array): number {
    const p = this.params;
    const n = x.length;
    // Candidates best first. Without top_k / top_p every token stays a candidate (unsorted).
    let candidates: number[];
    if (p.topK > 0 && p.topK < n) candidates = topIndices(x, p.topK);
    else if (p.topP < 1) candidates = sortedIndices(x);
    else {
      candidates = [];
      for (let i = 0; i < n; i++) if ((x[i] as number) > -Infinity) candidates.push(i);
    }
    if (candidates.length === 0) return argmax(x);
    let max = -Infinity;
    for (const id of candidates) if ((x[id] as number) > max) max = x[id] as number;
    const weights = candidates.map((id) => Math.exp(((x[id] as number) - max) / p.temperature));
    let total = weights.reduce((s, w) => s + w, 0);
    if (p.topP < 1) {
      // Smallest prefix (best first) whose probability reaches top_p; the best token always stays.
      let cum = 0;
      let keep = 0;
      while (keep < candidates.length) {
        cum += (weights[keep] as number) / total;
        keep++;
        if (cum >= p.topP) break;
      }
      candidates = candidates.slice(0, keep);
      weights.length = keep;
      total = weights.reduce((s, w) => s + w, 0);
    }
    if (p.minP > 0) {
      // Tokens below min_p × (probability of the most likely token) are dropped.
      // Loops, not Math.max(...weights): a spread of a 128k+ vocabulary overflows the call stack.
      let best = 0;
      for (const w of weights) if (w > best) best = w;
      const threshold = best * p.minP;
      let kept = 0;
      total = 0;
      for (let i = 0; i < candidates.length; i++) {
        const w = weights[i] as number;
        if (w < threshold) continue;
        candidates[kept] = candidates[i] as number;
        weights[kept] = w;
        total += w;
        kept++;
      }
      candidates.length = kept;
      weights.length = kept;
    }
    let r = this.rng.next() * total;
    // Rounding can leave r ≥ 0 past the end: the last candidate of nonzero weight is drawn then
    // (never a masked one, whose weight is 0).
    let last = candidates[0] as number;
    for (let i = 0; i < candidates.length; i++) {
      const w = weights[i] as number;
      if (w > 0) last = candidates[i] as number;
      r -= w;
      if (r < 0 && w > 0) return candidates[i] as number;
    }
    return last;
  }
}

/** Every index with a finite value, best first (ties: lower index first). */
function sortedIndices(x: Float32Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > -Infinity) idx.push(i);
  return idx.sort((a, b) => (x[b] as number) - (x[a] as number) || a - b);
}
