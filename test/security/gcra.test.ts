// The GCRA limiter on simulated time: the burst, then exactly the rate; keys apart; debt from
// unconditional charges; exact waits; costs past the burst flagged; idle keys swept. A property
// over random arrivals checks the defining bound: never more than burst + rate × elapsed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GcraLimiter } from '../../src/security/gcra.js';
import { FUZZ_RUNS, params } from '../fuzz/fuzz-support.js';

describe('GcraLimiter', () => {
  it('admits exactly the burst at once, then exactly the rate, over 10 simulated seconds', () => {
    const gcra = new GcraLimiter({ limit: 10, periodMs: 1000 });
    assert.equal(gcra.burst, 10);
    assert.equal(gcra.emissionIntervalMs, 100);
    let atOnce = 0;
    for (let i = 0; i < 50; i++) if (gcra.take('k', 1, 0).allowed) atOnce++;
    assert.equal(atOnce, 10);

    // A greedy client asks every simulated millisecond for 10 s.
    const perSecond = Array.from({ length: 10 }, () => 0);
    for (let t = 1; t <= 10_000; t++) {
      if (gcra.take('k', 1, t).allowed) perSecond[Math.floor((t - 1) / 1000)]!++;
    }
    assert.deepEqual(
      perSecond,
      Array.from({ length: 10 }, () => 10),
    );
  });

  it('reports remaining units, time to full and the exact wait', () => {
    const gcra = new GcraLimiter({ limit: 10, periodMs: 1000 });
    assert.deepEqual(gcra.check('k', 1, 0), {
      allowed: true,
      remaining: 10,
      resetMs: 0,
      retryAfterMs: 0,
      exceedsBurst: false,
    });
    assert.deepEqual(gcra.take('k', 3, 0), {
      allowed: true,
      remaining: 7,
      resetMs: 300,
      retryAfterMs: 0,
      exceedsBurst: false,
    });
    assert.deepEqual(gcra.take('k', 7, 50), {
      allowed: true,
      remaining: 0,
      resetMs: 950,
      retryAfterMs: 0,
      exceedsBurst: false,
    });
    // Empty: a unit fits again when one unit has replenished, at t = 100.
    const refused = gcra.take('k', 1, 60);
    assert.deepEqual(refused, { allowed: false, remaining: 0, resetMs: 940, retryAfterMs: 40, exceedsBurst: false });
    // A refused take charged nothing.
    assert.equal(gcra.check('k', 1, 60).resetMs, 940);
    assert.equal(gcra.take('k', 1, 99).allowed, false);
    assert.equal(gcra.take('k', 1, 100).allowed, true);
    // Two units need 200 ms more.
    assert.equal(gcra.check('k', 2, 100).retryAfterMs, 200);
  });

  it('check never charges', () => {
    const gcra = new GcraLimiter({ limit: 2, periodMs: 1000 });
    for (let i = 0; i < 10; i++) assert.equal(gcra.check('k', 2, 0).allowed, true);
    assert.equal(gcra.size, 0);
    assert.equal(gcra.take('k', 2, 0).allowed, true);
    assert.equal(gcra.check('k', 1, 0).allowed, false);
  });

  it('keeps keys independent', () => {
    const gcra = new GcraLimiter({ limit: 5, periodMs: 1000 });
    for (let i = 0; i < 5; i++) assert.equal(gcra.take('a', 1, 0).allowed, true);
    assert.equal(gcra.take('a', 1, 0).allowed, false);
    for (let i = 0; i < 5; i++) assert.equal(gcra.take('b', 1, 0).allowed, true);
    assert.equal(gcra.take('b', 1, 0).allowed, false);
    assert.equal(gcra.check('c', 5, 0).allowed, true);
  });

  it('charges unconditionally and delays recovery by the debt', () => {
    const gcra = new GcraLimiter({ limit: 10, periodMs: 1000 });
    // 30 units against a burst of 10: TAT = 3000 ms, 20 units (2000 ms) past the capacity.
    const charged = gcra.charge('k', 30, 0);
    assert.deepEqual(charged, {
      allowed: false,
      remaining: 0,
      resetMs: 3000,
      retryAfterMs: Number.POSITIVE_INFINITY,
      exceedsBurst: true,
    });
    // One unit fits once TAT − now ≤ capacity − T: at 3000 − 1000 + 100 = 2100 ms.
    assert.equal(gcra.check('k', 1, 0).retryAfterMs, 2100);
    assert.equal(gcra.take('k', 1, 2099).allowed, false);
    assert.equal(gcra.take('k', 1, 2100).allowed, true);
    // A charge that fits reports allowed, like take would have.
    const fresh = new GcraLimiter({ limit: 10, periodMs: 1000 });
    assert.equal(fresh.charge('k', 10, 0).allowed, true);
    const over = fresh.charge('k', 5, 0);
    assert.equal(over.allowed, false);
    assert.equal(over.retryAfterMs, 500);
    assert.equal(over.resetMs, 1500);
  });

  it('flags a cost larger than the burst, which no wait lets through', () => {
    const gcra = new GcraLimiter({ limit: 100, periodMs: 60_000 });
    const r = gcra.take('k', 101, 0);
    assert.equal(r.allowed, false);
    assert.equal(r.exceedsBurst, true);
    assert.equal(r.retryAfterMs, Number.POSITIVE_INFINITY);
    assert.equal(gcra.size, 0);
    assert.equal(gcra.take('k', 101, 10 * 60_000).allowed, false);
    // Exactly the burst passes on a full key.
    assert.equal(gcra.take('k', 100, 0).allowed, true);
  });

  it('honours an explicit burst, and a rate below one per period', () => {
    const smooth = new GcraLimiter({ limit: 10, periodMs: 1000, burst: 2 });
    assert.equal(smooth.take('k', 1, 0).allowed, true);
    assert.equal(smooth.take('k', 1, 0).allowed, true);
    assert.equal(smooth.take('k', 1, 0).allowed, false);
    assert.equal(smooth.check('k', 1, 0).retryAfterMs, 100);
    assert.equal(smooth.check('k', 3, 0).exceedsBurst, true);

    // 0.5 per second: the default burst is 1, so a unit passes every 2 s.
    const slow = new GcraLimiter({ limit: 0.5, periodMs: 1000 });
    assert.equal(slow.burst, 1);
    assert.equal(slow.take('k', 1, 0).allowed, true);
    assert.equal(slow.take('k', 1, 1999).allowed, false);
    assert.equal(slow.take('k', 1, 2000).allowed, true);
  });

  it('is exact when the emission interval is not a whole number of milliseconds', () => {
    const gcra = new GcraLimiter({ limit: 3, periodMs: 1000 });
    let admitted = 0;
    for (let t = 0; t <= 10_000; t++) while (gcra.take('k', 1, t).allowed) admitted++;
    // The burst of 3 at t = 0, then one every 1000/3 ms up to t = 10 000: 3 + 30.
    assert.equal(admitted, 33);
  });

  it('drops keys once fully replenished, in a sweep amortised over charges', () => {
    const gcra = new GcraLimiter({ limit: 10, periodMs: 1000 });
    for (let i = 0; i < 200; i++) gcra.take(`key-${i}`, 1, 0);
    assert.equal(gcra.size, 200);
    // Each idle key is full again from t = 100. Charges on a single busy key trigger the sweep.
    let t = 100;
    let charges = 0;
    while (gcra.size > 1 && charges < 1000) {
      gcra.charge('busy', 1, t);
      t += 100;
      charges++;
    }
    assert.equal(gcra.size, 1);
    assert.ok(charges <= 200, `swept after ${charges} charges`);
    // A dropped key behaves as a full one.
    assert.equal(gcra.check('key-0', 10, t).allowed, true);
    assert.equal(gcra.sweep(t + 10_000), 1);
    assert.equal(gcra.size, 0);
  });

  it('stores nothing for a key whose charge leaves it full', () => {
    const gcra = new GcraLimiter({ limit: 10, periodMs: 1000 });
    assert.equal(gcra.take('k', 0, 5).allowed, true);
    assert.equal(gcra.size, 0);
  });

  it('refuses invalid parameters and costs', () => {
    assert.throws(() => new GcraLimiter({ limit: 0, periodMs: 1000 }), RangeError);
    assert.throws(() => new GcraLimiter({ limit: 1, periodMs: Number.NaN }), RangeError);
    assert.throws(() => new GcraLimiter({ limit: 10, periodMs: 1000, burst: 0.5 }), RangeError);
    const gcra = new GcraLimiter({ limit: 10, periodMs: 1000 });
    assert.throws(() => gcra.take('k', -1, 0), RangeError);
    assert.throws(() => gcra.charge('k', Number.NaN, 0), RangeError);
    assert.throws(() => gcra.check('k', 1, Number.POSITIVE_INFINITY), RangeError);
  });
});

