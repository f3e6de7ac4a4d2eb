// Errors of the OpenAI edge on the real server, in OpenAI's body: context overflow counted with the
// model's tokenizer, stream_options without stream, unknown and tensor models, unknown /v1 routes
// (shared with the batch API), and the KServe routes untouched.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

test('prompt plus max_tokens over the context length is a 400 with the counts', async () => {
  const prompt = 'And the earth was without form, and void.';
  const t = await fx.post('/tokenize', { model: 'kjv-tiny', prompt });
  const p = t.json.count as number;
  const res = await fx.post('/v1/completions', { model: 'kjv-tiny', prompt, max_tokens: 250 });
  assert.equal(res.status, 400);
  const { error } = res.json as ErrorBody;
  assert.equal(error.type, 'invalid_request_error');
  assert.equal(error.code, 'context_length_exceeded');
  assert.equal(
    error.message,
    `This model's maximum context length is 256 tokens. However, you requested ${p + 250} tokens (${p} in the prompt, 250 in the completion). Please reduce the length of the prompt or completion.`,
  );
});

test('stream_options without stream is a 400 naming stream_options', async () => {
  const res = await fx.post('/v1/chat/completions', {
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'x' }],
    stream_options: { include_usage: true },
  });
  assert.equal(res.status, 400);
  assert.equal((res.json as ErrorBody).error.param, 'stream_options');
});

test('an unknown model is a 404 model_not_found; a tensor model names its v2 endpoint', async () => {
  const unknown = await fx.post('/v1/chat/completions', {
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'x' }],
  });
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.json, {
    error: {
      message: "The model 'gpt-4o' does not exist.",
      type: 'not_found_error',
      param: 'model',
      code: 'model_not_found',
    },
  });
  const tensor = await fx.post('/v1/completions', { model: 'simple', prompt: 'x' });
  assert.equal(tensor.status, 400);
  assert.match((tensor.json as ErrorBody).error.message, /POST \/v2\/models\/simple\/infer/);
});

test('unknown /v1 routes are OpenAI-shaped 404s beside the batch API; v2 infer on a generation model is refused', async () => {
  const res = await fetch(fx.server.url + '/v1/nothing-here');
  assert.equal(res.status, 404);
  const body = (await res.json()) as ErrorBody;
  assert.equal(body.error.type, 'not_found_error');
  const files = await fetch(fx.server.url + '/v1/files');
  assert.equal(files.status, 200, 'the batch API still serves /v1/files');
  const v2 = await fetch(fx.server.url + '/v2/models/kjv-tiny/infer', {
    method: 'POST',
    body: JSON.stringify({ inputs: [] }),
  });
  assert.equal(v2.status, 400);
});
