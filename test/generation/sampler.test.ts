import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sampler, SeededRandom, topIndices } from '../../src/generation/sampler.js';
import type { SamplingParams } from '../../src/generation/engine-types.js';
import { samplingParams } from './test-sampling.js';

function sampler(params: Partial<SamplingParams>, prompt: number[] = [], eos: number[] = []): Sampler {
  return new Sampler({ params: samplingParams(params), promptTokenIds: prompt, eosTokenIds: eos, fallbackSeed: 7 });
}

/** Draws n tokens from the same logits, accepting none (so penalties stay off). */
function draws(s: Sampler, logits: number[], n: number): number[] {
  const x = Float32Array.from(logits);
  return Array.from({ length: n }, () => s.sample(x).tokenId);
}

function histogram(ids: number[], size: number): number[] {
  const h = new Array<number>(size).fill(0);
  for (const id of ids) h[id] = (h[id] ?? 0) + 1;
  return h;
}

describe('sampler', () => {
  it('greedy picks the argmax, the lowest id among ties', () => {
    assert.equal(sampler({}).sample(Float32Array.from([0.1, 3, -1, 2])).tokenId, 1);
    assert.equal(sampler({}).sample(Float32Array.from([5, 5, 1])).tokenId, 0);
  });

  it('logit_bias moves a token to the top, or bans it with -100', () => {
    const logits = Float32Array.from([1, 2, 3]);
    assert.equal(sampler({ logitBias: new Map([[0, 10]]) }).sample(logits).tokenId, 0);
    assert.equal(sampler({ logitBias: new Map([[2, -100]]) }).sample(logits).tokenId, 1);
    // Out-of-vocabulary ids are ignored rather than written past the end.
    assert.equal(sampler({ logitBias: new Map([[99, 100]]) }).sample(logits).tokenId, 2);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    // Prompt holds token 0: 4 / 2 = 2 < 3, so token 1 wins.
    assert.equal(sampler({ repetitionPenalty: 2 }, [0]).sample(Float32Array.from([4, 3, -5])).tokenId, 1);
    // Negative logits get more negative: -1 * 3 = -3 < -2.
    assert.equal(sampler({ repetitionPenalty: 3 }, [0]).sample(Float32Array.from([-1, -2])).tokenId, 1);
    // Generated tokens count too.
    const s = sampler({ repetitionPenalty: 4 });
    s.accept(0);
    assert.equal(s.sample(Float32Array.from([4, 3])).tokenId, 1);
  });

  it('frequency penalty grows with each repeat; presence penalty applies once', () => {
    const f = sampler({ frequencyPenalty: 0.6 });
    const logits = Float32Array.from([2, 1]);
    f.accept(0);
    assert.equal(f.sample(logits).tokenId, 0, '2 - 0.6 > 1');
    f.accept(0);
    assert.equal(f.sample(logits).tokenId, 1, '2 - 1.2 < 1');
    const p = sampler({ presencePenalty: 0.6 });
    p.accept(0);
    p.accept(0);
    p.accept(0);
    assert.equal(p.sample(logits).tokenId, 0, 'presence penalty does not grow: 2 - 0.6 > 1');
    // Prompt tokens are not penalised by the additive (OpenAI) penalties.
    assert.equal(sampler({ presencePenalty: 2 }, [0]).sample(logits).tokenId, 0);
  });

  it('EOS and stop ids are masked until min_tokens exist, then end the sequence', () => {
    const s = sampler({ minTokens: 2, stopTokenIds: [3] }, [], [0]);
    const logits = Float32Array.from([9, 1, 2, 8]);
    assert.equal(s.sample(logits).tokenId, 2);
    assert.equal(s.isStopToken(0), false);
    s.accept(2);
    s.accept(2);
    assert.equal(s.sample(logits).tokenId, 0);
    assert.equal(s.isStopToken(0), true);
    assert.equal(s.isStopToken(3), true);
    assert.equal(s.isStopToken(1), false);
  });

  it('ignore_eos keeps EOS an ordinary token; stop_token_ids still stop', () => {
    const s = sampler({ ignoreEos: true, stopTokenIds: [5] }, [], [0]);
    assert.equal(s.isStopToken(0), false);
    assert.equal(s.isStopToken(5), true);
  });

  it('a seed gives the same tokens; different seeds differ', () => {
    const logits = [1, 1.2, 0.8, 1.1, 0.9, 1.0];
    const a = draws(sampler({ temperature: 1, seed: 42 }), logits, 50);
    const b = draws(sampler({ temperature: 1, seed: 42 }), logits, 50);
    const c = draws(sampler({ temperature: 1, seed: 43 }), logits, 50);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('samples in proportion to softmax(logits / temperature)', () => {
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const h = histogram(draws(sampler({ temperature: 1, seed: 1 }), logits, 20000), 3);
    assert.ok(Math.abs((h[0] ?? 0) / 20000 - 0.5) < 0.02, `p0 ${h[0]}`);
    assert.ok(Math.abs((h[2] ?? 0) / 20000 - 0.2) < 0.02, `p2 ${h[2]}`);
    // A low temperature sharpens toward the argmax.
    const cold = histogram(draws(sampler({ temperature: 0.1, seed: 1 }), logits, 2000), 3);
    assert.ok((cold[0] ?? 0) > 1950, `cold ${cold[0]}`);
  });

  it('top_k keeps only the k best tokens', () => {
    const h = histogram(draws(sampler({ temperature: 1, topK: 2, seed: 3 }), [3, 2.9, 2.8, 2.7], 3000), 4);
    assert.equal((h[2] ?? 0) + (h[3] ?? 0), 0);
    assert.ok((h[0] ?? 0) > 0 && (h[1] ?? 0) > 0);
  });

  it('top_p keeps the smallest best-first prefix reaching p, always at least the best token', () => {
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
    const h = histogram(draws(sampler({ temperature: 1, topP: 0.8, seed: 5 }), logits, 3000), 4);
    assert.equal((h[2] ?? 0) + (h[3] ?? 0), 0, '0.5 + 0.3 reaches 0.8');
    assert.ok((h[1] ?? 0) > 0);
    const tiny = histogram(draws(sampler({ temperature: 1, topP: 0.01, seed: 5 }), logits, 500), 4);
    assert.equal(tiny[0], 500, 'a tiny top_p still keeps the best token');
  });

  it('min_p over a 152k-token vocabulary (Qwen-sized) samples without overflowing the stack', () => {
    const logits = new Float32Array(152_064).fill(-5);
    logits[151_000] = 5;
    logits[7] = 4.5;
    const ids = draws(sampler({ temperature: 1, minP: 0.2, seed: 3 }), Array.from(logits), 50);
    assert.ok(ids.every((id) => id === 151_000 || id === 7));
    assert.ok(ids.includes(151_000) && ids.includes(7));
  });

  it('min_p drops tokens below min_p times the best probability', () => {
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
    // threshold 0.5 * 0.5 = 0.25: tokens 0 and 1 stay.
    const h = histogram(draws(sampler({ temperature: 1, minP: 0.5, seed: 9 }), logits, 3000), 4);
    assert.equal((h[2] ?? 0) + (h[3] ?? 0), 0);
    assert.ok((h[1] ?? 0) > 0);
    const all = histogram(draws(sampler({ temperature: 1, minP: 1, seed: 9 }), logits, 300), 4);
    assert.equal(all[0], 300, 'min_p 1 leaves only the best token');
  });

  it('a banned token is never sampled', () => {
    const ids = draws(sampler({ temperature: 2, seed: 11, logitBias: new Map([[1, -Infinity]]) }), [1, 5, 1], 500);
    assert.ok(!ids.includes(1));
  });

  it('logprobs are the raw log-softmax, with the top alternatives best first', () => {
    const s = sampler({ logprobs: 2, logitBias: new Map([[2, 100]]) });
    const out = s.sample(Float32Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]));
    assert.equal(out.tokenId, 2, 'the bias chooses token 2');
    assert.ok(Math.abs((out.logprob ?? 0) - Math.log(0.1)) < 1e-6, 'its logprob ignores the bias');
    assert.deepEqual(
      out.top?.map((t) => t.tokenId),
      [0, 1],
    );
    assert.ok(Math.abs((out.top?.[0]?.logprob ?? 0) - Math.log(0.6)) < 1e-6);
    assert.equal(sampler({}).sample(Float32Array.from([1, 2])).logprob, undefined);
  });

  it('topIndices returns the k largest best first', () => {
    assert.deepEqual(topIndices(Float32Array.from([3, 9, 1, 7, 9]), 3), [1, 4, 3]);
    assert.deepEqual(topIndices(Float32Array.from([1]), 5), [0]);
  });

  it('the RNG is uniform enough and reproducible', () => {
    const r = new SeededRandom(123);
    let sum = 0;
    for (let i = 0; i < 10000; i++) sum += r.next();
    assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
    assert.equal(new SeededRandom(2 ** 40 + 5).next(), new SeededRandom(2 ** 40 + 5).next());
    assert.notEqual(new SeededRandom(2 ** 40 + 5).next(), new SeededRandom(5).next());
  });
});