describe('GcraLimiter properties', () => {
  const arrivals = fc.record({
    limit: fc.integer({ min: 1, max: 50 }),
    periodMs: fc.integer({ min: 1, max: 5000 }),
    burstExtra: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    steps: fc.array(
      fc.record({
        gapMs: fc.integer({ min: 0, max: 400 }),
        cost: fc.integer({ min: 0, max: 8 }),
        key: fc.constantFrom('a', 'b'),
      }),
      { minLength: 1, maxLength: 150 },
    ),
  });

  it('never admits more than burst + rate × elapsed, in every window', () => {
    fc.assert(
      fc.property(arrivals, ({ limit, periodMs, burstExtra, steps }) => {
        const burst = burstExtra === undefined ? undefined : 1 + burstExtra;
        const gcra = new GcraLimiter({ limit, periodMs, ...(burst === undefined ? {} : { burst }) });
        const admitted: { key: string; t: number; cost: number }[] = [];
        let t = 0;
        for (const step of steps) {
          t += step.gapMs;
          const checked = gcra.check(step.key, step.cost, t);
          const taken = gcra.take(step.key, step.cost, t);
          assert.equal(taken.allowed, checked.allowed, 'check and take disagree');
          if (taken.allowed) admitted.push({ key: step.key, t, cost: step.cost });
        }
        for (const key of ['a', 'b']) {
          const mine = admitted.filter((a) => a.key === key);
          for (let i = 0; i < mine.length; i++) {
            let units = 0;
            for (let j = i; j < mine.length; j++) {
              units += mine[j]!.cost;
              const elapsed = mine[j]!.t - mine[i]!.t;
              const bound = gcra.burst + (limit * elapsed) / periodMs;
              assert.ok(units <= bound + 1e-6, `${units} units in ${elapsed} ms, bound ${bound}`);
            }
          }
        }
      }),
      params(),
    );
  });

  it('lets a refused cost through exactly when retryAfterMs has passed', () => {
    fc.assert(
      fc.property(arrivals, ({ limit, periodMs, steps }) => {
        const gcra = new GcraLimiter({ limit, periodMs });
        let t = 0;
        for (const step of steps) {
          t += step.gapMs;
          const r = gcra.take(step.key, step.cost, t);
          if (r.allowed || r.exceedsBurst) continue;
          assert.ok(r.retryAfterMs > 0);
          assert.equal(gcra.check(step.key, step.cost, t + r.retryAfterMs).allowed, true);
          if (r.retryAfterMs > 1e-3)
            assert.equal(gcra.check(step.key, step.cost, t + r.retryAfterMs - 1e-3).allowed, false);
        }
      }),
      params(Math.max(10, Math.ceil(FUZZ_RUNS / 2))),
    );
  });
});
