// The factory for `task: rerank` models: a tensor cross-encoder (dynamic batching as every tensor
// model) with a rerank engine over its scheduler: pair tokenizer, length buckets, score activation.

import { performance } from 'node:perf_hooks';
import { createRerankEngine } from '../generation/rerank-engine.js';
import type { Loaded } from '../config/model-config-file.js';
import type { RerankerModelVersion } from './model-version.js';
import { startTensorParts } from './tensor-version.js';
import { failedLoad, type VersionBuildContext, type VersionSpec } from './version-spec.js';

export async function buildRerankVersion(
  spec: VersionSpec,
  ctx: VersionBuildContext,
): Promise<Loaded<RerankerModelVersion>> {
  const started = performance.now();
  const built = await startTensorParts(spec, ctx);
  if (!built.ok) return built;
  const parts = built.value;
  try {
    const reranker = await createRerankEngine({
      modelName: spec.folder.name,
      folder: spec.versionDir,
      config: parts.config,
      rerank: spec.parsed.rerank,
      backend: parts.scheduler,
    });
    parts.stats.recordLoadSeconds((performance.now() - started) / 1000);
    return { ok: true, value: { kind: 'reranker', ...parts, reranker } };
  } catch (err) {
    await Promise.all(parts.instances.map((i) => i.close()));
    return failedLoad(spec.versionDir, 'task', '', err);
  }
}
