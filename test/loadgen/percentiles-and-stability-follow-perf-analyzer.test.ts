// Percentiles are nearest-rank; a load level is stable when each of the last 3 windows is within
// the stability fraction of their mean on both throughput and p50; the measurement reports the
// last 3 windows merged, with the statistics snapshots that bracket exactly those windows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  lastWindowsStable,
  mergeSorted,
  percentile,
  summarize,
  withinTolerance,
} from '../../src/loadgen/latency-stats.js';
import { measureWindows, WindowRecorder } from '../../src/loadgen/measurement-windows.js';

const sorted = (values: number[]): Float64Array => Float64Array.from(values).sort();

describe('percentiles', () => {
  it('picks the nearest-rank sample', () => {
    const s = sorted(Array.from({ length: 100 }, (_, i) => i + 1)); // 1..100
    assert.equal(percentile(s, 0.5), 50);
    assert.equal(percentile(s, 0.9), 90);
    assert.equal(percentile(s, 0.99), 99);
    assert.equal(percentile(s, 1), 100);
    assert.equal(percentile(sorted([7]), 0.99), 7);
    assert.equal(percentile(sorted([1, 2, 3]), 0.5), 2);
  });

  it('is NaN without samples', () => {
    assert.ok(Number.isNaN(percentile(new Float64Array(0), 0.5)));
    assert.ok(Number.isNaN(summarize(new Float64Array(0)).mean));
  });

  it('summarizes in order p50 ≤ p90 ≤ p95 ≤ p99 ≤ max', () => {
    const s = mergeSorted([sorted([5, 1, 9]), sorted([3, 7]), sorted([2, 8, 4, 6, 10])]);
    assert.deepEqual(Array.from(s), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const sum = summarize(s);
    assert.equal(sum.mean, 5.5);
    assert.equal(sum.p50, 5);
    assert.equal(sum.p90, 9);
    assert.equal(sum.p95, 10);
    assert.equal(sum.p99, 10);
    assert.equal(sum.max, 10);
  });
});

describe('stability', () => {
  it('accepts values within the fraction of their mean, and refuses one outside', () => {
    assert.equal(withinTolerance([100, 105, 95], 0.1), true);
    assert.equal(withinTolerance([100, 100, 115], 0.1), true); // mean 105: all within 9.6%
    assert.equal(withinTolerance([100, 100, 125], 0.1), false); // mean 108.3: 125 is 15% over
    assert.equal(withinTolerance([100, 100, 125], 0.2), true);
  });

  it('never calls empty, zero or NaN windows stable', () => {
    assert.equal(withinTolerance([], 0.1), false);
    assert.equal(withinTolerance([0, 0, 0], 0.1), false);
    assert.equal(withinTolerance([1, Number.NaN, 1], 0.1), false);
  });

  it('needs the last 3 windows to agree on throughput and p50', () => {
    const w = (throughput: number, p50Us: number) => ({ throughput, p50Us });
    assert.equal(lastWindowsStable([w(100, 10), w(100, 10)], 3, 0.1), false);
    assert.equal(lastWindowsStable([w(50, 30), w(100, 10), w(101, 10), w(99, 10.5)], 3, 0.1), true);
    assert.equal(lastWindowsStable([w(100, 10), w(101, 10), w(99, 14)], 3, 0.1), false);
    assert.equal(lastWindowsStable([w(100, 10), w(140, 10), w(99, 10)], 3, 0.1), false);
  });
});

describe('measurement windows', () => {
  it('stops once the last 3 windows agree and brackets them with the snapshots', async () => {
    const recorder = new WindowRecorder();
    // A steady fake load: 20 completions of 1 ms every 2 ms.
    const timer = setInterval(() => {
      for (let i = 0; i < 20; i++) recorder.recordSuccess(1_000_000);
    }, 2);
    let snapshots = 0;
    try {
      const m = await measureWindows(recorder, { windowMs: 40, maxWindows: 8, stability: 0.5, batchSize: 4 }, () =>
        Promise.resolve(snapshots++),
      );
      assert.equal(m.stable, true);
      // Usually 3; a busy machine can make the first window an outlier.
      assert.ok(m.windows.length >= 3 && m.windows.length < 8, `${m.windows.length} windows`);
      assert.equal(m.reportedWindows, 3);
      assert.equal(m.snapshotBefore, m.windows.length - 3);
      assert.equal(m.snapshotAfter, m.windows.length);
      assert.equal(m.latencyUs.p50, 1000);
      assert.equal(
        m.requests,
        m.windows.slice(-3).reduce((n, w) => n + w.requests, 0),
      );
      // Throughput counts inferences: requests × batch size.
      assert.ok(Math.abs(m.throughput - (m.requests * 4) / m.seconds) < 1e-6);
    } finally {
      clearInterval(timer);
    }
  });

  it('gives up after the window cap, reporting the last 3 as not stable', async () => {
    const recorder = new WindowRecorder();
    let latency = 1000;
    // Latency doubles every few milliseconds: never stable.
    const timer = setInterval(() => {
      latency *= 2;
      recorder.recordSuccess(latency);
    }, 3);
    let snapshots = 0;
    try {
      const m = await measureWindows(recorder, { windowMs: 20, maxWindows: 5, stability: 0.1, batchSize: 1 }, () =>
        Promise.resolve(snapshots++),
      );
      assert.equal(m.stable, false);
      assert.equal(m.windows.length, 5);
      assert.equal(m.snapshotBefore, 2);
      assert.equal(m.snapshotAfter, 5);
    } finally {
      clearInterval(timer);
    }
  });

  it('fails when every request of a window failed, quoting the first error', async () => {
    const recorder = new WindowRecorder();
    const timer = setInterval(() => recorder.recordError('HTTP 400: bad input'), 2);
    try {
      await assert.rejects(
        measureWindows(recorder, { windowMs: 20, maxWindows: 3, stability: 0.1, batchSize: 1 }, () =>
          Promise.resolve(0),
        ),
        /every request in a 20 ms window failed \(\d+\); the first: HTTP 400: bad input/,
      );
    } finally {
      clearInterval(timer);
    }
  });
});
