// The official openai client reads every response shape of the edge (over a scripted engine):
// chat and completions whole and streamed, logprobs, n > 1, usage, embeddings, model listing.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startFakeApi, type FakeEngine } from './fake-engine.js';

const SCRIPT = 'In the beginning God created the heaven and the earth.';
let client: OpenAI;
let engine: FakeEngine;
let close: () => Promise<void>;

before(async () => {
  const api = await startFakeApi();
  client = new OpenAI({ baseURL: api.url + '/v1', apiKey: 'x', maxRetries: 0 });
  engine = api.engine;
  close = () => api.app.close();
});
after(() => close());

test('a chat completion is a chat.completion with usage and the engine got the validated sampling', async () => {
  const res = await client.chat.completions.create({
    model: 'fake-gen',
    messages: [
      { role: 'developer', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Gen' },
          { type: 'text', text: 'esis' },
        ],
      },
    ],
    max_completion_tokens: 8,
    top_p: 0.9,
    seed: 7,
    stop: ['zzz'],
    logit_bias: { '65': -100 },
  });
  assert.match(res.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.model, 'fake-gen');
  assert.equal(typeof res.created, 'number');
  assert.equal(res.choices.length, 1);
  assert.deepEqual(res.choices[0]?.message, { role: 'assistant', content: SCRIPT.slice(0, 8), refusal: null });
  assert.equal(res.choices[0]?.finish_reason, 'length');
  assert.equal(res.choices[0]?.logprobs, null);
  const prompt = '<system>Be brief.<user>Genesis<assistant>';
  assert.deepEqual(res.usage, {
    prompt_tokens: prompt.length,
    completion_tokens: 8,
    total_tokens: prompt.length + 8,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  const request = engine.requests.at(-1);
  assert.deepEqual(
    request?.promptTokenIds,
    [...prompt].map((c) => c.charCodeAt(0)),
  );
  assert.equal(request?.sampling.maxTokens, 8);
  assert.equal(request?.sampling.temperature, 0.7, "generation_config's default applies");
  assert.equal(request?.sampling.topP, 0.9);
  assert.equal(request?.sampling.seed, 7);
  assert.deepEqual(request?.sampling.stop, ['zzz']);
  assert.deepEqual([...(request?.sampling.logitBias ?? [])], [[65, -100]]);
  assert.equal(request?.sampling.logprobs, undefined);
});

test('a streamed chat sends role first, then content, then finish_reason, then usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'fake-gen',
    messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 5,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const first = chunks[0];
  assert.deepEqual(first?.choices[0]?.delta, { role: 'assistant', content: '' });
  assert.equal(first?.usage, null);
  const ids = new Set(chunks.map((c) => c.id));
  assert.equal(ids.size, 1, 'one id for every chunk');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
  assert.equal(content, 'In th');
  const finals = chunks.filter((c) => c.choices[0]?.finish_reason != null);
  assert.equal(finals.length, 1);
  assert.equal(finals[0]?.choices[0]?.finish_reason, 'length');
  const last = chunks.at(-1);
  assert.deepEqual(last?.choices, []);
  assert.equal(last?.usage?.completion_tokens, 5);
  assert.equal(last?.usage?.prompt_tokens, '<user>Hi<assistant>'.length);
  assert.ok(finals[0] !== undefined && chunks.indexOf(finals[0]) < chunks.length - 1, 'usage comes after the finish');
});

test('a streamed chat with n = 2 gives each choice its role, content and finish', async () => {
  const stream = await client.chat.completions.create({
    model: 'fake-gen',
    messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 3,
    n: 2,
    stream: true,
  });
  const text = ['', ''];
  const roles = [0, 0];
  const finishes: (string | null | undefined)[] = [undefined, undefined];
  for await (const chunk of stream) {
    assert.equal(chunk.usage, undefined, 'no usage field without include_usage');
    for (const ch of chunk.choices) {
      if (ch.delta.role === 'assistant') roles[ch.index]! += 1;
      text[ch.index] += ch.delta.content ?? '';
      if (ch.finish_reason !== null) finishes[ch.index] = ch.finish_reason;
    }
  }
  assert.deepEqual(roles, [1, 1]);
  assert.deepEqual(text, ['In ', 'In ']);
  assert.deepEqual(finishes, ['length', 'length']);
});

test('chat logprobs come in the content/top_logprobs shape with bytes', async () => {
  const res = await client.chat.completions.create({
    model: 'fake-gen',
    messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 2,
    logprobs: true,
    top_logprobs: 2,
  });
  assert.deepEqual(res.choices[0]?.logprobs?.content, [
    {
      token: 'I',
      logprob: -0.5,
      bytes: [73],
      top_logprobs: [
        { token: 'I', logprob: -0.5, bytes: [73] },
        { token: 'J', logprob: -1.5, bytes: [74] },
      ],
    },
    {
      token: 'n',
      logprob: -0.5,
      bytes: [110],
      top_logprobs: [
        { token: 'n', logprob: -0.5, bytes: [110] },
        { token: 'o', logprob: -1.5, bytes: [111] },
      ],
    },
  ]);
  assert.equal(engine.requests.at(-1)?.sampling.logprobs, 2);
});

