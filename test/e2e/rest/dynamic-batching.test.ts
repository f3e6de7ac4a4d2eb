// Over REST, a model with `dynamic_batching` answers concurrent requests of mixed batch sizes
// exactly, from fewer executions than requests; a config that cannot batch is refused.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

describe('dynamic batching over REST', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    const [onnx] = await simpleVariant('unbatchable');
    dir = await makeRepository([
      ...(await simpleVariant(
        'batched',
        'dynamic_batching: { max_queue_delay_microseconds: 50000, preferred_batch_size: [8] }\n',
      )),
      ...(onnx === undefined ? [] : [onnx]),
      { path: 'unbatchable/config.yaml', bytes: 'max_batch_size: 0\ndynamic_batching: {}\n' },
    ]);
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  it('gives every concurrent request exactly its own sums and differences', async () => {
    const sizes = [1, 2, 1, 3, 1];
    const replies = await Promise.all(
      sizes.map(async (rows, k) => {
        const a = Array.from({ length: rows * 16 }, (_, i) => k * 1000 + i);
        const b = Array.from({ length: rows * 16 }, (_, i) => i % 7);
        const res = await fetch(`${server.url}/v2/models/batched/infer`, {
          method: 'POST',
          body: JSON.stringify({
            id: `req-${k}`,
            inputs: [
              { name: 'INPUT0', shape: [rows, 16], datatype: 'INT32', data: a },
              { name: 'INPUT1', shape: [rows, 16], datatype: 'INT32', data: b },
            ],
          }),
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as { id: string; outputs: { name: string; shape: number[]; data: number[] }[] };
        return { k, rows, a, b, body };
      }),
    );
    for (const { k, rows, a, b, body } of replies) {
      assert.equal(body.id, `req-${k}`);
      const [sum, diff] = body.outputs;
      assert.deepEqual(sum?.shape, [rows, 16]);
      assert.deepEqual(
        sum?.data,
        a.map((x, i) => x + (b[i] ?? 0)),
      );
      assert.deepEqual(
        diff?.data,
        a.map((x, i) => x - (b[i] ?? 0)),
      );
    }
    const stats = (await (await fetch(`${server.url}/v2/models/batched/stats`)).json()) as {
      model_stats: { inference_count: number; execution_count: number; batch_stats: { batch_size: number }[] }[];
    };
    const [s] = stats.model_stats;
    assert.equal(s?.inference_count, 8);
    assert.ok(
      (s?.execution_count ?? 99) < sizes.length,
      `expected fewer executions than requests, got ${s?.execution_count}`,
    );
    assert.ok(s?.batch_stats.some((b) => b.batch_size > 1));
  });

  it('shows dynamic_batching in the model config', async () => {
    const config = (await (await fetch(`${server.url}/v2/models/batched/config`)).json()) as Record<string, unknown>;
    assert.deepEqual(config.dynamic_batching, {
      max_queue_delay_microseconds: 50000,
      preferred_batch_size: [8],
      adaptive: false,
    });
  });

  it('marks a model UNAVAILABLE when dynamic_batching has no batch dimension to use', async () => {
    const index = (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as {
      name: string;
      state: string;
      reason: string;
    }[];
    const row = index.find((r) => r.name === 'unbatchable');
    assert.equal(row?.state, 'UNAVAILABLE');
    assert.match(row?.reason ?? '', /dynamic_batching: needs a batch dimension: max_batch_size must be above 0/);
  });
});
