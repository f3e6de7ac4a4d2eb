// kjv-tiny's chat template in the Hermes convention: a chat without tools renders byte for byte
// as the template the model was trained with; with tools the system turn lists the functions, an
// assistant's calls are `<tool_call>` blocks and a tool result is a `tool` turn.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '../../src/generation/engine-types.js';
import { loadTokenizer } from '../../src/generation/tokenizer.js';

const tokenizer = await loadTokenizer('examples/models/kjv-tiny/1');

/** The template kjv-tiny was trained with (tools/llm/bpe.py before tools). */
const TRAINED = new Template(
  "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
);

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } },
  },
};

describe("kjv-tiny's chat template", () => {
  it('renders chats without tools exactly as the trained template', () => {
    const chats: ChatMessage[][] = [
      [{ role: 'user', content: 'In the beginning' }],
      [
        { role: 'system', content: 'Answer in the words of Genesis.' },
        { role: 'user', content: 'And God said' },
        { role: 'assistant', content: 'Let there be light' },
        { role: 'user', content: '' },
      ],
    ];
    for (const messages of chats) {
      assert.equal(
        tokenizer.applyChatTemplate(messages),
        TRAINED.render({ messages, add_generation_prompt: true, bos_token: '<|bos|>', eos_token: '<|eos|>' }),
      );
    }
  });

  it('lists the functions in the system turn and renders calls and results in the Hermes convention', () => {
    const text = tokenizer.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } },
            { id: 'call_2', name: 'get_weather', arguments: { city: 'Rome' } },
          ],
        },
        { role: 'tool', content: '21', toolCallId: 'call_1' },
        { role: 'tool', content: '25', toolCallId: 'call_2' },
      ],
      { tools: [weather, { type: 'function', function: { name: 'now', parameters: { type: 'object' } } }] },
    );
    assert.equal(
      text,
      [
        '<|system|>',
        'Be brief.',
        'Tools:',
        'get_weather(city, unit): The weather in a city',
        'now()',
        '<|user|>',
        'Weather in Paris and Rome?',
        '<|assistant|>',
        '<tool_call>',
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        '</tool_call>',
        '<tool_call>',
        '{"name": "get_weather", "arguments": {"city": "Rome"}}',
        '</tool_call>',
        '<|tool|>',
        '21',
        '<|tool|>',
        '25',
        '<|assistant|>',
        '',
      ].join('\n'),
    );
  });

  it('keeps the text of an assistant message that also calls', () => {
    const text = tokenizer.applyChatTemplate(
      [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: 'Looking.', toolCalls: [{ id: 'c', name: 'now', arguments: {} }] },
      ],
      { tools: [weather] },
    );
    assert.ok(
      text.endsWith(
        '<|assistant|>\nLooking.\n<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>\n<|assistant|>\n',
      ),
      text,
    );
    assert.ok(text.startsWith('<|system|>\nTools:\nget_weather(city, unit): The weather in a city\n<|user|>\n'), text);
  });
});
