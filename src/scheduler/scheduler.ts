// What the edges and the repository see of a model version's scheduler, whichever kind runs it:
// the dynamic batcher (independent requests, merged into batches with `dynamic_batching`) or the sequence batcher
// (stateful models).

import type { InferRequest, InferResult } from '../core/infer-request.js';

export interface Scheduler {
  /** Requests queued or executing. */
  readonly pending: number;
  /** Queues the request; resolves with its outputs or rejects with an InferdError. */
  infer(request: InferRequest): Promise<InferResult>;
  /** Refuses new requests and resolves once the queued and running ones have finished. */
  drain(): Promise<void>;
}
