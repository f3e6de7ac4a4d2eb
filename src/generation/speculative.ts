// Speculative decoding: a drafter proposes the next few tokens of a sequence cheaply, the target
// decoder scores them all in one step (a row with logits at every position), and the sampler
// accepts a prefix of them by the rule that keeps the output exactly the target's
// (Sampler.verify), then adds one token of its own from the last verified position. The rejected
// tokens are cut from the KV cache (CacheOps.truncate). Greedy output is token-identical to
// decoding without it.

/** What a drafter is asked for one sequence. */
export interface DraftRequest {
  readonly seq: number;
  /** The sequence so far: prompt, then every generated token (the last one not yet in the target's cache). */
  readonly tokens: readonly number[];
  /** Most tokens to propose (at least 1). */
  readonly k: number;
}

/** Proposes draft tokens; each proposal is one token per position (a one-hot draft distribution). */
export interface Drafter {
  /** Up to `k` tokens to follow each request's tokens, in request order; an empty list proposes none. */
  propose(requests: readonly DraftRequest[]): Promise<number[][]>;
  /** The first `length` tokens of the sequence are final; what the drafter holds past them is stale. */
  keep(seq: number, length: number): void;
  /** The sequence has ended. */
  release(seq: number): void;
  /** Frees what released sequences still hold (the engine calls it when it goes idle). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The engine's speculative settings (text_generation.speculative, resolved). */
export interface SpeculativeOptions {
  readonly drafter: Drafter;
  /** Draft tokens verified per step and sequence (vLLM's num_speculative_tokens). */
  readonly numSpeculativeTokens: number;
  /**
   * No speculation in a step with at least this many running sequences (vLLM's
   * speculative_disable_by_batch_size): a full batch already uses the decoder well, and verifying
   * rejected tokens then costs more than it saves. Infinity = always speculate.
   */
  readonly disableByBatchSize: number;
}
