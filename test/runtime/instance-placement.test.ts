// Instance groups are placed Triton's way: `count` instances of a KIND_GPU group on each device
// of its `gpus`, each session given its device id where the provider takes one (cuda); device ids
// past the machine's GPUs and devices the WebGPU provider cannot choose fail with the field named;
// GPU instances take one intra-op thread, and CPU instances share the cores left.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { ExecutionProvider } from '../../src/config/model-config-schema.js';
import { instanceCount, placeInstances, type Placement } from '../../src/runtime/session-options.js';

type Group = ResolvedModelConfig['instanceGroups'][number];

function exec(
  groups: Group[],
  providers: ExecutionProvider[],
  intraOpThreads = 0,
): Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'> {
  return {
    instanceGroups: groups,
    optimization: {
      graphLevel: 'all',
      intraOpThreads,
      interOpThreads: 1,
      executionProviders: providers,
      inlineExecution: false,
    },
  };
}

function plans(p: Placement) {
  assert.ok(p.ok, p.ok ? '' : `${p.field}: ${p.reason}`);
  return p.plans;
}

describe('instance placement', () => {
  it('starts count instances on each listed GPU, each cuda session with its device id', () => {
    const config = exec([{ kind: 'KIND_GPU', count: 2, gpus: [0, 1] }], ['cuda', 'cpu']);
    const placed = plans(placeInstances(config, 16, {}, 2));
    assert.equal(instanceCount(config), 4);
    assert.deepEqual(
      placed.map((p) => [p.kind, p.device, p.options.deviceId, p.options.executionProviders]),
      [
        ['KIND_GPU', 0, 0, ['cuda', 'cpu']],
        ['KIND_GPU', 0, 0, ['cuda', 'cpu']],
        ['KIND_GPU', 1, 1, ['cuda', 'cpu']],
        ['KIND_GPU', 1, 1, ['cuda', 'cpu']],
      ],
    );
  });

  it('puts a cuda group without gpus on every GPU when their number is known, else on GPU 0', () => {
    const config = exec([{ kind: 'KIND_GPU', count: 1, gpus: [] }], ['cuda']);
    assert.deepEqual(
      plans(placeInstances(config, 8, {}, 3)).map((p) => p.device),
      [0, 1, 2],
    );
    assert.deepEqual(
      plans(placeInstances(config, 8, {}, undefined)).map((p) => p.device),
      [0],
    );
  });

  it('refuses a device id past the GPUs the machine has, naming the group', () => {
    const p = placeInstances(
      exec(
        [
          { kind: 'KIND_CPU', count: 1, gpus: [] },
          { kind: 'KIND_GPU', count: 1, gpus: [0, 2] },
        ],
        ['cuda'],
      ),
      8,
      {},
      2,
    );
    assert.equal(p.ok, false);
    assert.ok(!p.ok);
    assert.equal(p.field, 'instance_group[1].gpus');
    assert.match(p.reason, /GPU 2 does not exist: this machine has 2 \(ids 0-1\)/);
    const none = placeInstances(exec([{ kind: 'KIND_GPU', count: 1, gpus: [0] }], ['cuda']), 8, {}, 0);
    assert.ok(!none.ok);
    assert.match(none.reason, /GPU 0 does not exist: this machine has no GPU/);
  });

  it('does not check device ids when their number cannot be known', () => {
    const placed = plans(placeInstances(exec([{ kind: 'KIND_GPU', count: 1, gpus: [5] }], ['cuda']), 8, {}, undefined));
    assert.deepEqual(
      placed.map((p) => p.options.deviceId),
      [5],
    );
  });

  it('refuses a WebGPU device other than 0, since onnxruntime-node cannot choose its adapter', () => {
    const p = placeInstances(exec([{ kind: 'KIND_GPU', count: 1, gpus: [1] }], ['webgpu', 'cpu']), 8, {}, undefined);
    assert.ok(!p.ok);
    assert.equal(p.field, 'instance_group[0].gpus');
    assert.match(p.reason, /webgpu provider cannot be given a device/);
    const zero = plans(placeInstances(exec([{ kind: 'KIND_GPU', count: 2, gpus: [0] }], ['webgpu', 'cpu']), 8));
    assert.deepEqual(
      zero.map((p) => [p.device, p.options.deviceId, p.options.executionProviders]),
      [
        [0, undefined, ['webgpu', 'cpu']],
        [0, undefined, ['webgpu', 'cpu']],
      ],
    );
  });

  it('refuses KIND_GPU without a GPU provider, and a GPU listed twice', () => {
    const cpuOnly = placeInstances(exec([{ kind: 'KIND_GPU', count: 1, gpus: [] }], ['cpu']), 8);
    assert.ok(!cpuOnly.ok);
    assert.equal(cpuOnly.field, 'instance_group[0].kind');
    const twice = placeInstances(exec([{ kind: 'KIND_GPU', count: 1, gpus: [1, 1] }], ['cuda']), 8);
    assert.ok(!twice.ok);
    assert.match(twice.reason, /lists a GPU twice/);
  });

  it('runs KIND_CPU instances on the CPU provider alone, beside GPU instances', () => {
    const placed = plans(
      placeInstances(
        exec(
          [
            { kind: 'KIND_GPU', count: 1, gpus: [0] },
            { kind: 'KIND_CPU', count: 2, gpus: [] },
          ],
          ['cuda', 'cpu'],
        ),
        8,
        {},
        1,
      ),
    );
    assert.deepEqual(
      placed.map((p) => [p.group, p.kind, p.options.executionProviders, p.options.deviceId]),
      [
        [0, 'KIND_GPU', ['cuda', 'cpu'], 0],
        [1, 'KIND_CPU', ['cpu'], undefined],
        [1, 'KIND_CPU', ['cpu'], undefined],
      ],
    );
  });

  it('gives GPU instances one intra-op thread and CPU instances the cores left', () => {
    const placed = plans(
      placeInstances(
        exec(
          [
            { kind: 'KIND_GPU', count: 2, gpus: [0] },
            { kind: 'KIND_CPU', count: 2, gpus: [] },
          ],
          ['webgpu', 'cpu'],
        ),
        16,
      ),
    );
    assert.deepEqual(
      placed.map((p) => p.options.intraOpNumThreads),
      [1, 1, 7, 7],
    );
    const gpuOnly = plans(placeInstances(exec([{ kind: 'KIND_GPU', count: 4, gpus: [0] }], ['webgpu']), 16));
    assert.deepEqual(
      gpuOnly.map((p) => p.options.intraOpNumThreads),
      [1, 1, 1, 1],
    );
    const configured = plans(placeInstances(exec([{ kind: 'KIND_GPU', count: 1, gpus: [0] }], ['webgpu'], 3), 16));
    assert.equal(configured[0]?.options.intraOpNumThreads, 3);
  });

  it('divides the cores between CPU instances as before when there is no GPU group', () => {
    const placed = plans(
      placeInstances(exec([{ kind: 'KIND_CPU', count: 3, gpus: [] }], ['cpu']), 8, { allowSpinning: false }),
    );
    assert.deepEqual(
      placed.map((p) => [p.options.intraOpNumThreads, p.options.allowSpinning, p.device]),
      [
        [2, false, undefined],
        [2, false, undefined],
        [2, false, undefined],
      ],
    );
  });
});
