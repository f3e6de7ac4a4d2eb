// The messages exchanged between a model instance (main thread) and its session worker.

import type { FixedDatatype } from '../tensor/datatype.js';

export interface SessionOptionsWire {
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: number;
  readonly graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  readonly executionProviders: readonly string[];
  /** False turns off onnxruntime's spin-waiting of intra-op threads (undefined: onnxruntime's default, on). */
  readonly allowSpinning?: boolean;
}

/** A tensor crossing the thread boundary; typed-array buffers are transferred, not copied. */
export type WireTensor = {
  readonly name: string;
  readonly shape: readonly number[];
} & (
  | { readonly datatype: FixedDatatype; /** A typed array. */ readonly data: ArrayBufferView }
  | { readonly datatype: 'BYTES'; /** One Uint8Array per element. */ readonly data: Uint8Array[] }
);

export interface IoMetadata {
  readonly name: string;
  /** onnxruntime's type name ('float32', 'string', ...) or a description of a non-tensor value. */
  readonly ortType: string;
  readonly isTensor: boolean;
  /** -1 for symbolic or unknown dimensions. */
  readonly shape: readonly number[];
}

export interface RunTimings {
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

export type ToWorker =
  | { readonly type: 'load'; readonly modelPath: string; readonly options: SessionOptionsWire }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly inputs: readonly WireTensor[];
      readonly outputNames: readonly string[];
    }
  | { readonly type: 'close' };

export type FromWorker =
  | {
      readonly type: 'loaded';
      readonly inputs: readonly IoMetadata[];
      readonly outputs: readonly IoMetadata[];
      readonly providers: readonly string[];
    }
  | { readonly type: 'load-error'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly outputs: readonly WireTensor[];
      readonly timings: RunTimings;
    }
  | { readonly type: 'run-error'; readonly id: number; readonly message: string }
  | { readonly type: 'closed' };
