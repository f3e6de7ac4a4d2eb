// Server logs are JSON lines (level, time, msg). Every line about a request carries its
// request_id, which the response returns in x-request-id; load failures log the model and issues.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { A16, B16, brokenAddModel, request, type HttpResult } from '../repository/fixtures.js';

async function post(url: string, body: unknown): Promise<HttpResult> {
  return request(url, { method: 'POST', body });
}

describe('JSON logs', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...simpleModel(),
      ...brokenAddModel('broken'),
      { path: 'misconfigured/1/model.onnx', bytes: simpleModel()[0]?.bytes ?? '' },
      { path: 'misconfigured/config.yaml', bytes: 'max_batch_size: eight\n' },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('logs a model load failure at error level with the model, its issues and the reason', () => {
    const line = server.logs.find((l) => l.model === 'misconfigured' && l.level === 50);
    assert.ok(line !== undefined);
    assert.match(String(line.msg), /^model failed to load: .*misconfigured\/config\.yaml: max_batch_size: /);
    assert.deepEqual(
      (line.issues as { field: string }[]).map((i) => i.field),
      ['max_batch_size'],
    );
  });

  it('logs a 500 at error level under the request id returned in x-request-id', async () => {
    const res = await post(`${server.url}/v2/models/broken/infer`, {
      inputs: [
        { name: 'A', datatype: 'FP32', shape: [3], data: [1, 2, 3] },
        { name: 'B', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] },
      ],
    });
    assert.equal(res.status, 500);
    const id = res.headers.get('x-request-id');
    assert.ok(id !== null && id !== '');
    // The client's error names the id too, so a report leads straight to the log line.
    assert.ok(res.text.endsWith(`(request id ${id})"}`), res.text);
    const lines = server.logs.filter((l) => l.request_id === id);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const [line] = lines;
    assert.equal(line?.level, 50);
    assert.equal(line?.code, 'INF_ERR_RUNTIME');
    assert.match(String(line?.msg), /^onnxruntime failed: .*Add/s);
    assert.equal((line?.err as { type?: string } | undefined)?.type, 'InferdError');
    // No line about this failure lacks the id.
    const about = server.logs.filter((l) => String(l.msg).startsWith('onnxruntime failed'));
    assert.deepEqual(
      about.map((l) => l.request_id),
      [id],
    );
  });

  it('logs a client error at info level, without a stack, under its request id', async () => {
    const res = await post(`${server.url}/v2/models/simple/infer`, {
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: A16 }],
    });
    assert.equal(res.status, 400);
    const id = res.headers.get('x-request-id');
    const line = server.logs.find((l) => l.request_id === id);
    assert.equal(line?.level, 30);
    assert.equal(line?.code, 'INF_ERR_INVALID_ARGUMENT');
    assert.equal(line?.err, undefined);
    assert.equal(line?.msg, (JSON.parse(res.text) as { error: string }).error);
  });

  it('returns a distinct x-request-id on every response, successful or not', async () => {
    const ids = await Promise.all(
      [
        post(`${server.url}/v2/models/simple/infer`, {
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: A16 },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: B16 },
          ],
        }),
        request(`${server.url}/v2/health/ready`),
        request(`${server.url}/v2/models/absent`),
        request(`${server.url}/no/such/route`),
      ].map(async (p) => (await p).headers.get('x-request-id')),
    );
    for (const id of ids) assert.match(String(id), /^[0-9a-z]+-[0-9a-z]+$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('wrote every line so far, requests included, as JSON with a numeric level, an ISO time and a message', () => {
    assert.ok(server.logs.length > 0);
    for (const line of server.logs) {
      assert.equal(line.raw, undefined, `not JSON: ${String(line.raw)}`);
      assert.equal(typeof line.level, 'number');
      assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(typeof line.msg, 'string');
      assert.equal(line.service, 'inferd');
    }
  });
});
