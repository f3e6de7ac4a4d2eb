// A loaded, servable model version: its resolved config, labels, instances and scheduler.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { EmbeddingEngine, TextGenerationEngine } from '../generation/engine-types.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { Instance } from '../runtime/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly config: ResolvedModelConfig;
  /** Classification labels per output name. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
  readonly scheduler: Scheduler;
  readonly stats: ModelStats;
  readonly instances: readonly Instance[];
  /** Execution providers the instances actually use. */
  readonly providers: readonly string[];
  /** Present for `task: text-generation` models, served by the OpenAI-compatible edge (no instances). */
  readonly textGeneration?: TextGenerationEngine;
  /** Present for `task: embedding` models: texts in, pooled vectors out, through this version's scheduler. */
  readonly embedding?: EmbeddingEngine;
}

/** States as the repository extension reports them. */
export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: ModelState;
  readonly reason: string;
}
