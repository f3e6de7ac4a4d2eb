// Deeply nested JSON is the client's mistake, answered 400 on every JSON edge: a body nested past
// the limit names the limit, and a nested value under it is described in a few characters in the
// error (describing it used to overflow the stack: a 500). The server keeps serving.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { A16, B16, inferSimple } from '../repository/fixtures.js';

const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const DEEP = nested(100_000);
const UNDER_LIMIT = nested(50);

async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text() };
}

describe('deeply nested JSON', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple', 'kjv-tiny'],
    });
  });

  after(async () => {
    await server.close();
  });

  const inputs = `[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":${JSON.stringify(A16)}},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":${JSON.stringify(B16)}}]`;

  it('v2 infer: past the limit names it; under it the value is described briefly', async () => {
    const deep = await post(`${server.url}/v2/models/simple/infer`, `{"id":${DEEP},"inputs":${inputs}}`);
    assert.equal(deep.status, 400);
    assert.match(deep.text, /deeper than 64 levels/);

    const param = await post(
      `${server.url}/v2/models/simple/infer`,
      `{"inputs":${inputs},"parameters":{"priority":${UNDER_LIMIT}}}`,
    );
    assert.equal(param.status, 400);
    assert.match(param.text, /priority/);
    assert.ok(param.text.length < 400, `a short message: ${param.text}`);

    const id = await post(`${server.url}/v2/models/simple/infer`, `{"id":${UNDER_LIMIT},"inputs":${inputs}}`);
    assert.equal(id.status, 400);
    assert.equal((JSON.parse(id.text) as { error: string }).error, 'request "id" must be a string, got [[[[[...]]]]]');
  });

  it('OpenAI: past the limit names it; under it the field is described briefly', async () => {
    const deep = await post(`${server.url}/v1/chat/completions`, `{"model":"kjv-tiny","messages":${DEEP}}`);
    assert.equal(deep.status, 400);
    assert.match(deep.text, /deeper than 64 levels/);
    const model = await post(
      `${server.url}/v1/chat/completions`,
      `{"model":${UNDER_LIMIT},"messages":[{"role":"user","content":"hi"}]}`,
    );
    assert.equal(model.status, 400);
    assert.ok(model.text.length < 600, model.text);
  });

  it('detokenize: an empty list is an empty prompt, as vLLM answers', async () => {
    const res = await post(`${server.url}/detokenize`, '{"model":"kjv-tiny","tokens":[]}');
    assert.deepEqual([res.status, JSON.parse(res.text)], [200, { prompt: '' }]);
  });

  it('keeps serving and logs no internal error', async () => {
    const reply = await inferSimple(server.url, 'simple', A16, B16);
    assert.equal(reply.status, 200);
    assert.ok(!server.logs.some((l) => Number(l.level) >= 50), 'no error-level log line');
  });
});
