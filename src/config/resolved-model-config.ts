// The complete, frozen configuration a loaded model version serves with: the user's config
// merged with what the ONNX graph declares and the server's defaults.

import type { Datatype } from '../tensor/datatype.js';
import type {
  DriftConfig,
  EmbeddingConfig,
  RerankConfig,
  ExecutionProvider,
  ModelTask,
  TextGenerationConfig,
  VersionPolicy,
} from './model-config-schema.js';

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
  /** What the model serves: tensors (KServe v2), text generation or embeddings. */
  readonly task: ModelTask;
  /** `task: embedding`: pooling and limits, defaults filled in. */
  readonly embedding?: EmbeddingConfig;
  /** `task: rerank`: scores and limits, defaults filled in. */
  readonly rerank?: RerankConfig;
  /** `task: text-generation`: batching and caching, defaults filled in. */
  readonly textGeneration?: TextGenerationConfig;
  /** The model file in each version folder (default_model_filename; model.onnx by default). */
  readonly modelFilename: string;
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
    /** As configured; `auto` is decided when the version loads (its `execution` says how). */
    readonly inlineExecution: boolean | 'auto';
    /** Whether intra-op threads spin when idle; undefined: the process default (on, off for batch jobs). */
    readonly allowSpinning?: boolean;
  };
  readonly queuePolicy: {
    readonly maxQueueSize: number;
    readonly defaultTimeoutMicroseconds: number;
    readonly defaultPriorityLevel: number;
    /** Triton's priority_levels; undefined: every level a request gives is kept. */
    readonly priorityLevels?: number;
    /** Triton's allow_timeout_override (true 'shorten', false 'none'); unset: 'replace'. */
    readonly timeoutOverride: 'replace' | 'shorten' | 'none';
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
  /**
   * Present for stateful models (`sequence_batching`). Its control and state inputs and state
   * outputs are fed by the server and are not among `inputs` / `outputs`.
   */
  readonly sequenceBatching?: ResolvedSequenceBatching;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  /** Samples each instance runs before the version is READY (Triton's model_warmup); often none. */
  readonly warmup: readonly ResolvedWarmupSample[];
  /** The config's `monitoring` section as given, defaults filled in; absent when it has none. */
  readonly monitoring?: { readonly drift?: DriftConfig };
  /** Whether the config was completed from the ONNX graph (no file, or a file without inputs/outputs). */
  readonly autoCompleted: boolean;
}

/** Where a warmup input's data comes from; a file is named as the config gives it, under `warmup/`. */
export type WarmupDataSource =
  { readonly kind: 'zero' } | { readonly kind: 'random' } | { readonly kind: 'file'; readonly file: string };

export interface ResolvedWarmupInput {
  readonly name: string;
  readonly datatype: Datatype;
  /** One row's shape (without the batch dimension when maxBatchSize > 0); all fixed. */
  readonly dims: readonly number[];
  readonly source: WarmupDataSource;
}

/** A warmup sample: `runs` executions of `batchSize` rows per instance (Triton's count 0 is 1 run). */
export interface ResolvedWarmupSample {
  readonly name: string;
  readonly batchSize: number;
  /** Triton's count as given (0: once), kept for the config's round trip. */
  readonly count: number;
  readonly runs: number;
  /**
   * The inputs the sample names, in the config's order. A stateful model's control and state
   * inputs may be among them (Triton's warmup lists them); the server fills those instead, as for
   * a one-request sequence.
   */
  readonly inputs: readonly ResolvedWarmupInput[];
}

export type SequenceControlKind = 'START' | 'END' | 'READY' | 'CORRID';

/** A control input the sequence batcher feeds (Triton's ModelSequenceBatching.Control). */
export interface ResolvedSequenceControl {
  readonly kind: SequenceControlKind;
  /** The model input that receives it. */
  readonly name: string;
  /** INT32, FP32 or BOOL for START / END / READY; UINT64, INT64, UINT32, INT32 or BYTES for CORRID. */
  readonly datatype: Datatype;
  /** Shape of one row (without the batch dimension when maxBatchSize > 0): one element. */
  readonly dims: readonly number[];
  /** START / END / READY: the values for false and true (BOOL as 0 / 1). CORRID: unused, [0, 0]. */
  readonly falseTrue: readonly [number, number];
}

/** Implicit state: `outputName`'s value of one request is `inputName`'s value for the next. */
export interface ResolvedSequenceState {
  readonly inputName: string;
  readonly outputName: string;
  readonly datatype: Datatype;
  /** Shape of one sequence's state (without the batch dimension when maxBatchSize > 0); all fixed. */
  readonly dims: readonly number[];
}

export type ResolvedSequenceStrategy =
  | { readonly kind: 'direct'; readonly maxQueueDelayMicroseconds: number }
  | {
      readonly kind: 'oldest';
      readonly maxCandidateSequences: number;
      readonly preferredBatchSizes: readonly number[];
      readonly maxQueueDelayMicroseconds: number;
    };

export interface ResolvedSequenceBatching {
  readonly maxSequenceIdleMicroseconds: number;
  readonly controls: readonly ResolvedSequenceControl[];
  readonly states: readonly ResolvedSequenceState[];
  readonly strategy: ResolvedSequenceStrategy;
}

/** The shape a client sends for this tensor: the batch dimension (-1) first when batching. */
export function fullShape(config: ResolvedModelConfig, tensor: ResolvedTensorConfig): number[] {
  return config.maxBatchSize > 0 ? [-1, ...tensor.dims] : [...tensor.dims];
}
