// A model that refuses work for the moment (a full queue, an instance not yet back) does not make
// rows fail: the job waits and tries again (errors/retry-policy.ts); a model that stays unavailable
// stops the job, resumable, without blaming any row.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferdError, MAX_UNAVAILABLE_TRIES } from '../../src/errors/index.js';
import {
  EXAMPLES,
  loadModel,
  removeScratch,
  runJob,
  scratch,
  writeJsonLines,
  withInfer,
  type LoadedModel,
} from './batch-fixture.js';

/** The loaded model, its scheduler refusing the calls `refuse` picks (by call number, from 0). */
function refusing(loaded: LoadedModel, refuse: (call: number) => InferdError | undefined) {
  let calls = 0;
  const model = withInfer(loaded, (request, real) => {
    const refusal = refuse(calls++);
    return refusal === undefined ? real(request) : Promise.reject(refusal);
  });
  return { model, calls: () => calls };
}

describe('refusals in a batch job', () => {
  let dir = '';
  let iris: LoadedModel;
  let input = '';

  before(async () => {
    dir = await scratch();
    iris = await loadModel(EXAMPLES, 'iris');
    input = path.join(dir, 'in.jsonl');
    await writeJsonLines(
      input,
      Array.from({ length: 6 }, (_, i) => ({ input: [5, 3, 1 + (i % 5), 0.2] })),
    );
  });
  after(async () => {
    await iris.close();
    await removeScratch(dir);
  });

  it('retries a full queue and an instance not yet back until every row runs', async () => {
    const { model, calls } = refusing(iris, (call) => {
      if (call < 3) return new InferdError('INF_ERR_QUEUE_FULL', 'queue is full', { headers: { 'retry-after': '1' } });
      if (call < 5) return new InferdError('INF_ERR_UNAVAILABLE', "model 'iris' has no running instance");
      return undefined;
    });
    const summary = await runJob(model, input, path.join(dir, 'retried.jsonl'), { batchSize: 2, inFlight: 1 });
    assert.equal(summary.succeeded, 6);
    assert.equal(summary.errors, 0);
    assert.equal(calls(), 5 + 3, 'five refusals, then one call per batch of two rows');
  });

  it(`stops, blaming no row, when the model stays unavailable for ${MAX_UNAVAILABLE_TRIES} tries`, async () => {
    const { model, calls } = refusing(
      iris,
      () => new InferdError('INF_ERR_MODEL_UNAVAILABLE', "model 'iris' is not ready (unloading)"),
    );
    await assert.rejects(
      runJob(model, input, path.join(dir, 'stopped.jsonl'), { batchSize: 6, inFlight: 1 }),
      (err: unknown) => err instanceof InferdError && err.code === 'INF_ERR_MODEL_UNAVAILABLE',
    );
    assert.equal(calls(), MAX_UNAVAILABLE_TRIES);
  });
});
