// Requests reach a busy instance in priority order (1 highest), then in arrival order, and each
// gets its own result back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, schedulerFixture, type Fixture } from './scheduler-fixture.js';

describe('DynamicBatcher ordering', () => {
  let f: Fixture;
  before(async () => (f = await schedulerFixture()));
  after(async () => f.close());

  it('runs higher-priority requests first once the instance frees, FIFO within a level', async () => {
    const finished: number[] = [];
    const track = (value: number, priority: number) =>
      f.scheduler.infer(request(value, { priority })).then((r) => {
        assert.equal((r.outputs[0]?.data as Float32Array)[0], value, 'each request gets its own rows');
        finished.push(value);
      });
    const first = track(1, 0); // occupies the only instance
    const rest = [track(2, 3), track(3, 3), track(4, 1), track(5, 2), track(6, 1)];
    await Promise.all([first, ...rest]);
    assert.deepEqual(finished, [1, 4, 6, 5, 2, 3]);
  });

  it('places requests without a priority (0) at the default level, 1 unless configured', async () => {
    const finished: number[] = [];
    const track = (value: number, priority: number) =>
      f.scheduler.infer(request(value, { priority })).then(() => finished.push(value));
    const first = track(1, 0);
    // Level 1 and "no priority" share one FIFO; level 2 waits behind both.
    await Promise.all([first, track(2, 2), track(3, 0), track(4, 1)]);
    assert.deepEqual(finished, [1, 3, 4, 2]);
  });

  it('reports queued and executing requests as pending, and none when done', async () => {
    const a = f.scheduler.infer(request(1));
    const b = f.scheduler.infer(request(2));
    assert.equal(f.scheduler.pending, 2);
    await Promise.all([a, b]);
    assert.equal(f.scheduler.pending, 0);
  });
});
