// Builds what a model version runs on, one factory per model kind: the task in its config picks
// the factory (text generation, embedding, rerank, or tensor, which is stateful when the config has
// `sequence_batching`). The repository calls `buildVersion` and only runs lifecycles.

import type { Loaded } from '../config/model-config-file.js';
import type { ModelTask } from '../config/model-config-schema.js';
import { buildEmbeddingVersion } from './embedding-version.js';
import type { ModelVersion } from './model-version.js';
import { buildRerankVersion } from './rerank-version.js';
import { buildTensorVersion } from './tensor-version.js';
import { buildTextGenerationVersion } from './text-generation-version.js';
import type { VersionBuildContext, VersionFactory, VersionSpec } from './version-spec.js';

export type { VersionBuildContext, VersionSpec } from './version-spec.js';

const FACTORIES: { readonly [T in ModelTask]: VersionFactory } = {
  'text-generation': buildTextGenerationVersion,
  embedding: buildEmbeddingVersion,
  rerank: buildRerankVersion,
  tensor: buildTensorVersion,
};

export function buildVersion(spec: VersionSpec, ctx: VersionBuildContext): Promise<Loaded<ModelVersion>> {
  return FACTORIES[spec.parsed.task ?? 'tensor'](spec, ctx);
}
