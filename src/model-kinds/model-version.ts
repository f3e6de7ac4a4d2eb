// A loaded, servable model version, as one discriminated union on its kind:
// - `tensor`: independent requests over KServe v2, scheduled by the dynamic batcher;
// - `stateful`: `sequence_batching` models, scheduled by the sequence batcher;
// - `embedding`: a tensor encoder whose embedding engine pools its outputs for /v1/embeddings;
// - `reranker`: a tensor cross-encoder whose rerank engine scores (query, document) pairs;
// - `text-generation`: an ONNX decoder served by a generation engine over the OpenAI API.
// Every edge takes a version through `requireKind` (serving-kinds.ts) before using it.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { EmbeddingEngine, RerankEngine, TextGenerationEngine } from '../generation/engine-types.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { Instance } from '../runtime/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ExecutionChoice } from './auto-inline.js';
import type { InstancePlacement } from './gpu-instances.js';

interface VersionCommon {
  readonly name: string;
  readonly version: number;
  readonly config: ResolvedModelConfig;
  /** Classification labels per output name. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
  readonly stats: ModelStats;
  /** Execution providers the version's sessions actually use. */
  readonly providers: readonly string[];
  /** Drains what is queued or running, then frees the sessions (the repository calls it once). */
  close(): Promise<void>;
  /**
   * Calls `listener` once (at once if it already happened) when the version can no longer serve:
   * every instance has stopped for good, its restarts used up. `reason` names the last failure.
   * Closing the version is not such a stop.
   */
  onUnavailable(listener: (reason: string) => void): void;
}

/** The kinds that take KServe v2 tensors: instances behind a scheduler. */
interface TensorServing extends VersionCommon {
  readonly scheduler: Scheduler;
  readonly instances: readonly Instance[];
  /** Whether the sessions run on the main thread or in worker threads, and why. */
  readonly execution: ExecutionChoice;
  /** Where each instance runs (device ids of KIND_GPU instances), as the config view shows it. */
  readonly placements?: readonly InstancePlacement[];
}

export interface TensorModelVersion extends TensorServing {
  readonly kind: 'tensor';
}

export interface StatefulModelVersion extends TensorServing {
  readonly kind: 'stateful';
}

export interface EmbeddingModelVersion extends TensorServing {
  readonly kind: 'embedding';
  /** Texts in, pooled vectors out, through this version's scheduler. */
  readonly embedding: EmbeddingEngine;
}

export interface RerankerModelVersion extends TensorServing {
  readonly kind: 'reranker';
  /** (query, document) pairs in, relevance scores out, through this version's scheduler. */
  readonly reranker: RerankEngine;
}

export interface TextGenerationModelVersion extends VersionCommon {
  readonly kind: 'text-generation';
  readonly textGeneration: TextGenerationEngine;
}

export type ModelVersion =
  TensorModelVersion | StatefulModelVersion | EmbeddingModelVersion | RerankerModelVersion | TextGenerationModelVersion;

export type ModelKind = ModelVersion['kind'];

/** A version that takes KServe v2 infer requests. */
export type TensorServingVersion =
  TensorModelVersion | StatefulModelVersion | EmbeddingModelVersion | RerankerModelVersion;
