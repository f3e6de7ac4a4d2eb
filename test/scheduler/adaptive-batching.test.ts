// Adaptive batching learns how long executions take: it refuses at once a request that could not
// finish within its timeout, and a lone client is never kept waiting for company.

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { request, schedulerFixture, type Fixture } from './scheduler-fixture.js';
import { flush } from './scripted-instance.js';

/** Every execution takes 10 ms, whatever its size. */
const RUN_MS = 10;

/**
 * One client, one request at a time: each runs for RUN_MS of mocked time, so arrivals are spaced
 * by whole executions. Returns how many of them reached the instance without any time passing.
 */
async function sequential(t: TestContext, f: Fixture, count: number, firstValue: number): Promise<number> {
  let atOnce = 0;
  for (let i = 0; i < count; i++) {
    const result = f.scheduler.infer(request(firstValue + i));
    if (f.instance.waiting.length === 1) atOnce++;
    t.mock.timers.tick(RUN_MS);
    await flush();
    f.instance.next().complete(undefined, { computeInferNs: RUN_MS * 1e6 });
    await result;
  }
  return atOnce;
}

describe('adaptive batching', () => {
  function learned(t: TestContext): Promise<Fixture> {
    const f = schedulerFixture(t, {
      batching: { maxBatchSize: 256, maxQueueDelayUs: 200_000, preferredBatchSizes: [], adaptive: true },
    });
    // Learn: a few executions of one row.
    return sequential(t, f, 4, 0).then(() => f);
  }

  it('does not wait for company when requests come one at a time', async (t) => {
    const f = await learned(t);
    const before = f.stats.executionCount;
    // Sequential arrivals are spaced by whole executions, so waiting would never pay: each
    // request runs the moment it arrives, where a fixed 200 ms delay would hold every one.
    assert.equal(await sequential(t, f, 3, 10), 3);
    assert.equal(f.stats.executionCount - before, 3);
    assert.deepEqual(
      f.instance.runs.map((r) => r.rows),
      [1, 1, 1, 1, 1, 1, 1],
    );
  });

  it('refuses at once a request whose timeout is shorter than its expected run, without running it', async (t) => {
    const f = await learned(t);
    const before = f.stats.executionCount;
    // Keep the instance busy with a full batch, then ask for a full batch within 1 µs.
    const busy = f.scheduler.infer(request(1, { batchSize: 256 }));
    await assert.rejects(f.scheduler.infer(request(2, { batchSize: 256, timeoutUs: 1 })), (err) => {
      assert.equal((err as { code?: string }).code, 'INF_ERR_DEADLINE_EXCEEDED');
      assert.match(
        (err as Error).message,
        /^request refused: it would need about \d+ µs, more than its 1 µs timeout allows$/,
      );
      return true;
    });
    f.instance.next().complete();
    await busy;
    await flush();
    assert.equal(f.stats.executionCount - before, 1);
    assert.equal(f.instance.waiting.length, 0);
  });
});
