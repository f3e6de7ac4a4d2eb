// What the edges and the repository see of a model version's scheduler, whichever kind runs it:
// the dynamic batcher (independent requests, merged into batches with `dynamic_batching`) or the sequence batcher
// (stateful models).

import type { InferRequest, InferResult } from '../core/infer-request.js';

/** How full a scheduler is, for the saturation gauge and autoscalers. */
export interface SchedulerLoad {
  /** Requests waiting, and how many the queue admits (max_queue_size). */
  readonly queued: number;
  readonly queueCapacity: number;
  /** Instances running an execution now, of all instances. */
  readonly busyInstances: number;
  readonly instances: number;
}

export interface Scheduler {
  /** Requests queued or executing. */
  readonly pending: number;
  load(): SchedulerLoad;
  /** Queues the request; resolves with its outputs or rejects with an InferdError. */
  infer(request: InferRequest): Promise<InferResult>;
  /** Refuses new requests and resolves once the queued and running ones have finished. */
  drain(): Promise<void>;
}
