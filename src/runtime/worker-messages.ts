// The requests between a model instance (main thread) and its session worker.

import type { GraphTensor } from '../config/graph-signature.js';
import type { FixedDatatype } from '../tensor/datatype.js';
import type { Method } from '../util/worker-rpc.js';

export interface SessionOptionsWire {
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: number;
  readonly graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  readonly executionProviders: readonly string[];
  /** The GPU of the providers that take a device id (cuda); undefined: the provider's default, 0. */
  readonly deviceId?: number;
  /** False turns off onnxruntime's spin-waiting of intra-op threads (undefined: onnxruntime's default, on). */
  readonly allowSpinning?: boolean;
  /** Folder of optimised models that loads start from (optimized-model-cache.ts); undefined = none. */
  readonly optimizedModelCacheDir?: string;
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

/** What a worker is told to open: a model file and how to run it. */
export interface LoadRequest {
  readonly modelPath: string;
  readonly options: SessionOptionsWire;
}

export interface LoadedSession {
  readonly inputs: readonly IoMetadata[];
  readonly outputs: readonly IoMetadata[];
  readonly providers: readonly string[];
}

/** The session worker's requests (util/worker-rpc.ts carries them). */
export type SessionProtocol = {
  readonly load: Method<LoadRequest, LoadedSession>;
  readonly run: Method<
    { readonly inputs: readonly WireTensor[]; readonly outputNames: readonly string[] },
    { readonly outputs: readonly WireTensor[]; readonly timings: RunTimings }
  >;
  /** Releases the session. */
  readonly close: Method<undefined, void>;
};
