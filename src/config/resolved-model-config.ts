// The complete, frozen configuration a loaded model version serves with: the user's config
// merged with what the ONNX graph declares and the server's defaults.

import type { Datatype } from '../tensor/datatype.js';
import type { ExecutionProvider, VersionPolicy } from './model-config-schema.js';

export interface ResolvedTensorConfig {
  readonly name: string;
  readonly datatype: Datatype;
  /** Dimensions without the batch dimension when maxBatchSize > 0; -1 = dynamic. */
  readonly dims: readonly number[];
  readonly labelFilename?: string;
}

export interface ResolvedModelConfig {
  readonly name: string;
  readonly platform: 'onnxruntime_onnx';
  readonly maxBatchSize: number;
  readonly inputs: readonly ResolvedTensorConfig[];
  readonly outputs: readonly ResolvedTensorConfig[];
  readonly versionPolicy: VersionPolicy;
  readonly instanceGroups: readonly {
    readonly count: number;
    readonly kind: 'KIND_CPU' | 'KIND_GPU';
    readonly gpus: readonly number[];
  }[];
  readonly optimization: {
    readonly graphLevel: 'disabled' | 'basic' | 'extended' | 'all';
    readonly intraOpThreads: number;
    readonly interOpThreads: number;
    readonly executionProviders: readonly ExecutionProvider[];
    readonly inlineExecution: boolean;
  };
  readonly queuePolicy: {
    readonly maxQueueSize: number;
    readonly defaultTimeoutMicroseconds: number;
    readonly defaultPriorityLevel: number;
  };
  readonly responseCache: boolean;
  /** Present when requests are merged into batched executions. */
  readonly dynamicBatching:
    | {
        readonly maxQueueDelayMicroseconds: number;
        readonly preferredBatchSizes: readonly number[];
        readonly adaptive: boolean;
      }
    | undefined;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  /** Whether the config was completed from the ONNX graph (no file, or a file without inputs/outputs). */
  readonly autoCompleted: boolean;
}

/** The shape a client sends for this tensor: the batch dimension (-1) first when batching. */
export function fullShape(config: ResolvedModelConfig, tensor: ResolvedTensorConfig): number[] {
  return config.maxBatchSize > 0 ? [-1, ...tensor.dims] : [...tensor.dims];
}
