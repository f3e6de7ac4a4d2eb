// Request-level fields are checked before any input is decoded: an empty "outputs" list means all
// outputs, binary_data_output must be a boolean, priority is bounded, and a tiny body cannot
// make the server size an array from its declared shape.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

const INPUTS = [
  { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i) },
  { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(1) },
];

describe('request parameters', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple', 'identity_uint8'],
    });
  });
  after(async () => server.close());

  const post = async (model: string, body: unknown) => {
    const res = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error?: string; outputs?: { name: string }[] } };
  };

  it('treats "outputs": [] as a request for every output', async () => {
    const r = await post('simple', { inputs: INPUTS, outputs: [] });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.outputs?.map((o) => o.name),
      ['OUTPUT0', 'OUTPUT1'],
    );
  });

  it('refuses a binary_data_output that is not a boolean', async () => {
    const r = await post('simple', { inputs: INPUTS, parameters: { binary_data_output: 'true' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'parameter "binary_data_output" must be true or false, got "true"');
  });

  it('refuses a priority above the highest level number', async () => {
    const r = await post('simple', { inputs: INPUTS, parameters: { priority: 256 } });
    assert.equal(r.status, 400);
    assert.match(r.body.error ?? '', /parameter "priority" must be 0 \(the default level\) to 255, got 256/);
    const ok = await post('simple', { inputs: INPUTS, parameters: { priority: 255 } });
    assert.equal(ok.status, 200);
  });

  it('counts nested data before allocating for a huge declared shape', async () => {
    const started = performance.now();
    const r = await post('identity_uint8', {
      inputs: [{ name: 'INPUT0', shape: [1, 60_000_000], datatype: 'UINT8', data: [[0]] }],
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "input 'INPUT0': expected 60000000 elements for shape [1,60000000] but got 1");
    assert.ok(performance.now() - started < 1000, 'refused without building a 60M-slot array');
  });
});
