// A KIND_GPU group with `gpus: [0, 1]` starts `count` instances on each device (Triton's rule),
// and the model's config shows each instance with its device and the providers its session opened
// with; a device id past the GPUs nvidia-smi lists fails the load with instance_group[i].gpus
// named, while the other models serve. A fake nvidia-smi lists two GPUs; cuda is not installed
// here, so the sessions run on the CPU provider.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cudaInstalledReason, fakeNvidiaSmi, withPath, type FakeNvidiaSmi } from '../../helpers/fake-nvidia-smi.js';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';
import { A16, B16, getJson, inferSimple, output, repositoryIndex } from '../repository/fixtures.js';

const GPU = { name: 'NVIDIA H100 80GB HBM3', totalMiB: 81559, usedMiB: 0, utilizationPercent: 0, powerWatts: 70 };

describe('GPU instance groups', { skip: cudaInstalledReason() }, () => {
  let repo = '';
  let smi: FakeNvidiaSmi;
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...(await simpleVariant(
        'twoGpus',
        `instance_group: [{ kind: KIND_GPU, count: 2, gpus: [0, 1] }, { kind: KIND_CPU, count: 1 }]
optimization: { execution_providers: [cuda, cpu] }
`,
      )),
      ...(await simpleVariant(
        'missingGpu',
        `instance_group: [{ kind: KIND_GPU, count: 1, gpus: [0, 2] }]
optimization: { execution_providers: [cuda, cpu] }
`,
      )),
    ]);
    smi = await fakeNvidiaSmi([
      { ...GPU, uuid: 'GPU-a' },
      { ...GPU, uuid: 'GPU-b' },
    ]);
    server = await withPath([smi.dir], () => startTestServer({ modelRepository: repo }));
  });

  after(async () => {
    await server.close();
    await smi.remove();
    await removeRepository(repo);
  });

  it('starts count instances on each listed GPU and shows each one with its device', async () => {
    const { status, body } = await getJson<{ runtime: { instances: unknown[] }; instance_group: unknown[] }>(
      `${server.url}/v2/models/twoGpus/config`,
    );
    assert.equal(status, 200);
    assert.deepEqual(body.runtime.instances, [
      { name: 'twoGpus/1#0', kind: 'KIND_GPU', gpu: 0, providers: ['cpu'] },
      { name: 'twoGpus/1#1', kind: 'KIND_GPU', gpu: 0, providers: ['cpu'] },
      { name: 'twoGpus/1#2', kind: 'KIND_GPU', gpu: 1, providers: ['cpu'] },
      { name: 'twoGpus/1#3', kind: 'KIND_GPU', gpu: 1, providers: ['cpu'] },
      { name: 'twoGpus/1#4', kind: 'KIND_CPU', providers: ['cpu'] },
    ]);
    assert.deepEqual(body.instance_group, [
      { name: 'twoGpus_0', kind: 'KIND_GPU', count: 2, gpus: [0, 1] },
      { name: 'twoGpus_1', kind: 'KIND_CPU', count: 1, gpus: [] },
    ]);
    const reply = await inferSimple(server.url, 'twoGpus', A16, B16);
    assert.equal(reply.status, 200);
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((a) => a + 1),
    );
  });

  it('fails the load of a model that names a GPU the machine lacks, naming the field', async () => {
    const rows = await repositoryIndex(server.url);
    const row = rows.find((r) => r.name === 'missingGpu');
    assert.equal(row?.state, 'UNAVAILABLE');
    assert.match(row?.reason ?? '', /instance_group\[0\]\.gpus/);
    assert.match(row?.reason ?? '', /GPU 2 does not exist: this machine has 2 \(ids 0-1\)/);
  });
});
