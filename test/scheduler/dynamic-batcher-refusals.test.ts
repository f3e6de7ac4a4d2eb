// A full queue is refused at once with Retry-After; expired and cancelled requests are dropped
// before they reach an instance; a draining scheduler refuses new work but finishes the old.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { N, request, schedulerFixture, type Fixture } from './scheduler-fixture.js';

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

describe('DynamicBatcher refusals', () => {
  let f: Fixture;
  before(async () => (f = await schedulerFixture({ maxQueueSize: 2 })));
  after(async () => f.close());

  it('refuses a request when the queue is full, with a 429-class error and Retry-After', async () => {
    const running = f.scheduler.infer(request(1));
    const queued = [f.scheduler.infer(request(2)), f.scheduler.infer(request(3))];
    await assert.rejects(f.scheduler.infer(request(4)), (err) => {
      assert.equal(code(err), 'INF_ERR_QUEUE_FULL');
      assert.equal((err as { headers?: Record<string, string> }).headers?.['retry-after'], '1');
      assert.match((err as Error).message, /queue for model 'slow' is full \(2 requests waiting\)/);
      return true;
    });
    await Promise.all([running, ...queued]);
  });

  it('expires a waiting request at its deadline, while the instance is still busy, without running it', async () => {
    const execBefore = f.stats.executionCount;
    let runningDone = false;
    const running = f.scheduler.infer(request(1, {}, N)).then(() => (runningDone = true));
    const expiring = f.scheduler.infer(request(2, { timeoutUs: 2000 }));
    await assert.rejects(expiring, (err) => {
      assert.equal(code(err), 'INF_ERR_DEADLINE_EXCEEDED');
      assert.match((err as Error).message, /2000 µs timeout passed while it waited in the queue/);
      return true;
    });
    assert.equal(runningDone, false, 'the deadline fired before the instance freed');
    await running;
    assert.equal(f.stats.executionCount, execBefore + 1, 'only the first request executed');
    assert.equal(f.stats.fail.count > 0, true);
  });

  it('does not expire at once a timeout too long for a timer (over 2^31 ms)', async () => {
    const r = await f.scheduler.infer(request(9, { timeoutUs: 3e12 }));
    assert.equal((r.outputs[0]?.data as Float32Array)[0], 9);
  });

  it('drops a queued request when its client cancels, before it reaches the instance', async () => {
    const execBefore = f.stats.executionCount;
    const abort = new AbortController();
    const running = f.scheduler.infer(request(1));
    const cancelled = f.scheduler.infer(request(2, { signal: abort.signal }));
    abort.abort();
    await assert.rejects(cancelled, (err) => code(err) === 'INF_ERR_CANCELLED');
    await running;
    assert.equal(f.stats.executionCount, execBefore + 1);
    assert.equal(f.scheduler.pending, 0);
  });

  it('refuses an already-cancelled request without queueing it', async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(
      f.scheduler.infer(request(1, { signal: abort.signal })),
      (err) => code(err) === 'INF_ERR_CANCELLED',
    );
    assert.equal(f.scheduler.pending, 0);
  });
});

describe('DynamicBatcher drain', () => {
  it('finishes queued and running work, then refuses new requests as unavailable', async () => {
    const f = await schedulerFixture();
    try {
      const inFlight = [f.scheduler.infer(request(1)), f.scheduler.infer(request(2))];
      const drained = f.scheduler.drain();
      await assert.rejects(f.scheduler.infer(request(3)), (err) => code(err) === 'INF_ERR_UNAVAILABLE');
      const results = await Promise.all(inFlight);
      await drained;
      assert.deepEqual(
        results.map((r) => (r.outputs[0]?.data as Float32Array)[0]),
        [1, 2],
      );
    } finally {
      await f.close();
    }
  });
});
