// Repository questions both edges answer the same way, with the same errors: which versions'
// statistics to report, and which repository load parameters are refused.

import { InferdError, invalidArgument } from '../../errors/index.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import { assertValidModelName, parseVersion } from '../../repository/model-name.js';
import type { ModelVersion } from '../../model-kinds/model-version.js';

/**
 * The versions whose statistics to report: every serving version when `model` is undefined,
 * else that model's (or one version's). A model with nothing serving is NOT_FOUND.
 */
export function statisticsVersions(repository: ModelRepository, model?: string, version?: string): ModelVersion[] {
  if (model === undefined) return repository.servingVersions();
  assertValidModelName(model);
  let versions = repository.servingVersions(model);
  if (version !== undefined) {
    const v = parseVersion(version);
    if (v === undefined)
      throw invalidArgument(`invalid version ${JSON.stringify(version)}: versions are positive integers`);
    versions = versions.filter((mv) => mv.version === v);
  }
  if (versions.length === 0) {
    throw new InferdError(
      'INF_ERR_MODEL_NOT_FOUND',
      `no statistics: model '${model}'${version === undefined ? '' : ` version ${version}`} is not loaded`,
    );
  }
  return versions;
}

/** Loading with a config or file override (Triton's `config`, `file:<path>` parameters) is refused. */
export function assertNoLoadOverrides(parameterNames: readonly string[]): void {
  if (parameterNames.some((k) => k === 'config' || k.startsWith('file:'))) {
    throw new InferdError(
      'INF_ERR_UNSUPPORTED',
      'loading with config or file overrides in parameters is not supported; edit the repository and load again',
    );
  }
}
