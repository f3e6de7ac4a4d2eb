// Instance groups: KIND_GPU without explicit providers runs on WebGPU (then CPU), explicit
// providers always win, and KIND_AUTO follows the providers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';
import { resolveExecution } from '../../src/config/model-config-resolver.js';

const resolve = (raw: unknown) => resolveExecution(modelConfigSchema.parse(raw));

describe('instance groups and execution providers', () => {
  it('defaults to one CPU instance on the CPU provider', () => {
    const r = resolve({});
    assert.deepEqual(r.instanceGroups, [{ count: 1, kind: 'KIND_CPU', gpus: [] }]);
    assert.deepEqual(r.optimization.executionProviders, ['cpu']);
  });

  it('runs KIND_GPU groups on webgpu then cpu unless providers are given', () => {
    assert.deepEqual(
      resolve({ instance_group: [{ count: 2, kind: 'KIND_GPU', gpus: [0] }] }).optimization.executionProviders,
      ['webgpu', 'cpu'],
    );
    assert.deepEqual(
      resolve({ instance_group: [{ kind: 'KIND_GPU' }], optimization: { execution_providers: ['cuda', 'cpu'] } })
        .optimization.executionProviders,
      ['cuda', 'cpu'],
    );
  });

  it('resolves KIND_AUTO to KIND_GPU when a GPU provider is listed', () => {
    const r = resolve({ instance_group: [{ count: 3 }], optimization: { execution_providers: ['webgpu'] } });
    assert.deepEqual(r.instanceGroups, [{ count: 3, kind: 'KIND_GPU', gpus: [] }]);
  });
});
