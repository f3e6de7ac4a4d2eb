// The official openai client's Responses API against the real server and the demo decoder
// kjv-tiny: a response as a chat completion of the same conversation would give it, instructions,
// a previous_response_id chain, store false then 404, streamed events in OpenAI's order whose
// deltas join to the final text, max_output_tokens as an incomplete response, the stored
// response's routes (retrieve, input items, delete), and refusals in OpenAI's error shape.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

/** The greedy chat completion of these messages: what the response must say. */
async function chatText(messages: OpenAI.ChatCompletionMessageParam[], maxTokens: number): Promise<string> {
  const res = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages,
    max_tokens: maxTokens,
    temperature: 0,
  });
  return res.choices[0]?.message.content ?? '';
}

test('responses.create answers with the text the same chat would give, as a Response object', async () => {
  const res = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'And God said',
    max_output_tokens: 12,
    temperature: 0,
  });
  assert.match(res.id, /^resp_[0-9a-f]{48}$/);
  assert.equal(res.object, 'response');
  assert.equal(res.model, 'kjv-tiny');
  assert.ok(res.status === 'completed' || res.status === 'incomplete');
  assert.equal(res.output.length, 1);
  const item = res.output[0];
  assert.equal(item?.type, 'message');
  assert.ok(item?.type === 'message' && item.role === 'assistant' && item.content[0]?.type === 'output_text');
  const expected = await chatText([{ role: 'user', content: 'And God said' }], 12);
  assert.ok(expected.length > 0);
  assert.equal(res.output_text, expected);
  assert.ok((res.usage?.input_tokens ?? 0) > 0);
  assert.ok((res.usage?.output_tokens ?? 0) >= 1 && (res.usage?.output_tokens ?? 0) <= 12);
  assert.equal(res.usage?.total_tokens, (res.usage?.input_tokens ?? 0) + (res.usage?.output_tokens ?? 0));
  assert.equal(res.usage?.input_tokens_details.cached_tokens !== undefined, true);
  assert.equal(res.temperature, 0);
  assert.equal(res.max_output_tokens, 12);
  // The SDK's type leaves `store` out; the API reference's Response carries it.
  assert.equal((res as unknown as { store: boolean }).store, true);
});

test('instructions go first as the system message, and are echoed', async () => {
  const res = await fx.client.responses.create({
    model: 'kjv-tiny',
    instructions: 'Answer as the prophet Isaiah.',
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'Who is the Lord' }] }],
    max_output_tokens: 10,
    temperature: 0,
  });
  assert.equal(res.instructions, 'Answer as the prophet Isaiah.');
  const expected = await chatText(
    [
      { role: 'system', content: 'Answer as the prophet Isaiah.' },
      { role: 'user', content: 'Who is the Lord' },
    ],
    10,
  );
  assert.equal(res.output_text, expected);
});

test('max_output_tokens cuts the response: status incomplete with the reason', async () => {
  const res = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'In the beginning',
    max_output_tokens: 2,
    temperature: 0,
    metadata: { run: 'one' },
  });
  assert.equal(res.status, 'incomplete');
  assert.deepEqual(res.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal(res.usage?.output_tokens, 2);
  assert.equal(res.output[0]?.type === 'message' ? res.output[0].status : undefined, 'incomplete');
  assert.deepEqual(res.metadata, { run: 'one' });
});

test('previous_response_id continues the conversation: earlier input and output come first', async () => {
  const first = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'And God said',
    max_output_tokens: 6,
    temperature: 0,
  });
  const second = await fx.client.responses.create({
    model: 'kjv-tiny',
    previous_response_id: first.id,
    input: 'And the earth',
    max_output_tokens: 6,
    temperature: 0,
  });
  assert.equal(second.previous_response_id, first.id);
  const expected = await chatText(
    [
      { role: 'user', content: 'And God said' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'And the earth' },
    ],
    6,
  );
  assert.equal(second.output_text, expected);
  // The chain saw more than this request's own input.
  const alone = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'And the earth',
    max_output_tokens: 6,
    temperature: 0,
    store: false,
  });
  assert.ok((second.usage?.input_tokens ?? 0) > (alone.usage?.input_tokens ?? 0));
});

