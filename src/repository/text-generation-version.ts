// A `task: text-generation` model version: a generation engine (continuous batching over the ONNX
// decoder) instead of tensor instances. Its KServe v2 scheduler only refuses, pointing clients at
// the OpenAI-compatible endpoints; closing the version closes the engine.

import path from 'node:path';
import type { ParsedModelConfig } from '../config/model-config-schema.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import { InferdError } from '../errors/index.js';
import { loadTextGenerationEngine } from '../generation/load-engine.js';
import type { Metrics } from '../observability/metrics.js';
import { ModelStats } from '../observability/model-stats.js';
import type { SessionOptionsWire } from '../runtime/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { resolveModelConfig, type Loaded } from './model-config-loader.js';
import type { ModelVersion } from './model-version.js';
import type { ModelFolder } from './repository-scanner.js';

function generationOnly(model: string): InferdError {
  return new InferdError(
    'INF_ERR_INVALID_ARGUMENT',
    `model '${model}' is a text-generation model: use POST /v1/completions or /v1/chat/completions`,
  );
}

/** For the KServe v2 edges, before decoding tensors: a text-generation model takes none. */
export function assertTensorModel(mv: ModelVersion): void {
  if (mv.textGeneration !== undefined) throw generationOnly(mv.name);
}

/** The v2 infer endpoint of a text-generation model: a 400 naming the endpoints that serve it. */
class GenerationOnlyScheduler implements Scheduler {
  readonly pending = 0;

  constructor(
    private readonly model: string,
    private readonly close: () => Promise<void>,
  ) {}

  infer(_request: InferRequest): Promise<InferResult> {
    return Promise.reject(generationOnly(this.model));
  }

  /** Finishes the running sequences and frees the decoder. */
  drain(): Promise<void> {
    return this.close();
  }
}

export async function loadTextGenerationVersion(
  folder: ModelFolder,
  parsed: ParsedModelConfig,
  version: number,
  session: SessionOptionsWire,
  metrics: Metrics,
): Promise<Loaded<ModelVersion>> {
  const dir = path.join(folder.dir, String(version));
  // No tensor inputs or outputs: the engine feeds the decoder itself.
  const resolved = resolveModelConfig(
    folder,
    { ...parsed, max_batch_size: 0, input: undefined, output: undefined },
    { inputs: [], outputs: [] },
  );
  if (!resolved.ok) return resolved;
  let engine;
  try {
    engine = await loadTextGenerationEngine({
      modelName: folder.name,
      dir,
      config: parsed.text_generation,
      session,
      inline: parsed.optimization?.inline_execution ?? false,
      metrics,
    });
  } catch (err) {
    return {
      ok: false,
      issues: [
        {
          file: dir,
          field: '',
          reason: `cannot load the text-generation model: ${err instanceof Error ? err.message : String(err)}`,
        },
      ],
    };
  }
  const providers = ['cpu'];
  return {
    ok: true,
    value: {
      name: folder.name,
      version,
      config: resolved.value,
      labels: new Map(),
      scheduler: new GenerationOnlyScheduler(folder.name, () => engine.close()),
      stats: new ModelStats(folder.name, String(version), metrics),
      instances: [],
      providers,
      textGeneration: engine,
    },
  };
}
