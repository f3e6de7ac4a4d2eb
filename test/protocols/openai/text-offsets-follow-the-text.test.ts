// /v1/completions logprobs: each token's text_offset is where it starts in the returned text, as
// vLLM counts it (the length of the text released before it), not the sum of the token pieces:
// a special token (its piece `</s>` is not in the text) and a token whose bytes complete a
// character only with the next one add nothing, so no offset runs past the text.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenLogprob } from '../../../src/generation/engine-types.js';
import { ChunkStream } from '../../../src/generation/generation-stream.js';
import { completionLogprobs } from '../../../src/protocols/openai/completion-objects.js';
import { collect } from '../../../src/protocols/openai/generation-runner.js';

const lp = (token: string, tokenId = 0): TokenLogprob => ({ tokenId, token, logprob: -1, top: [] });

describe('text_offset', () => {
  it('follows the released text past special tokens and held-back bytes', async () => {
    const stream = new ChunkStream();
    stream.push({ text: 'In', tokenIds: [1], logprobs: [lp('In')] });
    stream.push({ text: '', tokenIds: [2], logprobs: [lp('</s>')] }); // a special token, skipped in the text
    stream.push({ text: '', tokenIds: [3], logprobs: [lp('\ufffd')] }); // the first byte of 'é'
    stream.push({ text: ' é', tokenIds: [4], logprobs: [lp('\ufffd')] }); // its last byte, with the space held before it
    stream.push({ text: 'x', tokenIds: [5], logprobs: [lp('x')] });
    stream.end({ finishReason: 'length', stoppedBy: undefined, promptTokens: 1, completionTokens: 5, cachedTokens: 0 });
    const c = await collect(stream);
    assert.equal(c.text, 'In éx');
    const echoed = 'Say: ';
    const logprobs = completionLogprobs(c.logprobs, (i) => echoed.length + (c.logprobOffsets[i] ?? c.text.length));
    assert.deepEqual(
      logprobs.text_offset,
      [0, 2, 2, 2, 4].map((o) => o + echoed.length),
    );
    // The old sum of pieces put the last token at 2 + 4 + 1 + 1 = 8, past the 5-character text.
    for (const o of logprobs.text_offset) assert.ok(o <= echoed.length + c.text.length);
  });
});