test('store false keeps nothing: retrieving or chaining from it is a 404 in OpenAI shape', async () => {
  const res = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'And God said',
    max_output_tokens: 3,
    store: false,
  });
  assert.equal((res as unknown as { store: boolean }).store, false);
  await assert.rejects(fx.client.responses.retrieve(res.id), (err: unknown) => {
    assert.ok(err instanceof OpenAI.NotFoundError);
    assert.equal(err.status, 404);
    assert.match(err.message, new RegExp(`Response with id '${res.id}' not found`));
    return true;
  });
  const chained = await fx.post('/v1/responses', {
    model: 'kjv-tiny',
    previous_response_id: res.id,
    input: 'More',
  });
  assert.equal(chained.status, 404);
  assert.deepEqual(chained.json['error'], {
    message: `Previous response with id '${res.id}' not found.`,
    type: 'not_found_error',
    param: 'previous_response_id',
    code: 'previous_response_not_found',
  });
});

test('a stored response is retrieved, lists its input items and is deleted', async () => {
  const res = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: [
      { role: 'user', content: 'And God said' },
      { role: 'assistant', content: 'Let there be light' },
      { role: 'user', content: 'And there was' },
    ],
    max_output_tokens: 4,
    temperature: 0,
  });
  const got = await fx.client.responses.retrieve(res.id);
  assert.equal(got.id, res.id);
  assert.equal(got.output_text, res.output_text);
  const items = await fx.client.responses.inputItems.list(res.id, { order: 'asc' });
  const texts = items.data.map((i) =>
    i.type === 'message' ? i.content.map((c) => ('text' in c ? c.text : '')).join('') : '',
  );
  assert.deepEqual(texts, ['And God said', 'Let there be light', 'And there was']);
  assert.deepEqual(
    items.data.map((i) => (i.type === 'message' ? i.role : i.type)),
    ['user', 'assistant', 'user'],
  );
  const newestFirst = await fx.client.responses.inputItems.list(res.id, { limit: 1 });
  assert.equal(newestFirst.data.length, 1);
  assert.equal(newestFirst.data[0]?.id, items.data[2]?.id);
  assert.equal(newestFirst.has_more, true);
  await fx.client.responses.delete(res.id);
  await assert.rejects(fx.client.responses.retrieve(res.id), OpenAI.NotFoundError);
  await assert.rejects(fx.client.responses.delete(res.id), OpenAI.NotFoundError);
});

test('responses.stream: events in OpenAI order, numbered, deltas joining to the final text', async () => {
  const stream = fx.client.responses.stream({
    model: 'kjv-tiny',
    input: 'And God said',
    max_output_tokens: 12,
    temperature: 0,
  });
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  const final = await stream.finalResponse();
  const types = events.map((e) => e.type);
  const deltas = events.filter((e) => e.type === 'response.output_text.delta');
  assert.ok(deltas.length > 0);
  const last = types.at(-1);
  assert.ok(last === 'response.completed' || last === 'response.incomplete');
  assert.deepEqual(types, [
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.content_part.added',
    ...deltas.map(() => 'response.output_text.delta'),
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    last,
  ]);
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  const joined = deltas.map((e) => e.delta).join('');
  assert.equal(final.output_text, joined);
  const done = events.find((e) => e.type === 'response.output_text.done');
  assert.equal(done?.type === 'response.output_text.done' ? done.text : undefined, joined);
  assert.equal(final.id, events[0]?.type === 'response.created' ? events[0].response.id : undefined);
  assert.ok((final.usage?.output_tokens ?? 0) > 0);
  // Greedy: the same text as the response not streamed, and the streamed one was stored.
  const whole = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'And God said',
    max_output_tokens: 12,
    temperature: 0,
  });
  assert.equal(whole.output_text, joined);
  assert.equal((await fx.client.responses.retrieve(final.id)).output_text, joined);
});

