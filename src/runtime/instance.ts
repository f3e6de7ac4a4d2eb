// What the scheduler sees of an execution instance, whether its session lives in a worker thread
// (the default) or runs inline on the main thread.

import type { Tensor } from '../tensor/tensor.js';
import type { IoMetadata, RunTimings } from './worker-messages.js';

export interface InstanceMetadata {
  readonly inputs: readonly IoMetadata[];
  readonly outputs: readonly IoMetadata[];
  /** Execution providers actually in use (unavailable ones are dropped). */
  readonly providers: readonly string[];
}

export interface RunResult {
  readonly outputs: Tensor[];
  readonly timings: RunTimings;
}

export interface Instance {
  readonly label: string;
  /** False once closed, or when it can no longer run. */
  readonly alive: boolean;
  /**
   * Runs the session once; the inputs must match the model. Input arrays that own their whole
   * ArrayBuffer may be transferred (detached), so callers must not reuse them.
   */
  run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult>;
  close(): Promise<void>;
  /**
   * Calls `listener` once if the instance stops for good without being closed (its worker kept
   * crashing and its restarts are used up, or a replacement could not load the model). Instances
   * that cannot stop that way need not implement it.
   */
  onStopped?(listener: (reason: Error) => void): void;
}
