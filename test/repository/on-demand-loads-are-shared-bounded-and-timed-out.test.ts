// Requests for a model being loaded on demand share one load; past the waiter bound or the load
// timeout they get a 503 with Retry-After while the load goes on. Driven by a manual timer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/errors/index.js';
import { DemandLoads } from '../../src/repository/demand-loads.js';
import { ManualTimer } from '../helpers/manual-timer.js';

/** A load the test finishes by hand, counting how often it was started. */
function manualLoad(): { load: () => Promise<void>; finish: () => void; fail: (e: Error) => void; starts: number } {
  const state = {
    starts: 0,
    finish: () => undefined as void,
    fail: (_e: Error) => undefined as void,
    load: (): Promise<void> => {
      state.starts++;
      return new Promise<void>((resolve, reject) => {
        state.finish = resolve;
        state.fail = reject;
      });
    },
  };
  return state;
}

function retryAfter(err: unknown): string | undefined {
  assert.ok(err instanceof InferdError);
  assert.equal(err.code, 'INF_ERR_MODEL_UNAVAILABLE');
  return err.headers?.['retry-after'];
}

describe('on-demand loads', () => {
  it('share one load between every request waiting for the model', async () => {
    const timer = new ManualTimer();
    const loads = new DemandLoads({ maxWaiters: 8, timeoutMs: 30_000 }, timer);
    const m = manualLoad();
    const waits = [loads.wait('a', m.load), loads.wait('a', m.load), loads.wait('a', m.load)];
    assert.equal(loads.waiters('a'), 3);
    m.finish();
    await Promise.all(waits);
    assert.equal(m.starts, 1);
    assert.equal(loads.waiters('a'), 0);
    assert.equal(loads.loading('a'), false);
    assert.equal(timer.armed, 0, 'the timeouts are cancelled');
  });

  it('refuse a request past the waiter bound at once, with Retry-After', async () => {
    const timer = new ManualTimer();
    const loads = new DemandLoads({ maxWaiters: 2, timeoutMs: 30_000 }, timer);
    const m = manualLoad();
    const waits = [loads.wait('a', m.load), loads.wait('a', m.load)];
    await assert.rejects(loads.wait('a', m.load), (err) => retryAfter(err) === '1');
    m.finish();
    await Promise.all(waits);
  });

  it('answer a request whose load takes too long with a 503 and keep loading for the next', async () => {
    const timer = new ManualTimer();
    const loads = new DemandLoads({ maxWaiters: 8, timeoutMs: 2000 }, timer);
    const m = manualLoad();
    const first = loads.wait('a', m.load);
    timer.advance(2000);
    await assert.rejects(first, (err) => retryAfter(err) === '2' && /within 2 s/.test((err as Error).message));
    assert.equal(loads.loading('a'), true, 'the load goes on');
    const second = loads.wait('a', m.load);
    m.finish();
    await second;
    assert.equal(m.starts, 1);
  });

  it("pass a failed load's error to every waiter and start afresh next time", async () => {
    const timer = new ManualTimer();
    const loads = new DemandLoads({ maxWaiters: 8, timeoutMs: 30_000 }, timer);
    const m = manualLoad();
    const waits = [loads.wait('a', m.load), loads.wait('a', m.load)];
    m.fail(new Error('broken model'));
    for (const w of waits) await assert.rejects(w, /broken model/);
    const again = loads.wait('a', m.load);
    assert.equal(m.starts, 2);
    m.finish();
    await again;
  });
});