test('a completion stops at a stop string, leaves it out and reports logprobs with text offsets', async () => {
  const res = await client.completions.create({
    model: 'fake-gen',
    prompt: 'Genesis 1:1',
    max_tokens: 40,
    stop: [' God'],
    logprobs: 1,
  });
  assert.match(res.id, /^cmpl-/);
  assert.equal(res.object, 'text_completion');
  const choice = res.choices[0];
  assert.equal(choice?.text, 'In the beginning');
  assert.equal(choice?.finish_reason, 'stop');
  assert.equal(choice?.logprobs?.tokens?.join(''), choice?.text);
  assert.deepEqual(choice?.logprobs?.text_offset?.slice(0, 3), [0, 1, 2]);
  assert.deepEqual(choice?.logprobs?.top_logprobs?.[0], { I: -0.5 });
  assert.equal(res.usage?.prompt_tokens, 'Genesis 1:1'.length + 1);
});

test('completions take a list of prompts with n each, numbered prompt-major, and echo', async () => {
  const res = await client.completions.create({
    model: 'fake-gen',
    prompt: ['A', 'BC'],
    n: 2,
    max_tokens: 2,
    echo: true,
  });
  assert.deepEqual(
    res.choices.map((c) => [c.index, c.text]),
    [
      [0, 'AIn'],
      [1, 'AIn'],
      [2, 'BCIn'],
      [3, 'BCIn'],
    ],
  );
  // Each prompt counted once, with its BOS: 2 + 3.
  assert.equal(res.usage?.prompt_tokens, 5);
  assert.equal(res.usage?.completion_tokens, 8);
});

test('a prompt given as token ids is sent as is and echoed decoded', async () => {
  const res = await client.completions.create({
    model: 'fake-gen',
    prompt: [[66, 67], [68]],
    max_tokens: 1,
    echo: true,
  });
  assert.deepEqual(
    res.choices.map((c) => c.text),
    ['BCI', 'DI'],
  );
  assert.deepEqual(
    engine.requests.slice(-2).map((r) => r.promptTokenIds),
    [[66, 67], [68]],
  );
});

test('n > 1 with a seed gives each choice its own seed', async () => {
  await client.chat.completions.create({
    model: 'fake-gen',
    messages: [{ role: 'user', content: 'x' }],
    n: 3,
    seed: 10,
    max_tokens: 1,
  });
  assert.deepEqual(
    engine.requests.slice(-3).map((r) => r.sampling.seed),
    [10, 11, 12],
  );
});

test('a streamed completion ends with finish_reason and the client sees [DONE]', async () => {
  const stream = await client.completions.create({ model: 'fake-gen', prompt: 'x', max_tokens: 4, stream: true });
  let text = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    text += chunk.choices[0]?.text ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, 'In t');
  assert.equal(finish, 'length');
});

test('embeddings come as floats and as base64, equal, with usage', async () => {
  const float = await client.embeddings.create({ model: 'fake-embed', input: ['ab', 'c'], encoding_format: 'float' });
  // The client asks for base64 when no format is given and decodes it to floats.
  const base64 = await client.embeddings.create({ model: 'fake-embed', input: ['ab', 'c'] });
  assert.equal(float.object, 'list');
  assert.equal(float.data.length, 2);
  assert.equal(float.data[1]?.object, 'embedding');
  assert.equal(float.data[1]?.index, 1);
  assert.deepEqual(
    base64.data.map((d) => d.embedding),
    float.data.map((d) => d.embedding),
  );
  assert.deepEqual(float.data[0]?.embedding.slice(0, 2), [3, Math.fround((1 + 97 + 98) / 1000)]);
  assert.deepEqual(float.usage, { prompt_tokens: 5, total_tokens: 5 });
});

test('models lists the generation and embedding models, not tensor models', async () => {
  const list = [];
  for await (const m of client.models.list()) list.push(m);
  assert.deepEqual(
    list.map((m) => [m.id, m.object, m.owned_by]),
    [
      ['fake-gen', 'model', 'inferd'],
      ['fake-embed', 'model', 'inferd'],
    ],
  );
  const one = await client.models.retrieve('fake-gen');
  assert.equal((one as unknown as { max_model_len: number }).max_model_len, 64);
  await assert.rejects(client.models.retrieve('tensor'), (err: InstanceType<typeof OpenAI.NotFoundError>) => {
    assert.equal(err.status, 404);
    return true;
  });
});
