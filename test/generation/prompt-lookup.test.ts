// Prompt lookup proposes what followed the most recent earlier occurrence of the sequence's
// longest suffix of prompt_lookup_min..prompt_lookup_max tokens, up to k tokens.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lookupDraft, PromptLookupDrafter } from '../../src/generation/prompt-lookup.js';

describe('prompt lookup', () => {
  it('proposes the tokens that followed an earlier occurrence of the last n-gram', () => {
    assert.deepEqual(lookupDraft([1, 2, 3, 4, 5, 9, 1, 2], 1, 3, 3), [3, 4, 5]);
  });

  it('prefers the longest n-gram over a more recent shorter one', () => {
    // Suffix [7, 8]: it occurs at the start (then 1); the single token 8 last occurs before 2.
    assert.deepEqual(lookupDraft([7, 8, 1, 5, 8, 2, 7, 8], 1, 2, 1), [1]);
    assert.deepEqual(lookupDraft([7, 8, 1, 5, 8, 2, 7, 8], 1, 1, 1), [2]);
  });

  it('takes the most recent of several occurrences', () => {
    assert.deepEqual(lookupDraft([4, 5, 1, 4, 5, 2, 4, 5], 2, 2, 1), [2]);
  });

  it('stops at the end of the sequence: fewer than k tokens when the match is recent', () => {
    assert.deepEqual(lookupDraft([3, 3, 3], 1, 1, 5), [3]);
    assert.deepEqual(lookupDraft([6, 1, 6], 1, 2, 5), [1, 6]);
  });

  it('proposes nothing when no n-gram of at least prompt_lookup_min tokens recurs', () => {
    assert.deepEqual(lookupDraft([1, 2, 3, 4], 1, 3, 4), []);
    assert.deepEqual(lookupDraft([1, 2, 9, 1, 3, 2], 2, 3, 4), []);
    assert.deepEqual(lookupDraft([5], 1, 3, 4), []);
  });

  it('the drafter answers each request with its own k', async () => {
    const d = new PromptLookupDrafter(1, 2);
    assert.deepEqual(
      await d.propose([
        { seq: 1, tokens: [1, 2, 3, 1], k: 1 },
        { seq: 2, tokens: [1, 2, 3, 1], k: 2 },
        { seq: 3, tokens: [1, 2, 3], k: 2 },
      ]),
      [[2], [2, 3], []],
    );
  });
});
