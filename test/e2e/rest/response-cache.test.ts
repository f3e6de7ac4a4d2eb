// A model with `response_cache.enable` answers a repeated request from the cache: same outputs,
// no second execution, and hits and misses in the statistics and the metrics.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

describe('response cache over REST', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    dir = await makeRepository(await simpleVariant('cached', 'response_cache: { enable: true }\n'));
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  const infer = async (offset: number) => {
    const res = await fetch(`${server.url}/v2/models/cached/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i + offset) },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(1) },
        ],
      }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { outputs: { data: number[] }[] };
  };

  it('answers a repeat from the cache, and a different input from the model', async () => {
    const first = await infer(0);
    const second = await infer(0);
    assert.deepEqual(second, first);
    const other = await infer(5);
    assert.deepEqual(other.outputs[0]?.data.slice(0, 2), [6, 7]);

    const stats = (await (await fetch(`${server.url}/v2/models/cached/stats`)).json()) as {
      model_stats: {
        execution_count: number;
        inference_stats: { success: { count: number }; cache_hit: { count: number }; cache_miss: { count: number } };
      }[];
    };
    const [s] = stats.model_stats;
    assert.equal(s?.inference_stats.success.count, 3);
    assert.equal(s?.inference_stats.cache_hit.count, 1);
    assert.equal(s?.inference_stats.cache_miss.count, 2);
    assert.equal(s?.execution_count, 2, 'the repeat did not run the model');

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^nv_cache_num_hits_per_model\{model="cached",version="1"\} 1$/m);
    assert.match(metrics, /^nv_cache_num_misses_per_model\{model="cached",version="1"\} 2$/m);
  });
});
