// A decoder step that fails fails the sequences in it, frees their caches and leaves the engine
// serving; prefix entries that step was to save are forgotten. A scripted decoder stands in for
// ONNX Runtime and keeps its caches and prefix entries as the real one does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TextTokenizer } from '../../src/generation/engine-types.js';
import { GenerationEngine, type DecoderBackend } from '../../src/generation/generation-engine.js';
import type { CacheOps, StepResult, StepRow } from '../../src/runtime/decoder-session.js';
import { samplingParams } from './test-sampling.js';

const VOCAB = 8;

const tokenizer: TextTokenizer = {
  encode: () => [],
  decode: (ids) => ids.map((i) => `<${i}>`).join(''),
  applyChatTemplate: () => '',
  eosTokenIds: [7],
  vocabSize: VOCAB,
};

/** Greedy always picks token 1; `failOn(call, rows)` decides which step calls throw. */
class ScriptedDecoder implements DecoderBackend {
  readonly caches = new Set<number>();
  readonly entries = new Set<number>();
  calls = 0;

  constructor(private readonly failOn: (call: number, rows: readonly StepRow[], ops: CacheOps) => boolean) {}

  step(rows: readonly StepRow[], ops: CacheOps = {}): Promise<StepResult> {
    const call = ++this.calls;
    let missing = false;
    for (const f of ops.fork ?? []) {
      if (this.entries.has(f.entry)) this.caches.add(f.seq);
      else missing = true;
    }
    for (const e of ops.dropEntries ?? []) this.entries.delete(e);
    for (const s of ops.free ?? []) this.caches.delete(s);
    if (missing) return Promise.reject(new Error('no prefix cache entry'));
    for (const r of rows) this.caches.add(r.seq);
    if (this.failOn(call, rows, ops)) return Promise.reject(new Error('step failed'));
    for (const s of ops.save ?? []) this.entries.add(s.entry);
    const logits = new Float32Array(rows.length * VOCAB);
    for (let i = 0; i < rows.length; i++) logits[i * VOCAB + 1] = 10;
    return Promise.resolve({ logits, vocab: VOCAB, timings: { prepareNs: 0, inferNs: 0, collectNs: 0 } });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function engine(decoder: ScriptedDecoder, prefixCacheBlocks = 0): GenerationEngine {
  return new GenerationEngine({
    modelName: 'scripted',
    contextLength: 64,
    vocabSize: VOCAB,
    tokenizer,
    defaults: {},
    decoder,
    limits: {
      maxRunningSequences: 4,
      maxWaitingSequences: 4,
      prefillChunkTokens: 64,
      prefixCacheBlocks,
      prefixBlockTokens: 2,
    },
  });
}

function run(e: GenerationEngine, prompt: number[], maxTokens = 3) {
  const stream = e.generate({
    requestId: 't',
    promptTokenIds: prompt,
    sampling: samplingParams({ maxTokens }),
    arrivalNs: process.hrtime.bigint(),
  });
  return stream.result;
}

describe('engine failures', () => {
  it('a failed step fails its sequences, frees their caches, and the next request is served', async () => {
    const decoder = new ScriptedDecoder((call) => call === 2);
    const e = engine(decoder);
    try {
      await assert.rejects(run(e, [2, 3, 4]), /step failed/);
      assert.equal(e.running + e.waiting, 0);
      const next = await run(e, [2, 3, 4]);
      assert.equal(next.finishReason, 'length');
      assert.equal(next.completionTokens, 3);
      // The last frees travel in a step of their own after the result; close() waits for it.
      await e.close();
      assert.equal(decoder.caches.size, 0, 'every cache was freed');
    } finally {
      await e.close();
    }
  });

  it('a prefix entry whose save failed is not reused', async () => {
    // Only the first save fails.
    const decoder = new ScriptedDecoder((call, _rows, ops) => (ops.save?.length ?? 0) > 0 && call === 1);
    const e = engine(decoder, 16);
    try {
      await assert.rejects(run(e, [2, 3, 4, 5, 6]), /step failed/);
      const again = await run(e, [2, 3, 4, 5, 6]);
      assert.equal(again.cachedTokens, 0);
      const third = await run(e, [2, 3, 4, 5, 6]);
      assert.equal(third.cachedTokens, 4);
      assert.equal(third.finishReason, 'length');
    } finally {
      await e.close();
    }
  });

  it('an entry evicted in the step that would save it is not saved', async () => {
    const decoder = new ScriptedDecoder(() => false);
    const e = engine(decoder, 2);
    try {
      // While a first sequence's step runs, two 4-token prompts queue; they are prefilled in one
      // step, and the second's two blocks evict the first's entry.
      const first = run(e, [6], 2);
      const [a, b] = await Promise.all([run(e, [2, 3, 4, 5], 1), run(e, [5, 4, 3, 2], 1)]);
      assert.equal((await first).finishReason, 'length');
      assert.equal(a.finishReason, 'length');
      assert.equal(b.finishReason, 'length');
      assert.equal(a.cachedTokens + b.cachedTokens, 0);
      assert.equal(decoder.entries.size, 1, 'only the surviving entry is kept');
    } finally {
      await e.close();
    }
  });
});
