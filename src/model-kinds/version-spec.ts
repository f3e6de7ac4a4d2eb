// What a model kind's factory is given: the server's context and the version to build.

import type { Loaded, ModelConfigSource } from '../config/model-config-file.js';
import type { ParsedModelConfig } from '../config/model-config-schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResponseCache } from '../scheduler/response-cache.js';
import type { ModelVersion } from './model-version.js';
import type { WarmupHook } from './warmup.js';

/** What every factory is given by the server. */
export interface VersionBuildContext {
  /** Cores shared by every instance's intra-op threads. */
  readonly cpuCores: number;
  /** Spin-waiting of onnxruntime's threads for models whose config does not say (default: on). */
  readonly allowSpinning?: boolean;
  /**
   * Runs every model's session on the main thread, whatever its config says (`inferd sql`, whose
   * main thread only scores chunks for DuckDB: a worker hop per execution costs more than it frees).
   */
  readonly inlineExecution?: boolean;
  /**
   * `inline_execution: auto` runs a model on the main thread when one execution takes at most this
   * many microseconds (`--auto-inline-max-us`); undefined or 0: `auto` means worker threads.
   */
  readonly autoInlineMaxUs?: number;
  /**
   * max_batch_size of models whose config leaves it out and whose graph takes a batch of every
   * size (default AUTO_MAX_BATCH_SIZE, 64; `inferd sql` scores a DuckDB chunk of 2,048 rows at once).
   */
  readonly autoMaxBatchSize?: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Folder of optimised models that loads start from (the memory budget's fast reload); undefined = none. */
  readonly optimizedModelCacheDir?: string;
  /** The server's response cache; models opt in with `response_cache.enable`. */

  readonly cache?: ResponseCache;
  /** Called before every warmup execution (tests hold a load in its warmup with it). */
  readonly warmupHook?: WarmupHook;
}

/** One version to build: its model folder, parsed config and where its files are. */
export interface VersionSpec {
  readonly folder: ModelConfigSource;
  readonly parsed: ParsedModelConfig;
  readonly version: number;
  /** <repository>/<model>/<version> */
  readonly versionDir: string;
  /** The model file in the version folder. */
  readonly modelPath: string;
}

export type VersionFactory = (spec: VersionSpec, ctx: VersionBuildContext) => Promise<Loaded<ModelVersion>>;

/** A load failure as the one issue of a version: file, field, reason. */
export function failedLoad(file: string, field: string, what: string, err: unknown): Loaded<never> {
  return { ok: false, issues: [{ file, field, reason: `${what}${err instanceof Error ? err.message : String(err)}` }] };
}
