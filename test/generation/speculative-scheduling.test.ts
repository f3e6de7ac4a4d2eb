// When the engine speculates and what it counts: kjv-tiny drafting for itself has every draft
// token accepted, an always-wrong drafter none, and vLLM's spec_decode counters say so; no
// sequence is drafted for in a step with disable_by_batch_size sequences running, nor one with an
// output constraint; drafts never reach past max_tokens.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/observability/metrics.js';
import { collect, greedyFixture, request } from './kjv-engine.js';
import { CountingDrafter, makeDrafter, specEngine } from './kjv-speculative.js';

const prompts = greedyFixture.prompts.map((c) => c.prompt_token_ids);

/** The value of a series in the Prometheus text, 0 when absent. */
async function series(metrics: Metrics, name: string, labels = ''): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('speculative decoding', () => {
  it('accepts every draft token when kjv-tiny drafts for itself, and counts them under vLLM names', async () => {
    const metrics = new Metrics();
    const drafter = new CountingDrafter(await makeDrafter('draft-model'));
    const engine = await specEngine({ drafter, numSpeculativeTokens: 3, metrics });
    try {
      for (const p of prompts) await collect(engine, request(p, { maxTokens: 20, ignoreEos: true }));
    } finally {
      await engine.close();
    }
    const drafts = await series(metrics, 'vllm:spec_decode_num_drafts_total');
    const draftTokens = await series(metrics, 'vllm:spec_decode_num_draft_tokens_total');
    const accepted = await series(metrics, 'vllm:spec_decode_num_accepted_tokens_total');
    assert.equal(drafts, drafter.asked.length);
    assert.ok(draftTokens >= drafts && draftTokens <= 3 * drafts);
    assert.equal(accepted, draftTokens);
    // Every step speculated 3 tokens except near max_tokens; each position's count is the drafts that reached it.
    const pos0 = await series(metrics, 'vllm:spec_decode_num_accepted_tokens_per_pos_total', 'position="0"');
    const pos2 = await series(metrics, 'vllm:spec_decode_num_accepted_tokens_per_pos_total', 'position="2"');
    assert.equal(pos0, drafts);
    assert.equal(pos2, drafter.asked.filter((a) => a.k === 3).length);
    // 20 tokens in steps of 4 (3 accepted + 1 bonus): 5 drafting steps per sequence at most.
    assert.ok(drafts <= 5 * prompts.length, `drafts ${drafts}`);
  });

  it('counts no accepted token when every draft is wrong', async () => {
    const metrics = new Metrics();
    const engine = await specEngine({ drafter: await makeDrafter('always-wrong'), metrics });
    try {
      await collect(engine, request(prompts[0] as number[], { maxTokens: 10, ignoreEos: true }));
    } finally {
      await engine.close();
    }
    assert.ok((await series(metrics, 'vllm:spec_decode_num_draft_tokens_total')) > 0);
    assert.equal(await series(metrics, 'vllm:spec_decode_num_accepted_tokens_total'), 0);
  });

  it('asks for no draft in a step where disable_by_batch_size sequences run', async () => {
    const drafter = new CountingDrafter(await makeDrafter('ngram'));
    const engine = await specEngine({ drafter, disableByBatchSize: 3 });
    drafter.probe = () => engine.running;
    try {
      // Three sequences run together until the short one ends; then the other two are drafted for.
      const short = collect(engine, request(prompts[0] as number[], { maxTokens: 2, ignoreEos: true }));
      const longs = [1, 2].map((i) =>
        collect(engine, request(prompts[i] as number[], { maxTokens: 30, ignoreEos: true })),
      );
      await Promise.all([short, ...longs]);
      assert.ok(drafter.probed.length > 0, 'drafted once two ran');
      assert.ok(
        drafter.probed.every((running) => running < 3),
        `running at proposals: ${drafter.probed.join(',')}`,
      );
      assert.ok(
        drafter.asked.every((a) => a.seq !== 1),
        'the short sequence was never drafted for',
      );
    } finally {
      await engine.close();
    }
  });

  it('never drafts for a sequence with an output constraint', async () => {
    const drafter = new CountingDrafter(await makeDrafter('ngram'));
    const engine = await specEngine({ drafter });
    try {
      const p = prompts[1] as number[];
      await collect(engine, request(p, { maxTokens: 16, constraint: { kind: 'json' } }));
      assert.equal(drafter.asked.length, 0);
      await collect(engine, request(p, { maxTokens: 16 }));
      assert.ok(drafter.asked.length > 0);
    } finally {
      await engine.close();
    }
  });

  it('asks for at most the tokens max_tokens leaves after the next one', async () => {
    const drafter = new CountingDrafter(await makeDrafter('ngram'));
    const engine = await specEngine({ drafter, numSpeculativeTokens: 8 });
    try {
      const p = prompts[2] as number[];
      const out = await collect(engine, request(p, { maxTokens: 12, ignoreEos: true }));
      assert.equal(out.ids.length, 12);
      assert.ok(drafter.asked.length > 0);
      for (const a of drafter.asked) {
        const generated = a.tokens.length - p.length;
        assert.ok(a.k <= 12 - generated - 1, `k ${a.k} after ${generated} tokens`);
      }
    } finally {
      await engine.close();
    }
  });
});
