// Client JSON, bounded: the nesting check agrees with the real depth of any JSON text (brackets
// inside strings and escapes included), and a value's preview never throws and never grows past
// its limit, however deep or long the value.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, jsonDepthExceeds, jsonTextDepthExceeds, previewValue } from '../../src/util/bounded-json.js';

/** Nesting depth of a parsed value, without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d + 1);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function nested(depth: number, inner = '0'): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}

const SEED = 20261206;

describe('jsonDepthExceeds', () => {
  it('agrees with the depth of the parsed value, strings with brackets included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, limit) => {
        const text = JSON.stringify(value);
        assert.equal(jsonTextDepthExceeds(text, limit), depthOf(value) > limit, text);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('is exact at the limit and ignores brackets in strings and escaped quotes', () => {
    assert.equal(jsonTextDepthExceeds(nested(MAX_JSON_DEPTH)), false);
    assert.equal(jsonTextDepthExceeds(nested(MAX_JSON_DEPTH + 1)), true);
    const tricky = JSON.stringify({ s: `\\"${'['.repeat(200)}`, t: ['{{{{'] });
    assert.equal(jsonTextDepthExceeds(tricky, 2), false);
    assert.equal(jsonTextDepthExceeds(nested(100_000)), true);
  });

  it('checks only the JSON header of a body with binary data after it', () => {
    const header = Buffer.from(nested(3));
    const body = Buffer.concat([header, Buffer.from(nested(100))]);
    assert.equal(jsonDepthExceeds(body, 5, 0, header.length), false);
    assert.equal(jsonDepthExceeds(body, 5), true);
  });
});

describe('previewValue', () => {
  it('never throws and stays within its limit, whatever the value', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 6 }), fc.integer({ min: 8, max: 120 }), (value, max) => {
        const text = previewValue(value, max);
        assert.ok(text.length <= max, `${text.length} > ${max}`);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('shows a value nested 100,000 deep in a few characters', () => {
    const deep = JSON.parse(nested(100_000)) as unknown;
    const text = previewValue(deep);
    assert.ok(text.length <= 80);
    assert.match(text, /^\[\[\[\[\[\.\.\.\]\]\]\]\]$/);
  });

  it('renders short values as JSON', () => {
    assert.equal(previewValue({ a: [1, 'x', null, true] }), '{"a":[1,"x",null,true]}');
    assert.equal(previewValue(-0), '-0');
    assert.equal(previewValue(12n), '12');
    assert.equal(previewValue('y'.repeat(500), 20), `"${'y'.repeat(16)}...`);
  });
});
