// A function tool round trip through /v1/responses with the official openai client, over a scripted
// engine that writes a Hermes call until it sees the tool's result: the model calls (a
// function_call item with call_id, name and JSON arguments), the client answers with a
// function_call_output chained by previous_response_id, and the model finishes in text; streamed,
// the call arrives as output_item.added, function_call_arguments deltas and done events.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { charTokenizer, FakeEngine, startFakeApi } from './fake-engine.js';

const CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
const ANSWER = 'It is 20 degrees in Paris.';
const RESULT = '{"temperature": 20}';

const tools: OpenAI.Responses.FunctionTool[] = [
  {
    type: 'function',
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    strict: false,
  },
];

let client: OpenAI;
let engine: FakeEngine;
let close: () => Promise<void>;
before(async () => {
  // The fake template writes each message as <role>content: a tool result shows as <tool>.
  engine = new FakeEngine({ script: (prompt) => (prompt.includes('<tool>') ? ANSWER : CALL), contextLength: 1024 });
  const api = await startFakeApi(engine);
  close = () => api.app.close();
  client = new OpenAI({ baseURL: api.url + '/v1', apiKey: 'x', maxRetries: 0 });
});
after(() => close());

function lastPrompt(): string {
  return charTokenizer.decode(engine.requests.at(-1)?.promptTokenIds ?? []);
}

describe('a function tool round trip', () => {
  test('not streamed: the call, then the answer from its result', async () => {
    const first = await client.responses.create({ model: 'fake-gen', input: 'Weather in Paris?', tools });
    assert.equal(first.status, 'completed');
    assert.equal(first.output.length, 1, JSON.stringify(first.output));
    const call = first.output[0];
    assert.ok(call?.type === 'function_call');
    assert.equal(call.name, 'get_weather');
    assert.match(call.call_id, /^call_/);
    assert.match(call.id ?? '', /^fc_/);
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    assert.equal(first.output_text, '');
    assert.deepEqual(
      first.tools.map((t) => (t.type === 'function' ? t.name : t.type)),
      ['get_weather'],
    );

    const second = await client.responses.create({
      model: 'fake-gen',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: RESULT }],
      tools,
    });
    assert.equal(second.output_text, ANSWER);
    assert.equal(second.output[0]?.type, 'message');
    // The model saw the question, its own call and the result, in that order.
    const prompt = lastPrompt();
    const at = ['<user>Weather in Paris?', '<assistant>', `<tool>${RESULT}`].map((part) => prompt.indexOf(part));
    assert.ok(at.every((i) => i >= 0) && at[0]! < at[1]! && at[1]! < at[2]!, prompt);

    // The same conversation sent whole, without the store, gives the same answer.
    const whole = await client.responses.create({
      model: 'fake-gen',
      store: false,
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: RESULT },
      ],
      tools,
    });
    assert.equal(whole.output_text, ANSWER);
    assert.equal(lastPrompt(), prompt);
  });

  test('streamed: the call as output_item and arguments events, then the answer', async () => {
    const stream = client.responses.stream({ model: 'fake-gen', input: 'Weather in Paris?', tools });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    assert.ok(deltas.length >= 1);
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      ...deltas.map(() => 'response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const call = final.output[0];
    assert.ok(call?.type === 'function_call');
    assert.equal(call.arguments, deltas.map((d) => d.delta).join(''));
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    assert.equal(done?.type === 'response.function_call_arguments.done' ? done.name : '', 'get_weather');

    const answer = client.responses.stream({
      model: 'fake-gen',
      previous_response_id: final.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: RESULT }],
      tools,
    });
    const text: string[] = [];
    for await (const event of answer) if (event.type === 'response.output_text.delta') text.push(event.delta);
    assert.equal(text.join(''), ANSWER);
    assert.equal((await answer.finalResponse()).output_text, ANSWER);
  });

  test('tool_choice "none" leaves the tools out of play: the text comes back as a message', async () => {
    const res = await client.responses.create({ model: 'fake-gen', input: 'Weather?', tools, tool_choice: 'none' });
    assert.equal(res.output[0]?.type, 'message');
    assert.equal(res.output_text, CALL);
  });
});
