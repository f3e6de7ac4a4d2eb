// The tool fields of a chat request: every invalid one is a 400 invalid_request_error in OpenAI's
// body naming the field, before the engine sees anything; valid ones reach the engine as a
// structural-tag constraint (or none) and the messages of a round trip are accepted.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeApi, type FakeEngine } from './fake-engine.js';

let url: string;
let engine: FakeEngine;
let close: () => Promise<void>;

before(async () => {
  const api = await startFakeApi();
  url = api.url;
  engine = api.engine;
  close = () => api.app.close();
});
after(() => close());

async function post(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const chat = { model: 'fake-gen', messages: [{ role: 'user', content: 'Weather in Paris?' }], max_tokens: 4 };

/** [what, body, param, message fragment] */
const refused: [string, Record<string, unknown>, string, string][] = [
  ['tools not a list', { ...chat, tools: { type: 'function' } }, 'tools', 'must be a list of tools'],
  ['a hosted tool', { ...chat, tools: [{ type: 'web_search' }] }, 'tools[0].type', 'only function tools are supported'],
  ['a tool without its function', { ...chat, tools: [{ type: 'function' }] }, 'tools[0].function', 'Missing'],
  [
    'a name with a space',
    { ...chat, tools: [{ type: 'function', function: { name: 'get weather' } }] },
    'tools[0].function.name',
    'letter, digit, underscore or dash',
  ],
  [
    'a name of 65 characters',
    { ...chat, tools: [{ type: 'function', function: { name: 'a'.repeat(65) } }] },
    'tools[0].function.name',
    '1 to 64 characters',
  ],
  [
    'parameters that are not an object',
    { ...chat, tools: [{ type: 'function', function: { name: 'f', parameters: 'city' } }] },
    'tools[0].function.parameters',
    'JSON Schema object',
  ],
  [
    'parameters of a type other than object',
    { ...chat, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] },
    'tools[0].function.parameters.type',
    'must be "object"',
  ],
  ['a name given twice', { ...chat, tools: [weather, weather] }, 'tools[1].function.name', 'defined twice'],
  ['tool_choice of an unknown word', { ...chat, tools: [weather], tool_choice: 'always' }, 'tool_choice', '"required"'],
  [
    'tool_choice naming a function not in tools',
    { ...chat, tools: [weather], tool_choice: { type: 'function', function: { name: 'get_time' } } },
    'tool_choice',
    "no function named 'get_time'",
  ],
  [
    'tool_choice without tools',
    { ...chat, tool_choice: 'required' },
    'tool_choice',
    "only allowed when 'tools' are specified",
  ],
  [
    'parallel_tool_calls not a boolean',
    { ...chat, tools: [weather], parallel_tool_calls: 'yes' },
    'parallel_tool_calls',
    'boolean',
  ],
  ['the deprecated functions', { ...chat, functions: [weather.function] }, 'functions', 'send each function as a tool'],
  ['the deprecated function_call', { ...chat, function_call: 'auto' }, 'function_call', "'tool_choice' instead"],
  [
    'a tool message without tool_call_id',
    { ...chat, messages: [{ role: 'tool', content: '21 degrees' }] },
    'messages[0].tool_call_id',
    "Missing required parameter: 'messages[0].tool_call_id'",
  ],
  [
    'a user message with tool_calls',
    {
      ...chat,
      messages: [
        {
          role: 'user',
          content: 'x',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    },
    'messages[0].tool_calls',
    'only allowed in assistant messages',
  ],
  [
    'an assistant message with neither content nor calls',
    {
      ...chat,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null },
      ],
    },
    'messages[1].content',
    'unless the assistant message has tool_calls',
  ],
  [
    'earlier call arguments that are not JSON',
    {
      ...chat,
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{city' } }],
        },
      ],
    },
    'messages[1].tool_calls[0].function.arguments',
    'must be a string of JSON',
  ],
];

describe('a chat request with invalid tool fields is a 400 naming the field', () => {
  for (const [what, body, param, fragment] of refused) {
    test(what, async () => {
      const before = engine.requests.length;
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const error = res.body['error'] as Record<string, unknown>;
      assert.equal(error['type'], 'invalid_request_error');
      assert.equal(error['param'], param);
      assert.match(String(error['message']), new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal(engine.requests.length, before, 'nothing reached the engine');
    });
  }
});

describe('valid tool fields reach the engine as a constraint', () => {
  const last = () => {
    const request = engine.requests.at(-1);
    assert.ok(request !== undefined);
    return request.sampling.constraint;
  };

  test('"required" with parallel calls: one or more tagged calls whose content is the parameters schema', async () => {
    assert.equal((await post({ ...chat, tools: [weather], tool_choice: 'required' })).status, 200);
    assert.deepEqual(last(), {
      kind: 'structural_tag',
      tag: {
        type: 'structural_tag',
        format: {
          type: 'tags_with_separator',
          tags: [
            {
              type: 'tag',
              begin: '<tool_call>\n{"name": "get_weather", "arguments": ',
              content: { type: 'json_schema', json_schema: weather.function.parameters },
              end: '}\n</tool_call>',
            },
          ],
          separator: '\n',
          at_least_one: true,
          stop_after_first: false,
        },
      },
    });
  });

  test('a named function without parallel calls: exactly one call of it', async () => {
    const noArgs = { type: 'function', function: { name: 'now' } };
    const res = await post({
      ...chat,
      tools: [weather, noArgs],
      tool_choice: { type: 'function', function: { name: 'now' } },
      parallel_tool_calls: false,
    });
    assert.equal(res.status, 200);
    const constraint = last();
    assert.ok(constraint?.kind === 'structural_tag');
    const format = constraint.tag['format'] as Record<string, unknown>;
    assert.equal(format['stop_after_first'], true);
    assert.deepEqual(format['tags'], [
      {
        type: 'tag',
        begin: '<tool_call>\n{"name": "now", "arguments": ',
        content: { type: 'json_schema', json_schema: { type: 'object', properties: {}, additionalProperties: false } },
        end: '}\n</tool_call>',
      },
    ]);
  });

  test('"auto" (the default with tools): free text until <tool_call>, then a valid call', async () => {
    assert.equal((await post({ ...chat, tools: [weather] })).status, 200);
    const constraint = last();
    assert.ok(constraint?.kind === 'structural_tag');
    const format = constraint.tag['format'] as Record<string, unknown>;
    assert.equal(format['type'], 'triggered_tags');
    assert.deepEqual(format['triggers'], ['<tool_call>']);
    assert.equal(format['at_least_one'], false);
  });

  test('"none": no constraint', async () => {
    assert.equal((await post({ ...chat, tools: [weather], tool_choice: 'none' })).status, 200);
    assert.equal(last(), undefined);
  });

  test('a round trip: the assistant call and the tool answer render through the template', async () => {
    const res = await post({
      ...chat,
      max_tokens: 1,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '21C' },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const prompt = String.fromCharCode(...(engine.requests.at(-1)?.promptTokenIds ?? []));
    assert.equal(prompt, '<user>Paris?<assistant><tool>21C<assistant>');
  });
});
