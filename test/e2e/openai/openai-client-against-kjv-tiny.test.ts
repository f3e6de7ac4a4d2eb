// The official openai client against the real server and the demo decoder kjv-tiny: a streamed
// chat (role, content, finish, usage), completions with stop strings, logprobs and n > 1, greedy
// determinism, model listing, tokenize/detokenize and embeddings.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HAS_EMBED_MODEL, startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

const PROMPT = 'In the beginning God created';

test('a streamed chat completion: role first, content deltas, one finish_reason, then usage', async () => {
  const stream = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'And God said' }],
    max_tokens: 12,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
  const body = chunks.slice(1, -2);
  assert.ok(body.length > 0, 'content chunks between role and finish');
  assert.ok(body.every((c) => c.choices[0]?.finish_reason === null && typeof c.choices[0]?.delta.content === 'string'));
  const finish = chunks.at(-2);
  assert.ok(finish?.choices[0]?.finish_reason === 'length' || finish?.choices[0]?.finish_reason === 'stop');
  const usage = chunks.at(-1);
  assert.deepEqual(usage?.choices, []);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
  assert.ok((usage?.usage?.prompt_tokens ?? 0) > 0);
  assert.ok((usage?.usage?.completion_tokens ?? 0) >= 1 && (usage?.usage?.completion_tokens ?? 0) <= 12);
  assert.equal(usage?.usage?.total_tokens, (usage?.usage?.prompt_tokens ?? 0) + (usage?.usage?.completion_tokens ?? 0));
  const streamed = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  // Greedy decoding: the same request unstreamed gives the same text.
  const whole = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'And God said' }],
    max_tokens: 12,
    temperature: 0,
  });
  assert.equal(whole.choices[0]?.message.content, streamed);
  assert.equal(whole.usage?.completion_tokens, usage?.usage?.completion_tokens);
});

test('a completion stops before its stop string, with finish_reason stop and logprobs', async () => {
  // Greedy text first, then a stop string taken from the middle of it.
  const free = await fx.client.completions.create({
    model: 'kjv-tiny',
    prompt: PROMPT,
    max_tokens: 24,
    temperature: 0,
  });
  const text = free.choices[0]?.text ?? '';
  assert.ok(text.length >= 6, `greedy text ${JSON.stringify(text)}`);
  const cut = Math.floor(text.length / 2);
  const stop = text.slice(cut, cut + 3);
  const res = await fx.client.completions.create({
    model: 'kjv-tiny',
    prompt: PROMPT,
    max_tokens: 24,
    temperature: 0,
    stop: [stop, 'zzzz'],
    logprobs: 2,
  });
  const choice = res.choices[0];
  assert.equal(choice?.finish_reason, 'stop');
  assert.equal(choice?.text, text.slice(0, text.indexOf(stop)));
  assert.ok(!(choice?.text ?? '').includes(stop));
  const lp = choice?.logprobs;
  assert.ok(lp?.tokens !== undefined && lp.token_logprobs !== undefined && lp.top_logprobs && lp.text_offset);
  assert.equal(lp.tokens.length, lp.token_logprobs.length);
  assert.equal(lp.text_offset[0], 0);
  // Each token starts where the text says: offsets never go back or past the text, and the text
  // between one offset and the next is that token's (a special token, like the chat template's
  // <|assistant|>, adds nothing; the last token may be cut by the stop string).
  const out = choice?.text ?? '';
  let added = 0;
  const offsets: number[] = lp.text_offset;
  for (const [i, offset] of offsets.entries()) {
    const next = offsets[i + 1] ?? out.length;
    assert.ok(offset >= (offsets[i - 1] ?? 0) && offset <= out.length, `offset ${offset} of ${out.length}`);
    const token: string = lp.tokens[i] ?? '';
    if (next > offset && i + 1 < offsets.length && !token.includes('\ufffd')) {
      assert.equal(out.slice(offset, next), token, `token ${i} at ${offset}`);
      added++;
    }
  }
  assert.ok(added > 0, 'tokens were checked against the text');
  for (const [i, top] of lp.top_logprobs.entries()) {
    assert.ok(Object.keys(top).length >= 2 && Object.keys(top).length <= 3);
    assert.ok((lp.token_logprobs[i] ?? 1) <= 0);
  }
});