test('the raw stream names each event and ends without [DONE], as OpenAI streams responses', async () => {
  const res = await fetch(fx.server.url + '/v1/responses', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'kjv-tiny', input: 'And God', max_output_tokens: 3, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const text = await res.text();
  const blocks = text.split('\n\n').filter((b) => b !== '');
  assert.ok(blocks.length >= 8);
  for (const block of blocks) {
    const [eventLine, dataLine] = block.split('\n');
    const type = (JSON.parse(dataLine?.slice('data: '.length) ?? '') as { type: string }).type;
    assert.equal(eventLine, `event: ${type}`);
  }
  assert.ok(!text.includes('[DONE]'));
});

test('hosted tools are refused by name, with a 400 in OpenAI shape', async () => {
  await assert.rejects(
    fx.client.responses.create({ model: 'kjv-tiny', input: 'hi', tools: [{ type: 'web_search' }] }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.match(err.message, /The tool type 'web_search' is not supported: this server runs only function tools/);
      assert.equal(err.param, 'tools[0]');
      return true;
    },
  );
  const res = await fx.post('/v1/responses', {
    model: 'kjv-tiny',
    input: 'hi',
    tools: [
      { type: 'function', name: 'f', parameters: {} },
      { type: 'code_interpreter', container: { type: 'auto' } },
    ],
  });
  assert.equal(res.status, 400);
  const error = res.json['error'] as Record<string, unknown>;
  assert.equal(error['type'], 'invalid_request_error');
  assert.equal(error['param'], 'tools[1]');
  assert.match(String(error['message']), /'code_interpreter'/);
});

test('unknown fields and bad values are a 400 naming them, and the server keeps serving', async () => {
  const unknown = await fx.post('/v1/responses', { model: 'kjv-tiny', input: 'hi', temprature: 0 });
  assert.equal(unknown.status, 400);
  assert.deepEqual(unknown.json['error'], {
    message: 'Unrecognized request argument supplied: temprature',
    type: 'invalid_request_error',
    param: 'temprature',
    code: 'unknown_parameter',
  });
  const nested = await fx.post('/v1/responses', {
    model: 'kjv-tiny',
    input: [{ role: 'user', content: 'hi', colour: 'red' }],
  });
  assert.equal(nested.status, 400);
  assert.equal((nested.json['error'] as Record<string, unknown>)['param'], 'input[0].colour');
  const badRole = await fx.post('/v1/responses', { model: 'kjv-tiny', input: [{ role: 'robot', content: 'hi' }] });
  assert.equal(badRole.status, 400);
  assert.equal((badRole.json['error'] as Record<string, unknown>)['param'], 'input[0].role');
  const unsupported = await fx.post('/v1/responses', { model: 'kjv-tiny', input: 'hi', background: true });
  assert.equal(unsupported.status, 400);
  assert.equal((unsupported.json['error'] as Record<string, unknown>)['param'], 'background');
  const tooLong = await fx.post('/v1/responses', { model: 'kjv-tiny', input: 'hi', max_output_tokens: 1_000_000 });
  assert.equal(tooLong.status, 400);
  assert.equal((tooLong.json['error'] as Record<string, unknown>)['param'], 'input');
  assert.equal((tooLong.json['error'] as Record<string, unknown>)['code'], 'context_length_exceeded');
  assert.match(
    String((tooLong.json['error'] as Record<string, unknown>)['message']),
    /maximum context length is \d+ tokens\. However, you requested \d+ tokens \(\d+ in the input, 1000000 in the completion\)/,
  );
  const orphan = await fx.post('/v1/responses', {
    model: 'kjv-tiny',
    input: [
      { role: 'user', content: 'hi' },
      { type: 'function_call_output', call_id: 'call_never_made', output: '42' },
    ],
  });
  assert.equal(orphan.status, 400);
  assert.equal((orphan.json['error'] as Record<string, unknown>)['param'], 'input[1].call_id');
  assert.match(
    String((orphan.json['error'] as Record<string, unknown>)['message']),
    /No tool call found for function call output with call_id call_never_made/,
  );
  const ok = await fx.client.responses.create({ model: 'kjv-tiny', input: 'hi', max_output_tokens: 2 });
  assert.equal(ok.object, 'response');
});
