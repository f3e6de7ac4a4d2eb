// The execution-time model predicts per batch size from what it has seen, and stays silent while
// it has too little to go on.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrivalRate, ExecutionTimeModel } from '../../src/scheduler/execution-time-model.js';

describe('ExecutionTimeModel', () => {
  it('gives no estimate before three observations', () => {
    const m = new ExecutionTimeModel();
    m.observe(1, 1000);
    m.observe(1, 1000);
    assert.equal(m.estimate(1), undefined);
    m.observe(1, 1000);
    assert.equal(m.estimate(1), 1000);
  });

  it('interpolates and extrapolates sizes it has not seen along a least-squares line', () => {
    const m = new ExecutionTimeModel();
    for (let i = 0; i < 3; i++) {
      m.observe(1, 1_100);
      m.observe(8, 1_800);
      m.observe(16, 2_600);
    }
    // About 1000 ns fixed cost plus about 100 ns per row.
    const at4 = m.estimate(4) ?? 0;
    const at32 = m.estimate(32) ?? 0;
    assert.ok(Math.abs(at4 - 1_400) < 60, `estimate(4) = ${at4}`);
    assert.ok(Math.abs(at32 - 4_200) < 150, `estimate(32) = ${at32}`);
  });

  it('never predicts less time for more rows', () => {
    const m = new ExecutionTimeModel();
    for (let i = 0; i < 3; i++) {
      m.observe(2, 5_000);
      m.observe(4, 3_000);
    }
    assert.ok((m.estimate(8) ?? 0) >= (m.estimate(3) ?? Infinity) - 1e-9);
  });
});

describe('ArrivalRate', () => {
  it('averages the gaps between arrivals', () => {
    const r = new ArrivalRate();
    assert.equal(r.expectedGapNs, undefined);
    r.arrived(0n);
    r.arrived(1000n);
    assert.equal(r.expectedGapNs, 1000);
    r.arrived(3000n);
    assert.equal(r.expectedGapNs, 1200);
  });
});
