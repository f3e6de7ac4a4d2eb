// A model configured with `optimization.inline_execution: true` serves the same answers over REST
// as the worker-thread default, and its config says so.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

describe('inline execution', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    dir = await makeRepository([
      ...(await simpleVariant('simple')),
      ...(await simpleVariant('simple_inline', 'optimization: { inline_execution: true }\n')),
    ]);
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  it('answers exactly as the worker-thread instance does', async () => {
    const body = JSON.stringify({
      inputs: [
        { name: 'INPUT0', shape: [2, 16], datatype: 'INT32', data: Array.from({ length: 32 }, (_, i) => i - 7) },
        { name: 'INPUT1', shape: [2, 16], datatype: 'INT32', data: Array.from({ length: 32 }, (_, i) => 3 * i) },
      ],
    });
    const answer = async (model: string) => {
      const res = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', body });
      assert.equal(res.status, 200);
      return ((await res.json()) as { outputs: unknown[] }).outputs;
    };
    const [worker, inline] = await Promise.all([answer('simple'), answer('simple_inline')]);
    assert.deepEqual(inline, worker);
    assert.deepEqual((inline[0] as { data: number[] }).data.slice(0, 3), [-7, -3, 1]);
  });

  it('reports inline_execution in the model config', async () => {
    const res = await fetch(`${server.url}/v2/models/simple_inline/config`);
    const config = (await res.json()) as { optimization: { inline_execution: boolean } };
    assert.equal(config.optimization.inline_execution, true);
  });
});
