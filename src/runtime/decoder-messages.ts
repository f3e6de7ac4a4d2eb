// The requests between a decoder session (main thread) and its worker, which holds the ONNX
// decoder and every sequence's KV cache. Only token ids go in and logits come out (the last
// position's, or every new position's for a row that asks, as speculative verification does); the
// caches never cross the thread boundary.

import type { Method } from '../util/worker-rpc.js';
import type { LoadRequest } from './worker-messages.js';

/** What the graph's inputs and outputs say about the decoder (optimum / transformers.js naming). */
export interface DecoderInfo {
  readonly layers: number;
  /** Size of the logits' last dimension, when the graph fixes it. */
  readonly vocab: number | undefined;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Element type of the KV cache. */
  readonly kvType: 'float32' | 'float16';
  readonly logitsType: 'float32' | 'float16';
  readonly hasPositionIds: boolean;
  readonly hasNumLogitsToKeep: boolean;
  readonly hasUseCacheBranch: boolean;
  readonly providers: readonly string[];
}

/** One sequence's part of a step: its next tokens, appended after its cached past. */
export interface StepRow {
  readonly seq: number;
  readonly tokenIds: readonly number[];
  /** Return logits at every new position of this row, not only the last (verifying draft tokens). */
  readonly allLogits?: boolean;
}

/** How many logits rows a step row gets back: one per new token with allLogits, else one. */
export function logitsRowsOf(row: StepRow): number {
  return row.allLogits === true ? row.tokenIds.length : 1;
}

/**
 * Cache bookkeeping carried by a step, applied in this order: start sequences from prefix entries
 * (a copy of the entry's first `length` tokens), drop prefix entries, free sequences, cut caches
 * back to a length (the draft tokens verification rejected), run the rows, then save prefixes of
 * sequences as entries.
 */
export interface CacheOps {
  readonly dropEntries?: readonly number[];
  readonly free?: readonly number[];
  /** Keep only the first `length` tokens of each sequence's cache (no-op when it holds fewer). */
  readonly truncate?: readonly { readonly seq: number; readonly length: number }[];
  readonly fork?: readonly { readonly seq: number; readonly entry: number; readonly length: number }[];
  readonly save?: readonly { readonly seq: number; readonly entry: number; readonly length: number }[];
}

export interface StepTimings {
  /** Building the batched inputs (padding the pasts). */
  readonly prepareNs: number;
  readonly inferNs: number;
  /** Splitting the presents back into per-sequence caches, extracting logits. */
  readonly collectNs: number;
}

export interface StepResult {
  /**
   * Each row's logits, rows in step order: a row with allLogits gives one vector per new token (in
   * token order), every other row one, at its last new token; `vocab` floats each.
   */
  readonly logits: Float32Array;
  readonly vocab: number;
  readonly timings: StepTimings;
}

/** The decoder worker's requests (util/worker-rpc.ts carries them). */
export type DecoderProtocol = {
  readonly load: Method<LoadRequest, DecoderInfo>;
  readonly step: Method<{ readonly rows: readonly StepRow[]; readonly ops: CacheOps }, StepResult>;
  /** Frees every cache and releases the decoder. */
  readonly close: Method<undefined, void>;
};
