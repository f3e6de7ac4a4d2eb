// model_warmup on the real server: every instance runs every sample `count` times before the
// model is READY (a hook holds the first execution while readiness is asked), warmup executions
// do not count in the model's statistics, one log line gives the version's warmup time, and a
// sample whose data file has the wrong size makes the model UNAVAILABLE naming the sample.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WarmupRun } from '../../../src/model-kinds/warmup.js';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';
import { connect, unary } from '../grpc/grpc-client.js';
import { A16, B16, getJson, inferSimple, postJson, repositoryIndex } from './fixtures.js';

const WARMUP = `instance_group: [{ count: 2, kind: KIND_CPU }]
model_warmup:
  - name: zeros
    batch_size: 4
    count: 3
    inputs:
      INPUT0: { data_type: TYPE_INT32, dims: [16], zero_data: true }
      INPUT1: { data_type: TYPE_INT32, dims: [16], input_data_file: ones.bin }
`;

const BROKEN = `model_warmup:
  - name: short-file
    inputs:
      INPUT0: { data_type: TYPE_INT32, dims: [16], zero_data: true }
      INPUT1: { data_type: TYPE_INT32, dims: [16], input_data_file: short.bin }
`;

interface Stats {
  model_stats: { inference_count: number; execution_count: number }[];
}

describe('model_warmup', () => {
  let repo = '';
  let server: TestServer;
  const runs: WarmupRun[] = [];
  let reached: (run: WarmupRun) => void = () => undefined;
  const firstRun = new Promise<WarmupRun>((resolve) => (reached = resolve));
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    repo = await makeRepository([
      ...(await simpleVariant('warm', WARMUP)),
      { path: 'warm/warmup/ones.bin', bytes: Buffer.from(new Int32Array(16).fill(1).buffer) },
      ...(await simpleVariant('broken', BROKEN)),
      { path: 'broken/warmup/short.bin', bytes: Buffer.from(new Int32Array(15).buffer) },
    ]);
    server = await startTestServer(
      { modelRepository: repo, modelControlMode: 'explicit' },
      {
        warmupHook: async (run) => {
          runs.push(run);
          if (runs.length === 1) {
            reached(run);
            await held;
          }
        },
      },
    );
  });

  after(async () => {
    release();
    await server?.close();
    await removeRepository(repo);
  });

  it('is not ready until every instance ran every sample count times', async () => {
    const loading = postJson(`${server.url}/v2/repository/models/warm/load`);
    const run = await firstRun;
    assert.deepEqual([run.sample, run.run], ['zeros', 1]);
    // Held in its first warmup execution: loading, not ready, and requests are refused.
    assert.equal((await fetch(`${server.url}/v2/models/warm/ready`)).status, 400);
    assert.deepEqual(
      (await repositoryIndex(server.url)).find((r) => r.name === 'warm'),
      { name: 'warm', version: '', state: 'LOADING', reason: '' },
    );
    assert.equal((await inferSimple(server.url, 'warm', A16, B16)).status, 503);
    release();
    assert.equal((await loading).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/warm/ready`)).status, 200);

    const perInstance = new Map<string, number[]>();
    for (const r of runs) perInstance.set(r.instance, [...(perInstance.get(r.instance) ?? []), r.run]);
    assert.deepEqual([...perInstance].sort(), [
      ['warm/1#0', [1, 2, 3]],
      ['warm/1#1', [1, 2, 3]],
    ]);
    const line = server.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('model warm/1 warmed up in'));
    assert.ok(line !== undefined, 'one log line gives the warmup time');
    assert.equal(line.executions, 6);
    assert.equal(typeof line.warmupMs, 'number');
    const lines = server.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('warmed up'));
    assert.equal(lines.length, 1);
  });

  it('reports the samples in the config over REST and gRPC alike', async () => {
    const sample = {
      name: 'zeros',
      batch_size: 4,
      count: 3,
      inputs: {
        INPUT0: { data_type: 'TYPE_INT32', dims: [16], zero_data: true },
        INPUT1: { data_type: 'TYPE_INT32', dims: [16], input_data_file: 'ones.bin' },
      },
    };
    const rest = await getJson<{ model_warmup: unknown }>(`${server.url}/v2/models/warm/config`);
    assert.deepEqual(rest.body.model_warmup, [sample]);
    const clients = connect(server);
    try {
      const grpcConfig = (await unary(clients.inference, 'ModelConfig', { name: 'warm' })) as {
        config: {
          model_warmup: { inputs: Record<string, { dims: string[]; zero_data?: boolean; input_data_file?: string }> }[];
        };
      };
      const got = grpcConfig.config.model_warmup[0];
      assert.equal(got?.inputs.INPUT1?.input_data_file, 'ones.bin');
      assert.equal(got?.inputs.INPUT0?.zero_data, true);
      assert.deepEqual(got?.inputs.INPUT0?.dims?.map(Number), [16]);
    } finally {
      clients.close();
    }
  });

  it('keeps warmup executions out of the statistics', async () => {
    const before = await getJson<Stats>(`${server.url}/v2/models/warm/stats`);
    assert.deepEqual(
      before.body.model_stats.map((s) => [s.inference_count, s.execution_count]),
      [[0, 0]],
    );
    const reply = await inferSimple(server.url, 'warm', A16, B16);
    assert.equal(reply.status, 200);
    const afterOne = await getJson<Stats>(`${server.url}/v2/models/warm/stats`);
    assert.deepEqual(
      afterOne.body.model_stats.map((s) => [s.inference_count, s.execution_count]),
      [[1, 1]],
    );
  });

  it('makes a model whose warmup data does not fit UNAVAILABLE, naming the sample', async () => {
    const reply = await postJson<{ error: string }>(`${server.url}/v2/repository/models/broken/load`);
    assert.equal(reply.status, 400);
    assert.match(
      reply.body.error,
      /model_warmup\[0\]\.inputs\.INPUT1\.input_data_file: sample 'short-file': has 60 bytes/,
    );
    const row = (await repositoryIndex(server.url)).find((r) => r.name === 'broken');
    assert.equal(row?.state, 'UNAVAILABLE');
    assert.match(row?.reason ?? '', /sample 'short-file'/);
    assert.equal((await fetch(`${server.url}/v2/models/broken/ready`)).status, 400);
  });
});
