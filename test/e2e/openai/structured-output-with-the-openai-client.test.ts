// Structured output through the official openai client against the real server and kjv-tiny: the
// SDK's chat.completions.parse with a zod schema gets a parsed object back; json_object, and vLLM's
// guided_regex, guided_choice, guided_grammar and structured_outputs, streamed and not, give text
// inside the constraint; a schema, regex or grammar the engine cannot enforce is a 400 in OpenAI's
// error shape naming the field, and the server serves on.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APIError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

const messages = [{ role: 'user' as const, content: 'Who begat Enos?' }];

test('chat.completions.parse with a zod schema returns the parsed object', async () => {
  const Person = z.object({
    name: z.string().max(16),
    age: z.number().int().min(0).max(999),
    faithful: z.boolean(),
    tribe: z.enum(['Judah', 'Levi', 'Dan']),
  });
  const completion = await fx.client.chat.completions.parse({
    model: 'kjv-tiny',
    messages,
    temperature: 0,
    max_tokens: 120,
    response_format: zodResponseFormat(Person, 'person'),
  });
  const choice = completion.choices[0];
  assert.equal(choice?.finish_reason, 'stop');
  const parsed = choice?.message.parsed;
  assert.ok(parsed !== null && parsed !== undefined);
  assert.deepEqual(Person.parse(parsed), parsed);
  assert.equal(typeof parsed.name, 'string');
});

test('json_object gives a JSON object, streamed the same as whole', async () => {
  const request = {
    model: 'kjv-tiny',
    messages,
    temperature: 0,
    max_tokens: 60,
    response_format: { type: 'json_object' as const },
  };
  const whole = await fx.client.chat.completions.create(request);
  const stream = await fx.client.chat.completions.create({ ...request, stream: true });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
  assert.equal(streamed, whole.choices[0]?.message.content);
  if (whole.choices[0]?.finish_reason === 'stop') {
    const value: unknown = JSON.parse(streamed);
    assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value));
  } else assert.match(streamed, /^\{/);
});

test('guided_regex on completions, streamed and not, matches the whole text', async () => {
  const body = {
    model: 'kjv-tiny',
    prompt: 'And Seth lived',
    max_tokens: 40,
    temperature: 0,
    guided_regex: '[0-9]{2,3} years, and begat [A-Z][a-z]+\\.',
  };
  const whole = await fx.client.completions.create(body);
  assert.match(whole.choices[0]?.text ?? '', /^[0-9]{2,3} years, and begat [A-Z][a-z]+\.$/);
  assert.equal(whole.choices[0]?.finish_reason, 'stop');
  const stream = await fx.client.completions.create({ ...body, stream: true });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
  assert.equal(streamed, whole.choices[0]?.text);
});

test('guided_choice and structured_outputs.choice pick one of the strings, at every seed', async () => {
  const choices = ['Seth', 'Enos', 'Cainan'];
  for (const seed of [1, 2, 3]) {
    const a = await fx.client.chat.completions.create({
      model: 'kjv-tiny',
      messages,
      temperature: 1,
      seed,
      guided_choice: choices,
    } as Parameters<typeof fx.client.chat.completions.create>[0] & { stream?: false });
    assert.ok(choices.includes(a.choices[0]?.message.content ?? ''), a.choices[0]?.message.content ?? '');
    const stream = await fx.client.chat.completions.create({
      model: 'kjv-tiny',
      messages,
      temperature: 1,
      seed,
      stream: true,
      structured_outputs: { choice: choices },
    } as Parameters<typeof fx.client.chat.completions.create>[0] & { stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.ok(choices.includes(text), text);
  }
});

test('guided_grammar (EBNF) shapes the text', async () => {
  const completion = await fx.client.completions.create({
    model: 'kjv-tiny',
    prompt: 'And God said',
    max_tokens: 40,
    temperature: 0,
    guided_grammar: 'root ::= ("Let there be " word ".") \nword ::= [a-z]{2,8}',
  } as Parameters<typeof fx.client.completions.create>[0] & { stream?: false });
  assert.match(completion.choices[0]?.text ?? '', /^Let there be [a-z]{2,8}\.$/);
});

test('a bad regex, a schema xgrammar refuses and a broken grammar are 400s naming the field', async () => {
  const refusals: [Record<string, unknown>, string, RegExp][] = [
    [{ guided_regex: '[0-9' }, 'guided_regex', /regular expression is not valid/],
    [{ guided_regex: '(?=a)b' }, 'guided_regex', /Lookahead is not supported/],
    [{ guided_grammar: 'root ::= word' }, 'guided_grammar', /"word" is not defined/],
    [
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'date' } } } },
      'response_format.json_schema.schema',
      /Unsupported type "date"/,
    ],
  ];
  for (const [extra, param, message] of refusals) {
    await assert.rejects(
      fx.client.chat.completions.create({
        model: 'kjv-tiny',
        messages,
        max_tokens: 8,
        ...extra,
      } as Parameters<typeof fx.client.chat.completions.create>[0] & { stream?: false }),
      (err: unknown) => {
        assert.ok(err instanceof APIError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.param, param);
        assert.match(err.message, message);
        return true;
      },
    );
  }
  // Streamed too: refused before the stream opens, with a status.
  const res = await fx.post('/v1/chat/completions', {
    model: 'kjv-tiny',
    messages,
    stream: true,
    guided_regex: '[0-9',
  });
  assert.equal(res.status, 400);
  assert.equal((res.json['error'] as Record<string, unknown>)['param'], 'guided_regex');
  const after = await fx.client.chat.completions.create({ model: 'kjv-tiny', messages, max_tokens: 4 });
  assert.equal(after.choices.length, 1);
});
