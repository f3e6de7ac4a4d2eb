// runOpenAIRequest (what a batch line calls) answers what the route answers: the same objects and
// error bodies; refusals and cancellations are thrown for the caller to retry.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InferdError } from '../../../src/errors/index.js';
import { isOpenAIRequestUrl, runOpenAIRequest } from '../../../src/protocols/openai/openai-request.js';
import { FakeEngine, fakeSource } from './fake-engine.js';

const context = () => ({ requestId: 'line-1', signal: new AbortController().signal });

test('a chat body gives the chat.completion the route would send', async () => {
  const res = await runOpenAIRequest(
    fakeSource(new FakeEngine()),
    '/v1/chat/completions',
    { model: 'fake-gen', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 },
    context(),
  );
  assert.equal(res.statusCode, 200);
  const body = JSON.parse(res.bodyJson) as { object: string; choices: { message: { content: string } }[] };
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0]?.message.content, 'In t');
});

test('completions and embeddings bodies run too; stream is refused', async () => {
  const source = fakeSource(new FakeEngine());
  const cmpl = await runOpenAIRequest(
    source,
    '/v1/completions',
    { model: 'fake-gen', prompt: 'x', max_tokens: 2 },
    context(),
  );
  assert.equal((JSON.parse(cmpl.bodyJson) as { object: string }).object, 'text_completion');
  const emb = await runOpenAIRequest(source, '/v1/embeddings', { model: 'fake-embed', input: 'ab' }, context());
  assert.equal((JSON.parse(emb.bodyJson) as { data: unknown[] }).data.length, 1);
  const stream = await runOpenAIRequest(
    source,
    '/v1/completions',
    { model: 'fake-gen', prompt: 'x', stream: true },
    context(),
  );
  assert.equal(stream.statusCode, 400);
  assert.equal((JSON.parse(stream.bodyJson) as { error: { param: string } }).error.param, 'stream');
});

test('errors of the request are answered in OpenAI’s body; a full queue is thrown', async () => {
  const source = fakeSource(new FakeEngine({ maxWaiting: 0 }));
  const unknown = await runOpenAIRequest(source, '/v1/completions', { model: 'nope', prompt: 'x' }, context());
  assert.equal(unknown.statusCode, 404);
  assert.equal((JSON.parse(unknown.bodyJson) as { error: { code: string } }).error.code, 'model_not_found');
  await assert.rejects(
    runOpenAIRequest(source, '/v1/completions', { model: 'fake-gen', prompt: 'x' }, context()),
    (err: InferdError) => err.code === 'INF_ERR_QUEUE_FULL',
  );
  assert.equal(isOpenAIRequestUrl('/v1/embeddings'), true);
  assert.equal(isOpenAIRequestUrl('/v1/responses'), false);
});
