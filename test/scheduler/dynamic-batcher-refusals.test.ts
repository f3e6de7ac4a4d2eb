// A full queue is refused at once with Retry-After; expired and cancelled requests are dropped
// before they reach an instance; a draining scheduler refuses new work but finishes the old.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValue, request, schedulerFixture } from './scheduler-fixture.js';
import { flush, observe, runToEnd, type ScriptedInstance } from './scripted-instance.js';

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

describe('DynamicBatcher refusals', () => {
  it('refuses a request when the queue is full, with a 429-class error and Retry-After', async (t) => {
    const f = schedulerFixture(t, { maxQueueSize: 2 });
    const running = f.scheduler.infer(request(1));
    const queued = [f.scheduler.infer(request(2)), f.scheduler.infer(request(3))];
    await assert.rejects(f.scheduler.infer(request(4)), (err) => {
      assert.equal(code(err), 'INF_ERR_QUEUE_FULL');
      assert.equal((err as { headers?: Record<string, string> }).headers?.['retry-after'], '1');
      assert.match((err as Error).message, /queue for model 'scripted' is full \(2 requests waiting\)/);
      return true;
    });
    await runToEnd(f.instances);
    await Promise.all([running, ...queued]);
    assert.deepEqual(f.instance.runs.map(firstValue), [1, 2, 3], 'the refused request never ran');
  });

  it('expires a waiting request at its deadline, while the instance is still busy, without running it', async (t) => {
    const f = schedulerFixture(t, { maxQueueSize: 2 });
    const running = observe(f.scheduler.infer(request(1)));
    const expiring = observe(f.scheduler.infer(request(2, { timeoutUs: 2000 })));
    t.mock.timers.tick(1);
    await flush();
    assert.equal(expiring.settled, false, '1 ms into a 2 ms timeout it still waits');
    t.mock.timers.tick(1);
    await assert.rejects(expiring.promise, (err) => {
      assert.equal(code(err), 'INF_ERR_DEADLINE_EXCEEDED');
      assert.match((err as Error).message, /2000 µs timeout passed while it waited in the queue/);
      return true;
    });
    assert.equal(running.settled, false, 'the deadline fired before the instance freed');
    assert.equal(f.scheduler.pending, 1);
    f.instance.next().complete();
    await running.promise;
    await flush();
    assert.equal(f.instance.runs.length, 1, 'only the first request executed');
    assert.equal(f.stats.executionCount, 1);
    assert.equal(f.stats.fail.count, 1);
  });

  it('does not expire at once a timeout too long for a timer (over 2^31 ms)', async (t) => {
    const f = schedulerFixture(t, { maxQueueSize: 2 });
    const running = f.scheduler.infer(request(1));
    // Node would clamp a 3e9 ms timer to 1 ms; the request must still be waiting a second later.
    const long = observe(f.scheduler.infer(request(9, { timeoutUs: 3e12 })));
    t.mock.timers.tick(1000);
    await flush();
    assert.equal(long.settled, false);
    await runToEnd(f.instances);
    await running;
    const r = await long.promise;
    assert.equal((r.outputs[0]?.data as Float32Array)[0], 9);
  });

  it('drops a queued request when its client cancels, before it reaches the instance', async (t) => {
    const f = schedulerFixture(t, { maxQueueSize: 2 });
    const abort = new AbortController();
    const running = f.scheduler.infer(request(1));
    const cancelled = f.scheduler.infer(request(2, { signal: abort.signal }));
    abort.abort();
    await assert.rejects(cancelled, (err) => code(err) === 'INF_ERR_CANCELLED');
    await runToEnd(f.instances);
    await running;
    assert.deepEqual(f.instance.runs.map(firstValue), [1]);
    assert.equal(f.stats.executionCount, 1);
    assert.equal(f.scheduler.pending, 0);
  });

  it('refuses an already-cancelled request without queueing it', async (t) => {
    const f = schedulerFixture(t, { maxQueueSize: 2 });
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(
      f.scheduler.infer(request(1, { signal: abort.signal })),
      (err) => code(err) === 'INF_ERR_CANCELLED',
    );
    assert.equal(f.scheduler.pending, 0);
    assert.equal(f.instance.runs.length, 0);
  });

  it('fails the requests of a failed run and goes on with the next', async (t) => {
    const f = schedulerFixture(t);
    const failing = f.scheduler.infer(request(1));
    const next = f.scheduler.infer(request(2));
    f.instance.next().fail(new Error('session crashed'));
    await assert.rejects(failing, /session crashed/);
    await runToEnd(f.instances);
    assert.equal(((await next).outputs[0]?.data as Float32Array)[0], 2);
    assert.equal(f.stats.fail.count, 1);
  });

  it('fails the waiting requests once no instance is left to run them', async (t) => {
    const f = schedulerFixture(t, {}, 2);
    const sent = new Map([1, 2, 3].map((v) => [v, f.scheduler.infer(request(v))]));
    assert.deepEqual(
      f.instances.map((i) => i.runs.length),
      [1, 1],
      'one request per free instance',
    );
    /** The instance dies with its run; the request it ran fails with the run's error. */
    const crash = async (instance: ScriptedInstance): Promise<void> => {
      await instance.close();
      const run = instance.next();
      run.fail(new Error('worker exited'));
      await assert.rejects(sent.get(firstValue(run)) ?? Promise.resolve(), /worker exited/);
    };
    const [first, second] = f.instances as [ScriptedInstance, ScriptedInstance];
    await crash(first);
    await flush();
    assert.equal(f.scheduler.pending, 2, 'the waiting request still has the second instance');
    await crash(second);
    await assert.rejects(sent.get(3) ?? Promise.resolve(), (err) => {
      assert.equal(code(err), 'INF_ERR_UNAVAILABLE');
      assert.equal((err as Error).message, "model 'scripted' has no running instance");
      return true;
    });
    assert.equal(f.scheduler.pending, 0);
    assert.deepEqual(
      f.instances.map((i) => i.runs.length),
      [1, 1],
      'the waiting request never ran',
    );
  });
});

describe('DynamicBatcher drain', () => {
  it('finishes queued and running work, then refuses new requests as unavailable', async (t) => {
    const f = schedulerFixture(t);
    const inFlight = [f.scheduler.infer(request(1)), f.scheduler.infer(request(2))];
    const drained = observe(f.scheduler.drain());
    await assert.rejects(f.scheduler.infer(request(3)), (err) => code(err) === 'INF_ERR_UNAVAILABLE');
    await flush();
    assert.equal(drained.settled, false, 'drain waits for the running and the queued request');
    f.instance.next().complete();
    await flush();
    assert.equal(drained.settled, false, 'the queued request still runs');
    f.instance.next().complete();
    const results = await Promise.all(inFlight);
    await drained.promise;
    assert.deepEqual(
      results.map((r) => (r.outputs[0]?.data as Float32Array)[0]),
      [1, 2],
    );
    assert.deepEqual(f.instance.runs.map(firstValue), [1, 2]);
  });
});
