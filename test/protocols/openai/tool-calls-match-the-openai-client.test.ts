// The official openai client reads tool calls as the edge returns them (over scripted engines that
// write Hermes calls): message.tool_calls with finish_reason "tool_calls", content outside the
// calls, streamed deltas the SDK's stream helper assembles, and no markup in streamed content.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { FakeEngine, startFakeApi } from './fake-engine.js';

const CALL_PARIS = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
const CALL_ROME = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "C"}}\n</tool_call>';

const tools: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } },
    },
  },
];
const messages = [{ role: 'user' as const, content: 'Weather?' }];

const servers: (() => Promise<void>)[] = [];
after(() => Promise.all(servers.map((close) => close())));

/** A client of an edge whose engine writes `script`. */
async function clientWriting(script: string): Promise<OpenAI> {
  const api = await startFakeApi(new FakeEngine({ script, contextLength: 512 }));
  servers.push(() => api.app.close());
  return new OpenAI({ baseURL: api.url + '/v1', apiKey: 'x', maxRetries: 0 });
}

describe('a whole chat completion with tools', () => {
  let client: OpenAI;
  before(async () => {
    client = await clientWriting(`Let me look.\n${CALL_PARIS}\n${CALL_ROME}`);
  });

  test('has the calls in message.tool_calls, the text outside them as content, finish_reason "tool_calls"', async () => {
    const res = await client.chat.completions.create({ model: 'fake-gen', messages, tools, tool_choice: 'auto' });
    const choice = res.choices[0];
    assert.ok(choice !== undefined);
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, 'Let me look.');
    const calls = choice.message.tool_calls ?? [];
    assert.equal(calls.length, 2);
    for (const call of calls) {
      assert.equal(call.type, 'function');
      assert.match(call.id, /^call_[0-9a-f]{24}$/);
    }
    assert.notEqual(calls[0]?.id, calls[1]?.id);
    assert.deepEqual(
      calls.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments) as unknown] : [])),
      [
        ['get_weather', { city: 'Paris' }],
        ['get_weather', { city: 'Rome', unit: 'C' }],
      ],
    );
  });

  test('with tool_choice "none" is text: nothing is taken out as a call', async () => {
    const res = await client.chat.completions.create({ model: 'fake-gen', messages, tools, tool_choice: 'none' });
    assert.equal(res.choices[0]?.finish_reason, 'stop');
    assert.equal(res.choices[0]?.message.tool_calls, undefined);
    assert.equal(res.choices[0]?.message.content, `Let me look.\n${CALL_PARIS}\n${CALL_ROME}`);
  });
});

describe('a chat completion of calls only', () => {
  test('has content null', async () => {
    const client = await clientWriting(CALL_PARIS);
    const res = await client.chat.completions.create({ model: 'fake-gen', messages, tools, tool_choice: 'required' });
    assert.equal(res.choices[0]?.message.content, null);
    assert.equal(res.choices[0]?.message.tool_calls?.length, 1);
  });

  test('cut by max_tokens ends with "length" and the call as far as it was written', async () => {
    const client = await clientWriting(CALL_PARIS);
    const res = await client.chat.completions.create({
      model: 'fake-gen',
      messages,
      tools,
      tool_choice: 'required',
      max_tokens: 50,
    });
    assert.equal(res.choices[0]?.finish_reason, 'length');
    const call = res.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.ok('{"city": "Paris"}'.startsWith(call.function.arguments), call.function.arguments);
  });
});

describe('a streamed chat completion with tools', () => {
  let client: OpenAI;
  before(async () => {
    client = await clientWriting(`Let me look.\n${CALL_PARIS}\n${CALL_ROME}`);
  });

  test('streams content, then each call by index with its id and name, then its arguments in pieces', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake-gen',
      messages,
      tools,
      stream: true,
    });
    let content = '';
    const starts: { index: number; id: string | undefined; name: string | undefined }[] = [];
    const args: string[] = ['', ''];
    let argumentPieces = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      content += choice.delta.content ?? '';
      for (const d of choice.delta.tool_calls ?? []) {
        if (d.id !== undefined) starts.push({ index: d.index, id: d.id, name: d.function?.name });
        else {
          args[d.index] += d.function?.arguments ?? '';
          argumentPieces++;
        }
      }
      finish = choice.finish_reason ?? finish;
    }
    assert.equal(content, 'Let me look.');
    assert.deepEqual(
      starts.map((s) => [s.index, s.name]),
      [
        [0, 'get_weather'],
        [1, 'get_weather'],
      ],
    );
    assert.ok(starts.every((s) => s.id?.startsWith('call_') === true));
    assert.deepEqual(args, ['{"city": "Paris"}', '{"city": "Rome", "unit": "C"}']);
    assert.ok(argumentPieces > 2, `arguments come in pieces (${argumentPieces})`);
    assert.equal(finish, 'tool_calls');
  });

  test("the SDK's stream helper assembles the same message as the whole answer", async () => {
    const whole = await client.chat.completions.create({ model: 'fake-gen', messages, tools });
    const helper = client.chat.completions.stream({ model: 'fake-gen', messages, tools });
    const final = await helper.finalChatCompletion();
    const strip = (calls: (typeof whole.choices)[0]['message']['tool_calls']) =>
      (calls ?? []).map((c) =>
        c.type === 'function' ? { name: c.function.name, arguments: c.function.arguments } : {},
      );
    assert.equal(final.choices[0]?.message.content, whole.choices[0]?.message.content);
    assert.deepEqual(strip(final.choices[0]?.message.tool_calls), strip(whole.choices[0]?.message.tool_calls));
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
  });
});