test('n = 3 sampled with a seed gives three choices, reproducible with the same seed', async () => {
  const ask = () =>
    fx.client.completions.create({ model: 'kjv-tiny', prompt: PROMPT, max_tokens: 8, n: 3, seed: 42, temperature: 1 });
  const a = await ask();
  const b = await ask();
  assert.deepEqual(
    a.choices.map((c) => c.index),
    [0, 1, 2],
  );
  assert.deepEqual(
    a.choices.map((c) => c.text),
    b.choices.map((c) => c.text),
  );
  assert.ok((a.usage?.completion_tokens ?? 0) <= 24);
  assert.equal(a.usage?.prompt_tokens, b.usage?.prompt_tokens);
});

test('the models list has the generation model with its context length, not tensor models', async () => {
  const ids = [];
  for await (const m of fx.client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('kjv-tiny'));
  assert.ok(!ids.includes('simple'));
  const m = (await fx.client.models.retrieve('kjv-tiny')) as unknown as { id: string; max_model_len: number };
  assert.equal(m.id, 'kjv-tiny');
  assert.equal(m.max_model_len, 256);
});

test('tokenize and detokenize round trip with the model tokenizer', async () => {
  const t = await fx.post('/tokenize', { model: 'kjv-tiny', prompt: PROMPT, add_special_tokens: false });
  assert.equal(t.status, 200);
  const tokens = t.json.tokens as number[];
  assert.equal(t.json.count, tokens.length);
  assert.ok(tokens.length > 0 && tokens.length < PROMPT.length);
  const d = await fx.post('/detokenize', { model: 'kjv-tiny', tokens });
  assert.deepEqual(d.json, { prompt: PROMPT });
  // An empty list is an empty prompt, as vLLM answers (the tokenizer library itself throws on it).
  const empty = await fx.post('/detokenize', { model: 'kjv-tiny', tokens: [] });
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json, { prompt: '' });
  const usage = await fx.client.completions.create({ model: 'kjv-tiny', prompt: tokens, max_tokens: 1 });
  assert.equal(usage.usage?.prompt_tokens, tokens.length);
});

test('embeddings in float and base64 are equal', { skip: !HAS_EMBED_MODEL && 'kjv-embed is not built' }, async () => {
  const input = ['In the beginning', 'Jesus wept.'];
  const float = await fx.client.embeddings.create({ model: 'kjv-embed', input, encoding_format: 'float' });
  const base64 = await fx.client.embeddings.create({ model: 'kjv-embed', input });
  assert.equal(float.data.length, 2);
  assert.deepEqual(
    base64.data.map((d) => d.embedding),
    float.data.map((d) => d.embedding),
  );
  const vector = float.data[0]?.embedding ?? [];
  assert.ok(vector.length > 0);
  // kjv-embed normalizes: unit length.
  assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-4);
  const counted = await fx.post('/tokenize', { model: 'kjv-embed', prompt: input[0] });
  const counted2 = await fx.post('/tokenize', { model: 'kjv-embed', prompt: input[1] });
  assert.equal(float.usage.prompt_tokens, (counted.json.count as number) + (counted2.json.count as number));
  const model = (await fx.client.models.retrieve('kjv-embed')) as unknown as { max_model_len: number };
  assert.equal(model.max_model_len, 128);
});

test(
  "embeddings refuse other dimensions and inputs over the model's max_tokens",
  { skip: !HAS_EMBED_MODEL && 'kjv-embed is not built' },
  async () => {
    const dims = await fx.post('/v1/embeddings', { model: 'kjv-embed', input: 'x', dimensions: 3 });
    assert.equal(dims.status, 400);
    assert.equal((dims.json.error as { param: string }).param, 'dimensions');
    const long = await fx.post('/v1/embeddings', { model: 'kjv-embed', input: ['Amen.', 'and the '.repeat(200)] });
    assert.equal(long.status, 400);
    const error = long.json.error as { param: string; code: string; message: string };
    assert.equal(error.param, 'input[1]');
    assert.equal(error.code, 'context_length_exceeded');
    assert.match(
      error.message,
      /^This model's maximum context length is 128 tokens\. However, you requested \d+ tokens in the input/,
    );
  },
);
