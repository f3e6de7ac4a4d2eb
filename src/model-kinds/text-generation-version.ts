// The factory for `task: text-generation` models: a generation engine (continuous batching over
// the ONNX decoder) instead of tensor instances and a scheduler. Closing the version finishes the
// running sequences and frees the decoder.

import path from 'node:path';
import { resolveExecution, resolveModelConfig } from '../config/model-config-resolver.js';
import type { Loaded } from '../config/model-config-file.js';
import { loadTextGenerationEngine } from '../generation/load-engine.js';
import { ModelStats } from '../observability/model-stats.js';
import { sessionOptionsFor } from '../runtime/index.js';
import type { TextGenerationModelVersion } from './model-version.js';
import { failedLoad, type VersionBuildContext, type VersionSpec } from './version-spec.js';

export async function buildTextGenerationVersion(
  spec: VersionSpec,
  ctx: VersionBuildContext,
): Promise<Loaded<TextGenerationModelVersion>> {
  const { folder, parsed, version, versionDir } = spec;
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
      dir: versionDir,
      modelFile: path.basename(spec.modelPath),
      config: parsed.text_generation,
      session: sessionOptionsFor(resolveExecution(parsed), ctx.cpuCores),
      // `auto` keeps decoders in a worker thread: a step's time depends on the batch it runs.
      inline: parsed.optimization?.inline_execution === true,
      metrics: ctx.metrics,
    });
  } catch (err) {
    return failedLoad(versionDir, '', 'cannot load the text-generation model: ', err);
  }
  return {
    ok: true,
    value: {
      kind: 'text-generation',
      name: folder.name,
      version,
      config: resolved.value,
      labels: new Map(),
      stats: new ModelStats(folder.name, String(version), ctx.metrics),
      providers: ['cpu'],
      textGeneration: engine,
      close: () => engine.close(),
      // The engine replaces a crashed decoder worker itself and fails only the sequences it held.
      onUnavailable: () => undefined,
    },
  };
}
