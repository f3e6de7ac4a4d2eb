// Verifying a draft token keeps the model's output distribution: whatever the draft, the token
// verify() returns is distributed as sample() draws it (Leviathan et al. with a one-hot draft), and
// greedy accepts exactly the argmax.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SamplingParams } from '../../src/generation/engine-types.js';
import { Sampler } from '../../src/generation/sampler.js';
import { samplingParams } from './test-sampling.js';

function sampler(params: Partial<SamplingParams>): Sampler {
  return new Sampler({ params: samplingParams(params), promptTokenIds: [], eosTokenIds: [], fallbackSeed: 7 });
}

/** Share of each token among n verifications of `draft` against the same logits. */
function verified(s: Sampler, logits: number[], draft: number, n: number): { share: number[]; accepted: number } {
  const x = Float32Array.from(logits);
  const counts = new Array<number>(logits.length).fill(0);
  let accepted = 0;
  for (let i = 0; i < n; i++) {
    const v = s.verify(x, draft);
    counts[v.tokenId] = (counts[v.tokenId] ?? 0) + 1;
    if (v.accepted) {
      accepted++;
      assert.equal(v.tokenId, draft);
    } else assert.notEqual(v.tokenId, draft);
  }
  return { share: counts.map((c) => c / n), accepted: accepted / n };
}

describe('verifying a draft token', () => {
  const probs = [0.5, 0.3, 0.15, 0.05];
  const logits = probs.map(Math.log);

  it('greedy accepts the argmax and answers the argmax for every other draft', () => {
    const s = sampler({ temperature: 0 });
    const x = Float32Array.from(logits);
    assert.deepEqual({ ...s.verify(x, 0) }, { tokenId: 0, accepted: true });
    assert.deepEqual({ ...s.verify(x, 2) }, { tokenId: 0, accepted: false });
  });

  for (const draft of [0, 1, 3]) {
    it(`sampled output follows the model's probabilities with draft token ${draft}`, () => {
      const n = 40000;
      const { share, accepted } = verified(sampler({ temperature: 1, seed: 11 }), logits, draft, n);
      probs.forEach((p, i) => assert.ok(Math.abs((share[i] as number) - p) < 0.01, `token ${i}: ${share[i]} vs ${p}`));
      // A one-hot draft is accepted with the model's probability of it.
      assert.ok(Math.abs(accepted - (probs[draft] as number)) < 0.01, `accepted ${accepted}`);
    });
  }

  it('a draft outside top_k is always rejected and the output keeps the top_k distribution', () => {
    const { share, accepted } = verified(sampler({ temperature: 1, topK: 2, seed: 5 }), logits, 3, 20000);
    assert.equal(accepted, 0);
    assert.ok(Math.abs((share[0] as number) - 0.625) < 0.015, `token 0: ${share[0]}`);
    assert.ok(Math.abs((share[1] as number) - 0.375) < 0.015, `token 1: ${share[1]}`);
    assert.equal((share[2] as number) + (share[3] as number), 0);
  });

  it('reports the raw logprob of the returned token', () => {
    const s = sampler({ temperature: 0, logprobs: 1 });
    const v = s.verify(Float32Array.from(logits), 1);
    assert.equal(v.tokenId, 0);
    assert.ok(Math.abs((v.logprob ?? 0) - Math.log(0.5)) < 1e-6);
  });
});
