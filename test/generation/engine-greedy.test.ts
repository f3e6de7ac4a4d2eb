import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GenerationEngine } from '../../src/generation/generation-engine.js';
import { collect, greedyFixture, kjvEngine, request } from './kjv-engine.js';

const cases = greedyFixture.prompts;

describe('greedy decoding on kjv-tiny equals the PyTorch model', () => {
  let engine: GenerationEngine;
  before(async () => {
    engine = await kjvEngine();
  });
  after(() => engine.close());

  it('one sequence at a time', async () => {
    for (const c of cases) {
      const out = await collect(engine, request(c.prompt_token_ids));
      assert.deepEqual(out.ids, c.greedy_token_ids.slice(0, out.ids.length));
      assert.equal(out.result.promptTokens, c.prompt_token_ids.length);
    }
  });

  it('with every prompt sharing the batch (different past lengths)', async () => {
    const outs = await Promise.all(cases.map((c) => collect(engine, request(c.prompt_token_ids))));
    outs.forEach((out, i) => {
      const expected = cases[i]?.greedy_token_ids ?? [];
      assert.deepEqual(out.ids, expected.slice(0, out.ids.length), `prompt ${i}`);
    });
  });

  it('when a prompt joins while others are mid-stream', async () => {
    const [first, ...rest] = cases;
    assert.ok(first !== undefined);
    const stream = engine.generate(request(first.prompt_token_ids));
    const ids: number[] = [];
    const joined: Promise<Awaited<ReturnType<typeof collect>>>[] = [];
    for await (const c of stream) {
      ids.push(...c.tokenIds);
      // After a few tokens of the first, the others join the running batch.
      if (ids.length === 5) for (const c2 of rest) joined.push(collect(engine, request(c2.prompt_token_ids)));
    }
    assert.deepEqual(ids, first.greedy_token_ids.slice(0, ids.length));
    const outs = await Promise.all(joined);
    outs.forEach((out, i) => {
      const expected = rest[i]?.greedy_token_ids ?? [];
      assert.deepEqual(out.ids, expected.slice(0, out.ids.length), `prompt ${i + 1}`);
    });
  });

  it('with prompts prefilled in chunks of 3 tokens', async () => {
    const chunked = await kjvEngine({ prefillChunkTokens: 3 });
    try {
      const outs = await Promise.all(cases.map((c) => collect(chunked, request(c.prompt_token_ids))));
      outs.forEach((out, i) => {
        const expected = cases[i]?.greedy_token_ids ?? [];
        assert.deepEqual(out.ids, expected.slice(0, out.ids.length), `prompt ${i}`);
      });
    } finally {
      await chunked.close();
    }
  });

  it('generates max_tokens and stops with length, unless EOS comes first', async () => {
    for (const c of cases) {
      const out = await collect(engine, request(c.prompt_token_ids));
      const eosAt = c.greedy_token_ids.indexOf(greedyFixture.eos_token_id);
      if (eosAt >= 0 && eosAt < greedyFixture.max_tokens) {
        assert.equal(out.result.finishReason, 'stop');
        assert.equal(out.ids.length, eosAt + 1);
      } else {
        assert.equal(out.result.finishReason, 'length');
        assert.equal(out.result.completionTokens, greedyFixture.max_tokens);
      }
    }
  });
});
