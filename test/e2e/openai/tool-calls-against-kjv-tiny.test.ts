// Tool calls with the official openai client against the real server and kjv-tiny, a model that
// never saw a tool: the constraint alone makes it call. A round trip with tool_choice "required"
// (the model calls get_weather with arguments valid for its schema, the client answers with a
// tool message, the model finishes in text), whole and streamed; parallel calls; a named
// function; and the SDK's runTools helper calling a local function.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import type {
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

const WEATHER_PARAMETERS = {
  type: 'object',
  properties: {
    city: { type: 'string', enum: ['Paris', 'Rome', 'Jerusalem'] },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const TIME_PARAMETERS = {
  type: 'object',
  properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } },
  required: ['zone'],
  additionalProperties: false,
};

const tools: ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } },
  { type: 'function', function: { name: 'get_time', parameters: TIME_PARAMETERS } },
];

const ajv = new Ajv({ strict: true });
const validators = { get_weather: ajv.compile(WEATHER_PARAMETERS), get_time: ajv.compile(TIME_PARAMETERS) };

/** The call's arguments, checked to be JSON valid for its function's schema. */
function validArguments(call: ChatCompletionMessageFunctionToolCall): unknown {
  const args: unknown = JSON.parse(call.function.arguments);
  const validate = validators[call.function.name as keyof typeof validators];
  assert.ok(validate !== undefined, `a defined function: ${call.function.name}`);
  assert.ok(validate(args), `${call.function.arguments}: ${ajv.errorsText(validate.errors)}`);
  return args;
}

function functionCalls(calls: readonly { type: string }[] | undefined): ChatCompletionMessageFunctionToolCall[] {
  return (calls ?? []).map((c) => {
    assert.equal(c.type, 'function');
    return c as ChatCompletionMessageFunctionToolCall;
  });
}

/** Room for a few calls: kjv-tiny's tokenizer, made for English prose, spends about 60 tokens on one. */
const CALL_TOKENS = 180;

const question: ChatCompletionMessageParam = { role: 'user', content: 'What is the weather in Paris?' };

describe('a round trip with tool_choice "required"', () => {
  test('whole: the model calls get_weather with valid arguments, the tool answers, the model finishes in text', async () => {
    const first = await fx.client.chat.completions.create({
      model: 'kjv-tiny',
      messages: [question],
      tools: [tools[0] as ChatCompletionTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: CALL_TOKENS,
    });
    const choice = first.choices[0];
    assert.ok(choice !== undefined);
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = functionCalls(choice.message.tool_calls);
    assert.equal(calls.length, 1);
    const call = calls[0] as ChatCompletionMessageFunctionToolCall;
    assert.equal(call.function.name, 'get_weather');
    validArguments(call);

    const second = await fx.client.chat.completions.create({
      model: 'kjv-tiny',
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: '21 degrees' }],
      tools,
      max_tokens: 24,
      temperature: 0,
    });
    const answer = second.choices[0];
    assert.ok(answer !== undefined);
    assert.ok(answer.finish_reason === 'stop' || answer.finish_reason === 'length', answer.finish_reason);
    assert.equal(answer.message.tool_calls, undefined);
    assert.ok((answer.message.content ?? '').trim().length > 0, 'the model answers in text');
    // The round trip's prompt holds the call and the result, so it is longer than the question's.
    assert.ok((second.usage?.prompt_tokens ?? 0) > (first.usage?.prompt_tokens ?? 0) + 20);
  });

  test("streamed: the SDK's stream helper assembles the call; no markup is streamed as content", async () => {
    const stream = fx.client.chat.completions.stream({
      model: 'kjv-tiny',
      messages: [question],
      tools: [tools[0] as ChatCompletionTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: CALL_TOKENS,
    });
    let content = '';
    let argumentDeltas = 0;
    stream.on('chunk', (chunk) => {
      content += chunk.choices[0]?.delta.content ?? '';
      for (const d of chunk.choices[0]?.delta.tool_calls ?? []) if (d.id === undefined) argumentDeltas++;
    });
    const final = await stream.finalChatCompletion();
    assert.equal(content, '');
    assert.ok(argumentDeltas > 1, `arguments streamed in pieces (${argumentDeltas})`);
    const choice = final.choices[0];
    assert.ok(choice !== undefined);
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = functionCalls(choice.message.tool_calls);
    assert.equal(calls.length, 1);
    const call = calls[0] as ChatCompletionMessageFunctionToolCall;
    validArguments(call);

    // Greedy: the streamed call is the one the whole answer has.
    const whole = await fx.client.chat.completions.create({
      model: 'kjv-tiny',
      messages: [question],
      tools: [tools[0] as ChatCompletionTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: CALL_TOKENS,
    });
    const wholeCall = functionCalls(whole.choices[0]?.message.tool_calls)[0];
    assert.equal(wholeCall?.function.arguments, call.function.arguments);

    const next = fx.client.chat.completions.stream({
      model: 'kjv-tiny',
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: '21 degrees' }],
      tools,
      max_tokens: 24,
      temperature: 0,
    });
    const finished = await next.finalChatCompletion();
    assert.equal(finished.choices[0]?.message.tool_calls, undefined);
    assert.ok((finished.choices[0]?.message.content ?? '').trim().length > 0);
  });
});

