// Adaptive batching learns how long executions take: it refuses at once a request that could not
// finish within its timeout, and a lone client is never kept waiting for company.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { N, request, schedulerFixture, type Fixture } from './scheduler-fixture.js';

describe('adaptive batching', () => {
  let f: Fixture;
  before(async () => {
    f = await schedulerFixture({
      batching: { maxBatchSize: N, maxQueueDelayUs: 200_000, preferredBatchSizes: [], adaptive: true },
    });
    // Learn: a few executions of one row.
    for (let i = 0; i < 4; i++) await f.scheduler.infer(request(i));
  });
  after(async () => f.close());

  it('does not wait for company when requests come one at a time', async () => {
    const before = f.stats.executionCount;
    const started = performance.now();
    for (let i = 0; i < 3; i++) await f.scheduler.infer(request(10 + i));
    // Sequential arrivals are spaced by whole executions, so waiting would never pay; a fixed
    // 200 ms delay would have cost 600 ms here.
    assert.ok(performance.now() - started < 400, `took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(f.stats.executionCount - before, 3);
  });

  it('refuses at once a request whose timeout is shorter than its expected run, without running it', async () => {
    const before = f.stats.executionCount;
    // Keep the instance busy with a full batch, then ask for a full batch within 1 µs.
    const busy = f.scheduler.infer(request(1, {}, N));
    await assert.rejects(f.scheduler.infer(request(2, { timeoutUs: 1 }, N)), (err) => {
      assert.equal((err as { code?: string }).code, 'INF_ERR_DEADLINE_EXCEEDED');
      assert.match(
        (err as Error).message,
        /^request refused: it would need about \d+ µs, more than its 1 µs timeout allows$/,
      );
      return true;
    });
    await busy;
    assert.equal(f.stats.executionCount - before, 1);
  });
});
