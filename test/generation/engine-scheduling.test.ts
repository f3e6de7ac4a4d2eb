import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/errors/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import { collect, greedyFixture, kjvEngine, request } from './kjv-engine.js';

const [caseA, caseB] = greedyFixture.prompts;
if (caseA === undefined || caseB === undefined) throw new Error('the fixture needs two prompts');
const long = { maxTokens: 200, ignoreEos: true };

describe('engine scheduling', () => {
  it('a repeated prompt reuses the cached prefix and gives identical tokens', async () => {
    const engine = await kjvEngine({ prefixCacheBlocks: 64, prefixBlockTokens: 4 });
    try {
      const first = await collect(engine, request(caseA.prompt_token_ids));
      assert.equal(first.result.cachedTokens, 0);
      const again = await collect(engine, request(caseA.prompt_token_ids));
      // Whole blocks, always short of the whole prompt (its last token must run for logits).
      const expected = Math.floor((caseA.prompt_token_ids.length - 1) / 4) * 4;
      assert.ok(expected > 0);
      assert.equal(again.result.cachedTokens, expected);
      assert.deepEqual(again.ids, first.ids);
      // A prompt sharing only the first block reuses that block.
      const branched = [...caseA.prompt_token_ids.slice(0, 5), ...caseB.prompt_token_ids.slice(1)];
      const plain = await kjvEngine();
      try {
        const reference = await collect(plain, request(branched));
        const out = await collect(engine, request(branched));
        assert.equal(out.result.cachedTokens, 4);
        assert.deepEqual(out.ids, reference.ids);
      } finally {
        await plain.close();
      }
    } finally {
      await engine.close();
    }
  });

  it('the prefix cache evicts the least recently used entry when its blocks run out', async () => {
    const engine = await kjvEngine({ prefixCacheBlocks: 2, prefixBlockTokens: 4 });
    try {
      await collect(engine, request(caseA.prompt_token_ids.slice(0, 9)));
      await collect(engine, request(caseB.prompt_token_ids.slice(0, 9)));
      // B's two blocks pushed A's out.
      assert.equal((await collect(engine, request(caseA.prompt_token_ids.slice(0, 9)))).result.cachedTokens, 0);
      assert.equal((await collect(engine, request(caseA.prompt_token_ids.slice(0, 9)))).result.cachedTokens, 8);
    } finally {
      await engine.close();
    }
  });

  it('cancelling a running sequence frees its slot for a waiting one', async () => {
    const engine = await kjvEngine({ maxRunningSequences: 1, maxWaitingSequences: 1 });
    try {
      const ac = new AbortController();
      const a = engine.generate(request(caseA.prompt_token_ids, long, ac.signal));
      const b = collect(engine, request(caseB.prompt_token_ids, { maxTokens: 3 }));
      assert.equal(engine.running + engine.waiting, 2);
      let got = 0;
      for await (const c of a) {
        got += c.tokenIds.length;
        if (got === 2) ac.abort();
      }
      const ra = await a.result;
      assert.equal(ra.finishReason, 'abort');
      assert.ok(ra.completionTokens < 200);
      const rb = await b;
      assert.equal(rb.result.finishReason, 'length');
      assert.equal(rb.ids.length, 3);
      assert.equal(engine.running + engine.waiting, 0);
    } finally {
      await engine.close();
    }
  });

  it('a cancelled waiting sequence leaves the queue at once; one aborted before it starts never runs', async () => {
    const engine = await kjvEngine({ maxRunningSequences: 1, maxWaitingSequences: 2 });
    try {
      const ac = new AbortController();
      const a = collect(engine, request(caseA.prompt_token_ids, { maxTokens: 5 }));
      const b = engine.generate(request(caseB.prompt_token_ids, long, ac.signal));
      ac.abort();
      assert.deepEqual(await b.result, {
        finishReason: 'abort',
        stoppedBy: undefined,
        promptTokens: caseB.prompt_token_ids.length,
        completionTokens: 0,
        cachedTokens: 0,
      });
      const pre = engine.generate(request(caseB.prompt_token_ids, {}, AbortSignal.abort()));
      assert.equal((await pre.result).finishReason, 'abort');
      assert.equal((await a).ids.length, 5);
    } finally {
      await engine.close();
    }
  });

  it('refuses with INF_ERR_QUEUE_FULL beyond max_running + max_waiting sequences', async () => {
    const engine = await kjvEngine({ maxRunningSequences: 1, maxWaitingSequences: 1 });
    try {
      const ac = new AbortController();
      engine.generate(request(caseA.prompt_token_ids, long, ac.signal));
      engine.generate(request(caseB.prompt_token_ids, long, ac.signal));
      assert.throws(
        () => engine.generate(request(caseB.prompt_token_ids)),
        (err: unknown) => err instanceof InferdError && err.code === 'INF_ERR_QUEUE_FULL' && err.httpStatus === 429,
      );
      ac.abort();
    } finally {
      await engine.close();
    }
  });

  it('refuses empty prompts, prompts filling the context and out-of-vocabulary ids', async () => {
    const engine = await kjvEngine();
    try {
      const invalid = (ids: number[], pattern: RegExp) =>
        assert.throws(
          () => engine.generate(request(ids)),
          (err: unknown) =>
            err instanceof InferdError && err.code === 'INF_ERR_INVALID_ARGUMENT' && pattern.test(err.message),
        );
      invalid([], /empty/);
      invalid(new Array<number>(256).fill(5), /maximum context length is 256 tokens/);
      invalid([0, 1536], /token id 1536 is out of vocabulary/);
    } finally {
      await engine.close();
    }
  });

  it('stops at a stop token id (counted, not decoded) and at the context length', async () => {
    const engine = await kjvEngine();
    try {
      const ref = await collect(engine, request(caseA.prompt_token_ids, { maxTokens: 6, ignoreEos: true }));
      const stopId = ref.ids[3] as number;
      const out = await collect(engine, request(caseA.prompt_token_ids, { stopTokenIds: [stopId], ignoreEos: true }));
      const at = ref.ids.indexOf(stopId);
      assert.equal(out.result.finishReason, 'stop');
      assert.equal(out.result.stoppedBy, stopId);
      assert.equal(out.ids.length, at + 1);
      assert.ok(!out.text.includes(`<${stopId}>`));
      // 250 prompt tokens leave 6 before the 256-token context is full.
      const full = await collect(engine, request(new Array<number>(250).fill(5), { maxTokens: 100, ignoreEos: true }));
      assert.equal(full.result.finishReason, 'length');
      assert.equal(full.ids.length, 6);
    } finally {
      await engine.close();
    }
  });

  it('stop strings end generation and are not in the text', async () => {
    const engine = await kjvEngine();
    try {
      const ref = await collect(engine, request(caseA.prompt_token_ids, { maxTokens: 6, ignoreEos: true }));
      // The id tokenizer spells token t as `<t>`: stop inside the third token's text.
      const third = `<${ref.ids[2]}>`;
      const stop = third.slice(0, 3);
      const out = await collect(engine, request(caseA.prompt_token_ids, { stop: [stop], ignoreEos: true }));
      const cut = ref.text.indexOf(stop);
      assert.equal(out.result.finishReason, 'stop');
      assert.equal(out.result.stoppedBy, stop);
      assert.equal(out.text, ref.text.slice(0, cut));
    } finally {
      await engine.close();
    }
  });

  it('a seed gives the same sample whatever else shares the batch', async () => {
    const engine = await kjvEngine();
    try {
      const sampled = { temperature: 1, seed: 1234, ignoreEos: true, maxTokens: 16 };
      const alone = await collect(engine, request(caseA.prompt_token_ids, sampled));
      const [together] = await Promise.all([
        collect(engine, request(caseA.prompt_token_ids, sampled)),
        collect(engine, request(caseB.prompt_token_ids, { temperature: 1, maxTokens: 20 })),
        collect(engine, request(caseB.prompt_token_ids, { temperature: 0.7, seed: 9, maxTokens: 8 })),
      ]);
      assert.deepEqual(together.ids, alone.ids);
    } finally {
      await engine.close();
    }
  });

  it('logprobs come with each token', async () => {
    const engine = await kjvEngine();
    try {
      const stream = engine.generate(request(caseA.prompt_token_ids, { maxTokens: 2, logprobs: 3 }));
      for await (const c of stream) {
        assert.equal(c.logprobs?.length, c.tokenIds.length);
        const lp = c.logprobs?.[0];
        assert.ok(lp !== undefined && lp.logprob <= 0 && lp.top.length === 3);
        assert.equal(lp.token, `<${lp.tokenId}>`);
        // Greedy: the chosen token is the most likely one.
        assert.equal(lp.top[0]?.tokenId, lp.tokenId);
      }
    } finally {
      await engine.close();
    }
  });

  it('exports vLLM-named metrics', async () => {
    const metrics = new Metrics();
    const engine = await kjvEngine({ maxRunningSequences: 4, prefixCacheBlocks: 8, prefixBlockTokens: 4 }, metrics);
    try {
      await collect(engine, request(caseA.prompt_token_ids, { maxTokens: 4, ignoreEos: true }));
      await collect(engine, request(caseA.prompt_token_ids, { maxTokens: 4, ignoreEos: true }));
      const text = await metrics.registry.metrics();
      const value = (line: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(line))
            ?.split(' ')
            .pop(),
        );
      const n = caseA.prompt_token_ids.length;
      assert.equal(value('inferd:prompt_tokens_total{model_name="kjv-tiny"}'), 2 * n);
      assert.equal(value('inferd:generation_tokens_total{model_name="kjv-tiny"}'), 8);
      assert.equal(value('inferd:request_success_total{model_name="kjv-tiny",finished_reason="length"}'), 2);
      assert.equal(value('inferd:prefix_cache_queries{model_name="kjv-tiny"}'), 2 * n);
      assert.equal(value('inferd:prefix_cache_hits{model_name="kjv-tiny"}'), Math.floor((n - 1) / 4) * 4);
      assert.equal(value('inferd:time_to_first_token_seconds_count{model_name="kjv-tiny"}'), 2);
      assert.equal(value('inferd:inter_token_latency_seconds_count{model_name="kjv-tiny"}'), 6);
      assert.equal(value('inferd:num_requests_running{model_name="kjv-tiny"}'), 0);
      // The Gateway API inference extension reads vLLM's own names.
      assert.equal(value('vllm:num_requests_running{model_name="kjv-tiny"}'), 0);
      assert.equal(value('vllm:num_requests_waiting{model_name="kjv-tiny"}'), 0);
      assert.equal(value('vllm:kv_cache_usage_perc{model_name="kjv-tiny"}'), 0);
      assert.ok(text.includes('inferd:e2e_request_latency_seconds_bucket'));
      assert.ok(text.includes('inferd:request_queue_time_seconds_bucket'));
      assert.ok(text.includes('inferd:kv_cache_usage_perc'));
    } finally {
      await engine.close();
    }
  });
});
