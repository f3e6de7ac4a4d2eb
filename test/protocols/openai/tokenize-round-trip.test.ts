// vLLM's /tokenize and /detokenize: prompt or chat messages to ids and back, with the context length.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeApi } from './fake-engine.js';

let url: string;
let close: () => Promise<void>;
before(async () => {
  const api = await startFakeApi();
  url = api.url;
  close = () => api.app.close();
});
after(() => close());

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('tokenize then detokenize gives the prompt back', async () => {
  const t = await post('/tokenize', {
    model: 'fake-gen',
    prompt: 'Amen',
    add_special_tokens: false,
    return_token_strs: true,
  });
  assert.equal(t.status, 200);
  assert.deepEqual(t.json, {
    count: 4,
    max_model_len: 64,
    tokens: [65, 109, 101, 110],
    token_strs: ['A', 'm', 'e', 'n'],
  });
  const d = await post('/detokenize', { model: 'fake-gen', tokens: t.json.tokens });
  assert.deepEqual(d.json, { prompt: 'Amen' });
});

test('tokenize adds special tokens to a prompt by default and renders messages with the chat template', async () => {
  const p = await post('/tokenize', { model: 'fake-gen', prompt: 'A' });
  assert.deepEqual(p.json.tokens, [1, 65]);
  const m = await post('/tokenize', { model: 'fake-gen', messages: [{ role: 'user', content: 'A' }] });
  assert.equal(m.json.count, '<user>A<assistant>'.length);
});

test('tokenize refuses both or neither of prompt and messages; detokenize refuses ids outside the vocabulary', async () => {
  const both = await post('/tokenize', { model: 'fake-gen', prompt: 'A', messages: [{ role: 'user', content: 'A' }] });
  assert.equal(both.status, 400);
  assert.match(String((both.json.error as Record<string, unknown>).message), /either "prompt"/);
  const bad = await post('/detokenize', { model: 'fake-gen', tokens: [70, 4000] });
  assert.equal(bad.status, 400);
  assert.deepEqual((bad.json.error as Record<string, unknown>).param, 'tokens');
  const unknown = await post('/detokenize', { model: 'nope', tokens: [1] });
  assert.equal(unknown.status, 404);
});
