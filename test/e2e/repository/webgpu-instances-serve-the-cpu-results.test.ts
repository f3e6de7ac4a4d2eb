// The real WebGPU path, where an adapter exists (a GPU, or Mesa's lavapipe; skipped with the
// reason otherwise): a KIND_GPU instance of `mlp` opens on the bundled WebGPU provider in its
// worker thread, answers what the CPU instance answers (to float tolerance), and its execution
// time counts as GPU busy time on device 0.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withPath } from '../../helpers/fake-nvidia-smi.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';
import { webgpuUnavailableReason } from '../../helpers/webgpu-probe.js';
import { getJson, metricValue, postJson, scrape } from '../repository/fixtures.js';

const unavailable = await webgpuUnavailableReason();

interface Reply {
  outputs: { name: string; data: number[] }[];
}

describe('WebGPU instances', { skip: unavailable }, () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    const onnx = await readFile(path.join(EXAMPLES_DIR, 'mlp/1/model.onnx'));
    repo = await makeRepository([
      { path: 'onCpu/1/model.onnx', bytes: onnx },
      { path: 'onGpu/1/model.onnx', bytes: onnx },
      { path: 'onGpu/config.yaml', bytes: 'instance_group: [{ kind: KIND_GPU, count: 1 }]\n' },
    ]);
    // No nvidia-smi: the device count is not known and no device metric is read.
    server = await withPath([path.dirname(process.execPath)], () => startTestServer({ modelRepository: repo }));
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  it('runs on the webgpu provider and answers what the CPU answers', async () => {
    const config = await getJson<{ runtime: { instances: unknown[] } }>(`${server.url}/v2/models/onGpu/config`);
    assert.deepEqual(config.body.runtime.instances, [
      { name: 'onGpu/1#0', kind: 'KIND_GPU', gpu: 0, providers: ['webgpu', 'cpu'] },
    ]);
    const rows = 4;
    const data = Array.from({ length: rows * 256 }, (_, i) => Math.sin(i) / 2);
    const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 256], data }] };
    const gpu = await postJson<Reply>(`${server.url}/v2/models/onGpu/infer`, body);
    const cpu = await postJson<Reply>(`${server.url}/v2/models/onCpu/infer`, body);
    assert.equal(gpu.status, 200);
    assert.equal(cpu.status, 200);
    const g = gpu.body.outputs[0]?.data ?? [];
    const c = cpu.body.outputs[0]?.data ?? [];
    assert.equal(g.length, c.length);
    assert.ok(g.length > 0);
    for (let i = 0; i < c.length; i++)
      assert.ok(Math.abs((g[i] ?? NaN) - (c[i] ?? NaN)) < 1e-3, `logit ${i}: ${g[i]} vs ${c[i]}`);
  });

  it("counts the GPU instance's execution time as busy time on device 0, and only it", async () => {
    const text = await scrape(server.url);
    const busy = metricValue(text, 'inferd_model_gpu_busy_seconds_total', { model: 'onGpu', version: '1', gpu: '0' });
    assert.ok(busy !== undefined && busy > 0, `busy ${busy}`);
    assert.equal(
      metricValue(text, 'inferd_model_gpu_busy_seconds_total', { model: 'onCpu', version: '1', gpu: '0' }),
      undefined,
    );
  });
});
