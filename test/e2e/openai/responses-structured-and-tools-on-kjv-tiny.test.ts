// The Responses API's structured output and function tools through the official openai client,
// against the real server and kjv-tiny (a model that has never seen JSON or a tool): responses.parse
// with a zod text format gets a parsed object; a required function call comes back as a
// function_call item whose arguments validate, and the model then finishes from the client's
// function_call_output, whole and streamed; a schema the engine cannot enforce is a 400 naming
// text.format.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

const Person = z.object({
  name: z.string().max(16),
  age: z.number().int().min(0).max(999),
  tribe: z.enum(['Judah', 'Levi', 'Dan']),
});

test('responses.parse with a zod text format returns the parsed object', async () => {
  const res = await fx.client.responses.parse({
    model: 'kjv-tiny',
    input: 'Who begat Enos?',
    temperature: 0,
    max_output_tokens: 120,
    text: { format: zodTextFormat(Person, 'person') },
  });
  assert.equal(res.status, 'completed');
  const parsed = res.output_parsed;
  assert.ok(parsed !== null);
  assert.deepEqual(Person.parse(parsed), parsed);
  assert.deepEqual(JSON.parse(res.output_text), parsed);
  assert.equal(res.text?.format?.type, 'json_schema');
});

test('text.format json_object streams a JSON object', async () => {
  const stream = fx.client.responses.stream({
    model: 'kjv-tiny',
    input: 'Who begat Enos?',
    temperature: 0,
    max_output_tokens: 60,
    text: { format: { type: 'json_object' } },
  });
  let text = '';
  for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
  const final = await stream.finalResponse();
  assert.equal(final.output_text, text);
  if (final.status === 'completed') {
    const value: unknown = JSON.parse(text);
    assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value));
  } else assert.match(text, /^\{/);
});

test('a schema the engine cannot enforce is a 400 naming text.format.schema', async () => {
  const res = await fx.post('/v1/responses', {
    model: 'kjv-tiny',
    input: 'hi',
    text: { format: { type: 'json_schema', name: 'bad', schema: { type: 'object', not: { required: ['a'] } } } },
  });
  assert.equal(res.status, 400);
  const error = res.json['error'] as Record<string, unknown>;
  assert.equal(error['param'], 'text.format.schema');
  assert.match(String(error['message']), /^Invalid value for 'text\.format\.schema'/);
});

const tools: OpenAI.Responses.FunctionTool[] = [
  {
    type: 'function',
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: ['Paris', 'Rome'] } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
  },
];

function theCall(res: OpenAI.Responses.Response): OpenAI.Responses.ResponseFunctionToolCall {
  const calls = res.output.filter((item) => item.type === 'function_call');
  assert.equal(calls.length, 1, JSON.stringify(res.output));
  const call = calls[0];
  assert.ok(call !== undefined);
  assert.equal(call.name, 'get_weather');
  const args = JSON.parse(call.arguments) as { city: string };
  assert.ok(args.city === 'Paris' || args.city === 'Rome', call.arguments);
  return call;
}

test('a function tool round trip: the model must call, the client answers, the model finishes', async () => {
  const first = await fx.client.responses.create({
    model: 'kjv-tiny',
    input: 'What is the weather in Paris?',
    tools,
    tool_choice: 'required',
    parallel_tool_calls: false,
    // The call's markup alone is some 50 tokens of this byte-level vocabulary.
    max_output_tokens: 120,
    temperature: 0,
  });
  assert.equal(first.status, 'completed');
  const call = theCall(first);
  const second = await fx.client.responses.create({
    model: 'kjv-tiny',
    previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '21 degrees' }],
    tools,
    max_output_tokens: 16,
    temperature: 0,
  });
  assert.ok(second.status === 'completed' || second.status === 'incomplete');
  assert.ok(second.output.some((item) => item.type === 'message'));
  assert.equal(second.previous_response_id, first.id);
  // The conversation grew by the call and its result: more input than the first turn.
  assert.ok((second.usage?.input_tokens ?? 0) > (first.usage?.input_tokens ?? 0));
});

test('the same round trip streamed: the call as events, then the answer as text deltas', async () => {
  const stream = fx.client.responses.stream({
    model: 'kjv-tiny',
    input: 'What is the weather in Rome?',
    tools,
    tool_choice: { type: 'function', name: 'get_weather' },
    parallel_tool_calls: false,
    max_output_tokens: 120,
    temperature: 0,
  });
  const types: string[] = [];
  let args = '';
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.function_call_arguments.delta') args += event.delta;
  }
  const first = await stream.finalResponse();
  const call = theCall(first);
  assert.equal(args, call.arguments);
  assert.ok(types.includes('response.function_call_arguments.done'));
  assert.equal(types.at(-1), 'response.completed');
  const answer = fx.client.responses.stream({
    model: 'kjv-tiny',
    previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '25 degrees' }],
    tools,
    max_output_tokens: 16,
    temperature: 0,
  });
  let text = '';
  for await (const event of answer) if (event.type === 'response.output_text.delta') text += event.delta;
  const second = await answer.finalResponse();
  assert.equal(second.output_text, text);
});
