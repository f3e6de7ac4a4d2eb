// Requests reach a busy instance in priority order (1 highest), then in arrival order, and each
// gets its own result back.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValue, request, schedulerFixture, type Fixture } from './scheduler-fixture.js';
import { flush } from './scripted-instance.js';

/** Answers runs one at a time and returns the request values in the order they ran. */
async function runOneByOne(f: Fixture): Promise<number[]> {
  const order: number[] = [];
  await flush();
  while (f.instance.waiting.length > 0) {
    assert.equal(f.instance.waiting.length, 1, 'one instance runs one request at a time');
    const run = f.instance.next();
    order.push(firstValue(run));
    run.complete();
    await flush();
  }
  return order;
}

describe('DynamicBatcher ordering', () => {
  it('runs higher-priority requests first once the instance frees, FIFO within a level', async (t) => {
    const f = schedulerFixture(t);
    const finished: number[] = [];
    const track = (value: number, priority: number) =>
      f.scheduler.infer(request(value, { priority })).then((r) => {
        assert.equal((r.outputs[0]?.data as Float32Array)[0], value, 'each request gets its own rows');
        finished.push(value);
      });
    const first = track(1, 0); // occupies the only instance
    const rest = [track(2, 3), track(3, 3), track(4, 1), track(5, 2), track(6, 1)];
    assert.deepEqual(await runOneByOne(f), [1, 4, 6, 5, 2, 3]);
    await Promise.all([first, ...rest]);
    assert.deepEqual(finished, [1, 4, 6, 5, 2, 3]);
  });

  it('places requests without a priority (0) at the default level, 1 unless configured', async (t) => {
    const f = schedulerFixture(t);
    const finished: number[] = [];
    const track = (value: number, priority: number) =>
      f.scheduler.infer(request(value, { priority })).then(() => finished.push(value));
    const first = track(1, 0);
    // Level 1 and "no priority" share one FIFO; level 2 waits behind both.
    const rest = [track(2, 2), track(3, 0), track(4, 1)];
    assert.deepEqual(await runOneByOne(f), [1, 3, 4, 2]);
    await Promise.all([first, ...rest]);
    assert.deepEqual(finished, [1, 3, 4, 2]);
  });

  it('places requests without a priority at the configured default level', async (t) => {
    const f = schedulerFixture(t, { defaultPriorityLevel: 3 });
    const first = f.scheduler.infer(request(1, { priority: 2 }));
    const rest = [
      f.scheduler.infer(request(2, { priority: 0 })),
      f.scheduler.infer(request(3, { priority: 4 })),
      f.scheduler.infer(request(4, { priority: 3 })),
      f.scheduler.infer(request(5, { priority: 2 })),
    ];
    assert.deepEqual(await runOneByOne(f), [1, 5, 2, 4, 3]);
    await Promise.all([first, ...rest]);
  });

  it('reports queued and executing requests as pending, and none when done', async (t) => {
    const f = schedulerFixture(t);
    const a = f.scheduler.infer(request(1));
    const b = f.scheduler.infer(request(2));
    assert.equal(f.scheduler.pending, 2, 'one executing, one queued');
    f.instance.next().complete();
    await a;
    assert.equal(f.scheduler.pending, 1);
    await flush();
    f.instance.next().complete();
    await b;
    assert.equal(f.scheduler.pending, 0);
  });
});
