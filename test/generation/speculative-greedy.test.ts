// Speculative decoding changes how fast tokens come, never which: greedy output with prompt
// lookup, with a draft model, and with a drafter that is always wrong is token-identical to
// decoding without speculation, one sequence at a time and batched, with the same logprobs,
// finish reasons, stop strings, max_tokens and EOS behaviour.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SamplingParams, TokenLogprob } from '../../src/generation/engine-types.js';
import type { GenerationEngine } from '../../src/generation/generation-engine.js';
import { collect, greedyFixture, request } from './kjv-engine.js';
import { CountingDrafter, makeDrafter, manyPrompts, specEngine, type DrafterKind } from './kjv-speculative.js';

const prompts = manyPrompts(greedyFixture.prompts);

type Outcome = Awaited<ReturnType<typeof collect>>;

async function runAll(
  engine: GenerationEngine,
  sampling: Partial<SamplingParams>,
  batched: boolean,
): Promise<Outcome[]> {
  if (batched) return Promise.all(prompts.map((p) => collect(engine, request(p, sampling))));
  const outs: Outcome[] = [];
  for (const p of prompts) outs.push(await collect(engine, request(p, sampling)));
  return outs;
}

function assertSame(got: Outcome[], want: Outcome[]): void {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => {
    const g = got[i] as Outcome;
    assert.deepEqual(g.ids, w.ids, `prompt ${i}: tokens`);
    assert.equal(g.text, w.text, `prompt ${i}: text`);
    assert.equal(g.result.finishReason, w.result.finishReason, `prompt ${i}: finish reason`);
    assert.equal(g.result.stoppedBy, w.result.stoppedBy, `prompt ${i}: stopped by`);
    assert.equal(g.result.completionTokens, w.result.completionTokens, `prompt ${i}: completion tokens`);
  });
}

describe('greedy output with speculative decoding equals the output without', () => {
  let plain: GenerationEngine;
  const baseline = new Map<string, Outcome[]>();
  /** Sampling cases: long runs through EOS, short max_tokens, a stop string, logprobs. */
  const cases: Record<string, Partial<SamplingParams>> = {
    'max_tokens 40': { maxTokens: 40 },
    'max_tokens 3': { maxTokens: 3 },
    'max_tokens 1': { maxTokens: 1 },
    'a stop string': { maxTokens: 40, stop: ['<264><346>'] },
    ignore_eos: { maxTokens: 30, ignoreEos: true },
    // Sampled, but top_k 1 leaves one candidate: the rejection-sampling path must give greedy tokens.
    'sampled with top_k 1': { maxTokens: 30, temperature: 1, topK: 1, seed: 3 },
  };

  before(async () => {
    plain = await specEngine();
    for (const [name, sampling] of Object.entries(cases)) baseline.set(name, await runAll(plain, sampling, false));
  });
  after(() => plain.close());

  it('the baseline itself equals the PyTorch greedy fixture', () => {
    const outs = baseline.get('max_tokens 40') as Outcome[];
    greedyFixture.prompts.forEach((c) => {
      const i = prompts.indexOf(c.prompt_token_ids);
      const ids = (outs[i] as Outcome).ids;
      assert.deepEqual(ids.slice(0, c.greedy_token_ids.length), c.greedy_token_ids.slice(0, ids.length));
    });
  });

  for (const kind of ['ngram', 'draft-model', 'always-wrong'] as const satisfies readonly DrafterKind[]) {
    describe(`with ${kind} drafts`, () => {
      let engine: GenerationEngine;
      let drafter: CountingDrafter;
      before(async () => {
        drafter = new CountingDrafter(await makeDrafter(kind));
        engine = await specEngine({ drafter, numSpeculativeTokens: 4 });
      });
      after(() => engine.close());

      for (const [name, sampling] of Object.entries(cases)) {
        it(`${name}, one sequence at a time`, async () => {
          assertSame(await runAll(engine, sampling, false), baseline.get(name) as Outcome[]);
        });
        it(`${name}, every prompt in one batch`, async () => {
          assertSame(await runAll(engine, sampling, true), baseline.get(name) as Outcome[]);
        });
      }

      it('drafts were asked for, never past max_tokens', () => {
        assert.ok(drafter.asked.length > 0);
        for (const a of drafter.asked) assert.ok(a.k >= 1 && a.k <= 4);
      });

      it('reports the same logprobs', async () => {
        const sampling = { maxTokens: 24, logprobs: 3 };
        for (const p of prompts.slice(0, 6)) {
          const stream = engine.generate(request(p, sampling));
          const plainStream = plain.generate(request(p, sampling));
          const got: TokenLogprob[] = [];
          const want: TokenLogprob[] = [];
          for await (const c of stream) got.push(...(c.logprobs ?? []));
          for await (const c of plainStream) want.push(...(c.logprobs ?? []));
          assert.equal(got.length, want.length);
          got.forEach((g, i) => {
            const w = want[i];
            assert.ok(w !== undefined);
            assert.equal(g.tokenId, w.tokenId);
            assert.ok(Math.abs(g.logprob - w.logprob) < 1e-4, `token ${i}: ${g.logprob} vs ${w.logprob}`);
            assert.deepEqual(
              g.top.map((t) => t.tokenId),
              w.top.map((t) => t.tokenId),
            );
          });
        }
      });
    });
  }
});