test('parallel calls: samples make one or more calls, each valid for its function, and some make several', async () => {
  // kjv-tiny never learnt when to stop calling: greedy, it calls until max_tokens. Sampled, with
  // its end-of-turn token made likelier (id 1, <|eos|>: allowed only between calls), some of the
  // ten seeded samples stop after one call and some after two or more.
  const res = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'Weather and time in Rome?' }],
    tools,
    tool_choice: 'required',
    temperature: 1,
    seed: 1,
    n: 10,
    logit_bias: { '1': 6 },
    max_tokens: CALL_TOKENS,
  });
  const finished = res.choices.filter((c) => c.finish_reason === 'tool_calls');
  assert.ok(finished.length > 0);
  for (const choice of finished) {
    const calls = functionCalls(choice.message.tool_calls);
    assert.ok(calls.length >= 1);
    for (const call of calls) validArguments(call);
    assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, 'every call has its own id');
  }
  const counts = finished.map((c) => c.message.tool_calls?.length ?? 0);
  assert.ok(
    counts.some((n) => n >= 2),
    `call counts of the finished samples: ${counts.join(', ')}`,
  );
});

test('parallel_tool_calls false: exactly one call, even when the model may not stop', async () => {
  const res = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'Weather and time in Rome?' }],
    tools,
    tool_choice: 'required',
    parallel_tool_calls: false,
    temperature: 0,
    max_tokens: 100,
  });
  assert.equal(functionCalls(res.choices[0]?.message.tool_calls).length, 1);
  assert.equal(res.choices[0]?.finish_reason, 'tool_calls');
});

test('a named function: the model calls that one', async () => {
  const res = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages: [question],
    tools,
    tool_choice: { type: 'function', function: { name: 'get_time' } },
    parallel_tool_calls: false,
    temperature: 0,
    max_tokens: CALL_TOKENS,
  });
  assert.equal(res.choices[0]?.finish_reason, 'tool_calls');
  const calls = functionCalls(res.choices[0]?.message.tool_calls);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.function.name, 'get_time');
  validArguments(calls[0]);
});

test("the SDK's runTools calls the local function with the parsed arguments and sends its result back", async () => {
  const seen: unknown[] = [];
  const runner = fx.client.chat.completions.runTools({
    model: 'kjv-tiny',
    messages: [question],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: false,
    temperature: 0,
    max_tokens: CALL_TOKENS,
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'The weather in a city',
          parameters: WEATHER_PARAMETERS,
          parse: (text: string): unknown => JSON.parse(text),
          function: (args: unknown) => {
            seen.push(args);
            return '21 degrees';
          },
        },
      },
    ],
  });
  const messages = await runner.done().then(() => runner.messages);
  assert.equal(seen.length, 1);
  assert.ok(validators.get_weather(seen[0]), JSON.stringify(seen[0]));
  const last = messages.at(-1);
  assert.equal(last?.role, 'tool');
  assert.equal(last?.role === 'tool' ? last.content : undefined, '21 degrees');
});

test('"auto" with a response_format: the answer is JSON valid for the format, or calls', async () => {
  const answer = {
    type: 'object',
    properties: { verse: { type: 'string', enum: ['Jesus wept.', 'God is love.'] } },
    required: ['verse'],
    additionalProperties: false,
  };
  const res = await fx.client.chat.completions.create({
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'A short verse?' }],
    tools,
    response_format: { type: 'json_schema', json_schema: { name: 'verse', schema: answer, strict: true } },
    temperature: 0,
    max_tokens: CALL_TOKENS,
  });
  const choice = res.choices[0];
  assert.ok(choice !== undefined);
  if (choice.finish_reason === 'tool_calls') {
    for (const call of functionCalls(choice.message.tool_calls)) validArguments(call);
  } else {
    assert.equal(choice.finish_reason, 'stop');
    assert.ok(ajv.compile(answer)(JSON.parse(choice.message.content ?? '')), choice.message.content ?? '');
  }
});

test('a parameters schema the grammar engine cannot enforce is a 400 naming tools', async () => {
  const res = await fx.post('/v1/chat/completions', {
    model: 'kjv-tiny',
    messages: [question],
    tools: [
      {
        type: 'function',
        function: { name: 'f', parameters: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } } },
      },
    ],
    tool_choice: 'required',
  });
  assert.equal(res.status, 400, JSON.stringify(res.json));
  const error = res.json['error'] as Record<string, unknown>;
  assert.equal(error['param'], 'tools');
  assert.equal(error['type'], 'invalid_request_error');
  // The server goes on serving.
  const ok = await fx.post('/v1/chat/completions', { model: 'kjv-tiny', messages: [question], max_tokens: 2 });
  assert.equal(ok.status, 200);
});
