// What speculative decoding asks of the decoder, on kjv-tiny, through both backends (worker thread
// and inline): a step row with allLogits returns the logits of every new position, equal to
// feeding the tokens one at a time; a cache cut back to a length and then continued equals never
// having fed the cut tokens; rows with and without allLogits share one step.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DecoderBackend } from '../../src/generation/generation-engine.js';
import { InlineDecoder } from '../../src/runtime/decoder-inline.js';
import { DecoderSession } from '../../src/runtime/decoder-session.js';
import { greedyFixture, KJV_MODEL } from '../generation/kjv-engine.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

const VOCAB = 1536;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const [caseA, caseB] = greedyFixture.prompts;
assert.ok(caseA !== undefined && caseB !== undefined);
const promptA = caseA.prompt_token_ids;
const promptB = caseB.prompt_token_ids;
/** Tokens appended after each prompt: its greedy continuation. */
const moreA = caseA.greedy_token_ids.slice(0, 6);
const moreB = caseB.greedy_token_ids.slice(0, 4);

for (const backend of ['worker', 'inline'] as const) {
  describe(`the ${backend} decoder verifies drafts and rolls back its cache`, () => {
    let decoder: DecoderBackend;
    before(async () => {
      decoder =
        backend === 'worker'
          ? (await DecoderSession.load('kjv-tiny/1', KJV_MODEL, OPTIONS)).session
          : (await InlineDecoder.load(KJV_MODEL, OPTIONS)).session;
    });
    after(() => decoder.close());

    /** Logits of each token of `more` fed one step at a time after the prompt (sequence `seq`). */
    async function oneAtATime(
      seq: number,
      prompt: readonly number[],
      more: readonly number[],
    ): Promise<Float32Array[]> {
      await decoder.step([{ seq, tokenIds: prompt }]);
      const out: Float32Array[] = [];
      for (const t of more) out.push((await decoder.step([{ seq, tokenIds: [t] }])).logits);
      await decoder.step([], { free: [seq] });
      return out;
    }

    it('returns logits at every new position that equal feeding the tokens one at a time', async () => {
      const expected = await oneAtATime(1, promptA, moreA);
      await decoder.step([{ seq: 2, tokenIds: promptA }]);
      const out = await decoder.step([{ seq: 2, tokenIds: moreA, allLogits: true }]);
      assert.equal(out.logits.length, moreA.length * VOCAB);
      expected.forEach((e, i) => {
        const got = out.logits.subarray(i * VOCAB, (i + 1) * VOCAB);
        assert.ok(maxAbsDiff(got, e) < 1e-4, `position ${i}: ${maxAbsDiff(got, e)}`);
      });
      await decoder.step([], { free: [2] });
    });

    it('batches a verifying row with a plain row of another length and past', async () => {
      const expectedA = await oneAtATime(3, promptA, moreA);
      const expectedB = await oneAtATime(4, promptB, moreB);
      await decoder.step([{ seq: 5, tokenIds: promptA }]);
      await decoder.step([{ seq: 6, tokenIds: [...promptB, ...moreB.slice(0, -1)] }]);
      const out = await decoder.step([
        { seq: 5, tokenIds: moreA, allLogits: true },
        { seq: 6, tokenIds: moreB.slice(-1) },
      ]);
      assert.equal(out.logits.length, (moreA.length + 1) * VOCAB);
      expectedA.forEach((e, i) => {
        const got = out.logits.subarray(i * VOCAB, (i + 1) * VOCAB);
        assert.ok(maxAbsDiff(got, e) < 1e-4, `row A position ${i}`);
      });
      const lastB = out.logits.subarray(moreA.length * VOCAB);
      assert.ok(maxAbsDiff(lastB, expectedB[expectedB.length - 1] as Float32Array) < 1e-4, 'row B');
      await decoder.step([], { free: [5, 6] });
    });

    it('continues after a truncation as if the cut tokens had never been fed', async () => {
      const kept = moreA.slice(0, 2);
      const next = moreA.slice(2, 4);
      const expected = await oneAtATime(7, promptA, [...kept, ...next]);
      // Feed the prompt, the kept tokens and three wrong drafts; cut the drafts; feed the real ones.
      await decoder.step([{ seq: 8, tokenIds: [...promptA, ...kept, 7, 8, 9], allLogits: true }]);
      const out = await decoder.step([{ seq: 8, tokenIds: next, allLogits: true }], {
        truncate: [{ seq: 8, length: promptA.length + kept.length }],
      });
      for (let i = 0; i < next.length; i++) {
        const got = out.logits.subarray(i * VOCAB, (i + 1) * VOCAB);
        const e = expected[kept.length + i] as Float32Array;
        assert.ok(maxAbsDiff(got, e) < 1e-4, `position ${i}: ${maxAbsDiff(got, e)}`);
      }
      await decoder.step([], { free: [8] });
    });

    it('leaves a cache shorter than the truncation length as it is', async () => {
      const expected = await oneAtATime(9, promptA, moreA.slice(0, 1));
      await decoder.step([{ seq: 10, tokenIds: promptA }], {});
      const out = await decoder.step([{ seq: 10, tokenIds: moreA.slice(0, 1) }], {
        truncate: [{ seq: 10, length: promptA.length + 5 }],
      });
      assert.ok(maxAbsDiff(out.logits, expected[0] as Float32Array) < 1e-4);
      await decoder.step([], { free: [10] });
    });
  });
}
