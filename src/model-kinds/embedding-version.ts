// The factory for `task: embedding` models: a tensor encoder (dynamic batching as any tensor
// model) with an embedding engine over its scheduler: tokenizer, length buckets, pooling.

import { performance } from 'node:perf_hooks';
import { createEmbeddingEngine } from '../generation/embedding-engine.js';
import type { Loaded } from '../config/model-config-file.js';
import type { EmbeddingModelVersion } from './model-version.js';
import { startTensorParts } from './tensor-version.js';
import { failedLoad, type VersionBuildContext, type VersionSpec } from './version-spec.js';

export async function buildEmbeddingVersion(
  spec: VersionSpec,
  ctx: VersionBuildContext,
): Promise<Loaded<EmbeddingModelVersion>> {
  const started = performance.now();
  const built = await startTensorParts(spec, ctx);
  if (!built.ok) return built;
  const parts = built.value;
  try {
    const embedding = await createEmbeddingEngine({
      modelName: spec.folder.name,
      folder: spec.versionDir,
      config: parts.config,
      embedding: spec.parsed.embedding,
      backend: parts.scheduler,
    });
    parts.stats.recordLoadSeconds((performance.now() - started) / 1000);
    // Without an `embedding` section the engine pools as sentence-transformers' files say: the
    // config views (REST /config, gRPC ModelConfig) report what it runs with.
    const config = {
      ...parts.config,
      embedding: { pooling: embedding.pooling, normalize: embedding.normalize, max_tokens: embedding.contextLength },
    };
    return { ok: true, value: { kind: 'embedding', ...parts, config, embedding } };
  } catch (err) {
    await Promise.all(parts.instances.map((i) => i.close()));
    return failedLoad(spec.versionDir, 'task', '', err);
  }
}
