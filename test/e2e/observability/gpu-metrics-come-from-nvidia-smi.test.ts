// GPU metrics under Triton's names, read from nvidia-smi (a fake one first on PATH prints canned
// CSV): per GPU nv_gpu_utilization, nv_gpu_memory_total_bytes, nv_gpu_memory_used_bytes and
// nv_gpu_power_usage labelled gpu_uuid (a board without a power reading has no power sample); per
// model the device memory its load took (the process's figure after the load minus before). With
// no nvidia-smi on PATH, no GPU metric appears at all.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cudaInstalledReason, fakeNvidiaSmi, withPath, type FakeNvidiaSmi } from '../../helpers/fake-nvidia-smi.js';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';
import { A16, B16, inferSimple, metricValue, scrape } from '../repository/fixtures.js';

const MIB = 1024 * 1024;
const GPUS = [
  {
    uuid: 'GPU-11111111-aaaa',
    name: 'NVIDIA H100 80GB HBM3',
    totalMiB: 81559,
    usedMiB: 1200,
    utilizationPercent: 37,
    powerWatts: 71.5,
  },
  {
    uuid: 'GPU-22222222-bbbb',
    name: 'NVIDIA H100 80GB HBM3',
    totalMiB: 81559,
    usedMiB: 0,
    utilizationPercent: 0,
    powerWatts: '[N/A]' as const,
  },
];
// Cuda is not installed here, so the sessions run on the CPU; the placement and the readings are
// what is under test.
const GPU_GROUP = `instance_group: [{ kind: KIND_GPU, count: 1, gpus: [0] }]
optimization: { execution_providers: [cuda, cpu] }
`;

describe('GPU metrics from nvidia-smi', { skip: cudaInstalledReason() }, () => {
  let repo = '';
  let smi: FakeNvidiaSmi;
  let server: TestServer;
  let text = '';

  before(async () => {
    repo = await makeRepository(await simpleVariant('onGpu', GPU_GROUP));
    // The load reads the process's device memory before (100 MiB) and after (612 MiB).
    smi = await fakeNvidiaSmi(GPUS, [100, 612]);
    server = await withPath([smi.dir], () => startTestServer({ modelRepository: repo }));
    const reply = await inferSimple(server.url, 'onGpu', A16, B16);
    assert.equal(reply.status, 200);
    text = await scrape(server.url);
  });

  after(async () => {
    await server.close();
    await smi.remove();
    await removeRepository(repo);
  });

  it("exports every GPU's memory, utilization and power under Triton's names", () => {
    const [a, b] = GPUS.map((g) => ({ gpu_uuid: g.uuid }));
    assert.equal(metricValue(text, 'nv_gpu_memory_total_bytes', a), 81559 * MIB);
    assert.equal(metricValue(text, 'nv_gpu_memory_used_bytes', a), 1200 * MIB);
    assert.equal(metricValue(text, 'nv_gpu_utilization', a), 0.37);
    assert.equal(metricValue(text, 'nv_gpu_power_usage', a), 71.5);
    assert.equal(metricValue(text, 'nv_gpu_memory_total_bytes', b), 81559 * MIB);
    assert.equal(metricValue(text, 'nv_gpu_utilization', b), 0);
    assert.equal(metricValue(text, 'nv_gpu_power_usage', b), undefined, 'no power reading, no sample');
  });

  it("exports the device memory the model's load took", () => {
    assert.equal(
      metricValue(text, 'inferd_model_gpu_memory_bytes', { model: 'onGpu', version: '1', gpu_uuid: GPUS[0]!.uuid }),
      512 * MIB,
    );
  });

  it('counts no GPU busy time for a session that fell back to the CPU', () => {
    assert.doesNotMatch(text, /^inferd_model_gpu_busy_seconds_total\{/m);
  });
});

describe('without nvidia-smi', () => {
  it('exports no GPU metric', async () => {
    const repo = await makeRepository(await simpleVariant('plain'));
    // PATH holds only node's own folder: no nvidia-smi can be found, on a GPU machine too.
    const server = await withPath([path.dirname(process.execPath)], () => startTestServer({ modelRepository: repo }));
    try {
      assert.equal((await inferSimple(server.url, 'plain', A16, B16)).status, 200);
      const text = await scrape(server.url);
      assert.match(text, /^nv_cpu_memory_total_bytes /m, 'the scrape is a real one');
      assert.doesNotMatch(text, /^(# \w+ )?(nv_gpu_|inferd_model_gpu_)/m);
    } finally {
      await server.close();
      await removeRepository(repo);
    }
  });
});
