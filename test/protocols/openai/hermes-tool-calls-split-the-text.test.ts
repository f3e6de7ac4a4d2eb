// The Hermes tool-call parser: a whole text splits into content and calls; fed in pieces split
// anywhere, the streamed events give the same content and calls; markup never reaches content.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hermesToolCalls } from '../../../src/protocols/openai/hermes-tool-calls.js';
import type { ParsedToolOutput, ToolCallEvent } from '../../../src/protocols/openai/tool-call-format.js';

/** The streamed events of `pieces`, put back together as one output. */
function streamed(pieces: readonly string[]): ParsedToolOutput & { events: ToolCallEvent[] } {
  const stream = hermesToolCalls.stream();
  const events = [...pieces.flatMap((p) => stream.push(p)), ...stream.finish()];
  let content = '';
  const calls: { name: string; arguments: string }[] = [];
  for (const e of events) {
    if (e.type === 'content') content += e.text;
    else if (e.type === 'call') {
      assert.equal(e.index, calls.length, 'calls are numbered in order');
      calls.push({ name: e.name, arguments: '' });
    } else {
      const call = calls[e.index];
      assert.ok(call !== undefined && e.index === calls.length - 1, 'arguments belong to the call being written');
      call.arguments += e.text;
    }
  }
  return { content, calls, events };
}

function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(text.slice(from, p));
    from = p;
  }
  pieces.push(text.slice(from));
  return pieces;
}

const call = (name: string, args: string, space = '\n'): string =>
  `<tool_call>${space}{"name": ${JSON.stringify(name)}, "arguments": ${args}}${space}</tool_call>`;

describe('the Hermes format, whole', () => {
  it('takes one call out and leaves no content', () => {
    const out = hermesToolCalls.parse(call('get_weather', '{"city": "Paris"}'));
    assert.deepEqual(out, { content: '', calls: [{ name: 'get_weather', arguments: '{"city": "Paris"}' }] });
  });

  it('keeps the text before and after the calls as content, without the whitespace next to them', () => {
    const text = `Let me look.\n${call('a', '{}')}\n${call('b', '{"x": [1, {"y": "}"}]}')}\nDone.`;
    const out = hermesToolCalls.parse(text);
    assert.equal(out.content, 'Let me look.Done.');
    assert.deepEqual(out.calls, [
      { name: 'a', arguments: '{}' },
      { name: 'b', arguments: '{"x": [1, {"y": "}"}]}' },
    ]);
  });

  it('reads a call whose arguments come before its name as JSON', () => {
    const out = hermesToolCalls.parse('<tool_call>\n{"arguments": {"q": 1}, "name": "search"}\n</tool_call>');
    assert.deepEqual(out.calls, [{ name: 'search', arguments: '{"q":1}' }]);
  });

  it('leaves a block that is no call as content', () => {
    const text = 'see <tool_call>not json</tool_call> here';
    assert.deepEqual(hermesToolCalls.parse(text), { content: text, calls: [] });
  });

  it('gives the call cut off by the end of the text with what was written of its arguments', () => {
    const out = hermesToolCalls.parse('<tool_call>\n{"name": "f", "arguments": {"city": "Par');
    assert.deepEqual(out.calls, [{ name: 'f', arguments: '{"city": "Par' }]);
  });

  it('reads text without markup as content, whitespace and all', () => {
    assert.deepEqual(hermesToolCalls.parse('  a < b\n'), { content: '  a < b\n', calls: [] });
  });
});

describe('the Hermes format, streamed', () => {
  it('sends the name first, then the arguments as they are written, never the markup', () => {
    const text = `Sure.\n${call('get_weather', '{"city": "Paris"}')}`;
    const pieces = [...text];
    const { events } = streamed(pieces);
    const content = events.filter((e) => e.type === 'content').map((e) => (e.type === 'content' ? e.text : ''));
    assert.equal(content.join(''), 'Sure.');
    assert.ok(!content.join('').includes('<'), 'no markup in content');
    const first = events.findIndex((e) => e.type === 'call');
    assert.deepEqual(events[first], { type: 'call', index: 0, name: 'get_weather' });
    const argPieces = events.filter((e) => e.type === 'arguments');
    assert.ok(argPieces.length > 3, `arguments arrive in pieces (${argPieces.length})`);
    // The name is sent before the arguments are complete: streaming, not buffering.
    assert.ok(first < events.length - argPieces.length);
  });

  it('holds back what may open a call and releases it when it does not', () => {
    const stream = hermesToolCalls.stream();
    assert.deepEqual(stream.push('a <tool'), [{ type: 'content', text: 'a' }]);
    assert.deepEqual(stream.push('box>'), [{ type: 'content', text: ' <toolbox>' }]);
    assert.deepEqual(stream.finish(), []);
  });
});

/** Arguments as a model may write them: JSON objects with the whitespace varied, braces and markup-like text in strings. */
const argumentsText = fc
  .tuple(
    fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom('}', ' }', '</tool_call', '<tool_call>'),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      { maxKeys: 3 },
    ),
    fc.constantFrom(0, 1, 2),
  )
  .map(([value, indent]) => JSON.stringify(value, null, indent === 0 ? undefined : indent));

const piece = fc.oneof(
  fc.record({
    kind: fc.constant('text' as const),
    text: fc.string({ maxLength: 12 }).filter((t) => !t.includes('<tool_call>')),
  }),
  fc.record({ kind: fc.constant('text' as const), text: fc.constantFrom(' ', '\n', '<', '<tool', '}', '\n\n') }),
  fc.record({
    kind: fc.constant('call' as const),
    name: fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/),
    args: argumentsText,
    space: fc.constantFrom('\n', '', ' \n'),
  }),
);

describe('the Hermes format, whole and streamed alike', () => {
  it('gives the same content and calls for every split of the text, and the calls as written', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (parts, cuts) => {
        const text = parts.map((p) => (p.kind === 'text' ? p.text : call(p.name, p.args, p.space))).join('');
        const whole = hermesToolCalls.parse(text);
        const pieces = streamed(splitAt(text, cuts));
        assert.equal(pieces.content, whole.content);
        assert.deepEqual(pieces.calls, whole.calls);
        const written = parts.filter((p) => p.kind === 'call');
        assert.deepEqual(
          whole.calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) as unknown })),
          written.map((c) => ({ name: c.name, args: JSON.parse(c.args) as unknown })),
        );
        assert.ok(!whole.content.includes('<tool_call>'), 'no markup in content');
      }),
      { numRuns: 500 },
    );
  });
});
