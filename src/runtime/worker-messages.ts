// The messages exchanged between a model instance (main thread) and its session worker.

import type { GraphTensor } from '../config/graph-signature.js';
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

/** An input or output of an opened graph; `elementType` is onnxruntime's type name. */
export type IoMetadata = GraphTensor;

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
