// The core request and result that protocol edges build and the scheduler executes.

import type { Tensor } from '../tensor/tensor.js';
import type { RunTimings } from '../runtime/index.js';

/** A request's place in a stateful sequence (parameters `sequence_id`, `sequence_start`, `sequence_end`). */
export interface SequenceControl {
  /** Correlation id: a non-zero unsigned 64-bit integer, or a non-empty string. */
  readonly id: bigint | string;
  /** First request of the sequence: its state starts from the initial value. */
  readonly start: boolean;
  /** Last request: the sequence's slot and state are freed after it runs. */
  readonly end: boolean;
}

export interface InferRequest {
  /** Correlation id for logs (the client's `id` when given, else generated). */
  readonly requestId: string;
  readonly inputs: readonly Tensor[];
  /** Outputs to compute, by name; already checked against the model. */
  readonly outputNames: readonly string[];
  /** Batch size of this request (first dimension), 1 for models without batching. */
  readonly batchSize: number;
  /** 0 = the model's default level; otherwise the level, 1 highest, larger numbers lower. */
  readonly priority: number;
  /** Microseconds from arrival after which the request is dropped; 0 = none. */
  readonly timeoutUs: number;
  /** process.hrtime.bigint() when the edge received the request. */
  readonly arrivalNs: bigint;
  /** Aborted when the client goes away; queued work is then dropped before it runs. */
  readonly signal?: AbortSignal;
  /** Set for requests of a stateful sequence; only models with `sequence_batching` accept it. */
  readonly sequence?: SequenceControl;
}

export interface InferResult {
  readonly outputs: Tensor[];
  readonly timings: RunTimings & { readonly queueNs: number };
}
