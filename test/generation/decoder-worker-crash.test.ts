// A decoder worker that dies fails the generation it was serving with a clear error, and the
// engine goes on serving on a replacement worker, which holds the prefix-cache entries again (the
// output of a prompt that reuses one still equals the PyTorch model's).
//
// The worker is ended between two steps, never inside one: terminating it in the middle of
// session.run would abort the whole process (onnxruntime's native code does not survive its
// isolate going away). A wrapper around the decoder does it as the engine hands over a step.

import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import type { DecoderBackend, GenerationEngine } from '../../src/generation/generation-engine.js';
import type { CacheOps, DecoderSession, StepResult, StepRow } from '../../src/runtime/decoder-session.js';
import { collect, greedyFixture, kjvEngine, request } from './kjv-engine.js';

/**
 * 'posted': the step is posted to a worker already told to stop, so it is in flight when the
 * worker exits. 'after-exit': the worker has exited before the step is handed on.
 */
type Crash = 'posted' | 'after-exit';

class CrashingDecoder implements DecoderBackend {
  crashAtNextStep: Crash | undefined;

  constructor(readonly session: DecoderSession) {}

  async step(rows: readonly StepRow[], ops?: CacheOps): Promise<StepResult> {
    const crash = this.crashAtNextStep;
    this.crashAtNextStep = undefined;
    const worker = (this.session as unknown as { worker: Worker }).worker;
    if (crash === 'posted') void worker.terminate();
    if (crash === 'after-exit') await worker.terminate();
    return this.session.step(rows, ops);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

/** Starts a generation and ends the worker at a step after its first token; returns its error. */
async function crashMidStream(
  engine: GenerationEngine,
  decoder: CrashingDecoder,
  prompt: readonly number[],
  crash: Crash,
) {
  const stream = engine.generate(request(prompt));
  let tokens = 0;
  await assert.rejects(
    async () => {
      for await (const chunk of stream) {
        tokens += chunk.tokenIds.length;
        if (tokens === 1) decoder.crashAtNextStep = crash;
      }
    },
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INF_ERR_RUNTIME');
      return true;
    },
  );
  return stream.result.then(
    () => assert.fail('the generation should have failed'),
    (err: Error) => err,
  );
}

describe('a text-generation engine whose decoder worker dies', () => {
  let session: DecoderSession;
  let decoder: CrashingDecoder;
  let engine: GenerationEngine;
  const [first, second] = greedyFixture.prompts;
  assert.ok(first !== undefined && second !== undefined);

  before(async () => {
    engine = await kjvEngine({ prefixCacheBlocks: 64 }, undefined, (s) => (decoder = new CrashingDecoder(s)));
    session = decoder.session;
  });
  after(() => engine.close());

  it('fails the generation in flight and serves the next one on a fresh worker', async () => {
    // Leaves a prefix-cache entry for the first prompt in the worker about to die.
    const before = await collect(engine, request(first.prompt_token_ids));
    assert.deepEqual(before.ids, first.greedy_token_ids.slice(0, before.ids.length));

    const err = await crashMidStream(engine, decoder, second.prompt_token_ids, 'posted');
    assert.match(String(err), /decoder kjv-tiny\/1 failed: decoder worker exited with code 1/);

    const next = await collect(engine, request(first.prompt_token_ids));
    assert.deepEqual(next.ids, before.ids);
    assert.deepEqual(next.result, { ...before.result, cachedTokens: next.result.cachedTokens });
    assert.ok(next.result.cachedTokens > 0, 'the prompt reused the entry the new worker rebuilt');
    assert.equal(session.restartCount, 1);
  });

  it('fails a step for a sequence whose cache died with the worker rather than decode it from nothing', async () => {
    const before = await collect(engine, request(second.prompt_token_ids));
    assert.deepEqual(before.ids, second.greedy_token_ids.slice(0, before.ids.length));

    const err = await crashMidStream(engine, decoder, second.prompt_token_ids, 'after-exit');
    assert.match(String(err), /decoder kjv-tiny\/1: the cache of sequence \d+ was lost when its worker exited/);

    const next = await collect(engine, request(second.prompt_token_ids));
    assert.deepEqual(next.ids, before.ids);
    assert.equal(session.restartCount, 2);
  });
});
