// The soak's verdict on made-up windows: a clean run passes; errors, refusals, RSS growth over the
// limit and p99 drift over the limit each fail it on their own. Window statistics and the mix
// parser are checked too.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyOutcome,
  judge,
  mixCycle,
  parseMix,
  vmRssMiB,
  windowStats,
  type Outcome,
  type Thresholds,
  type WindowStats,
} from '../../bench/lib/soak-verdict.js';

const LIMITS: Thresholds = { maxRssGrowthMiB: 64, maxP99Drift: 2, allowRefusals: false };

/** A 10 s window of 100 requests with latencies 1..100 ms scaled by `slow`, ending at `rssMiB`. */
function window(index: number, rssMiB: number, outcomes: Record<Outcome, number> = { '200': 100 }, slow = 1) {
  const n = Object.values(outcomes).reduce((a, b) => a + b, 0);
  return windowStats(index, {
    endS: (index + 1) * 10,
    seconds: 10,
    latenciesMs: Array.from({ length: n }, (_, i) => (n - i) * slow),
    outcomes: new Map(Object.entries(outcomes)),
    rssMiB,
  });
}

function clean(): WindowStats[] {
  return [window(0, 200), window(1, 210), window(2, 205)];
}

describe('soak window statistics', () => {
  it('counts outcomes and takes nearest-rank percentiles', () => {
    const w = window(0, 123, { '200': 90, '500': 4, '503': 3, 'grpc:OK': 2, network: 1 });
    assert.equal(w.requests, 100);
    assert.equal(w.throughput, 10);
    assert.equal(w.errors, 5); // 500 and network
    assert.equal(w.refusals, 3);
    assert.equal(w.p50Ms, 50);
    assert.equal(w.p99Ms, 99);
    assert.equal(w.rssMiB, 123);
    assert.deepEqual(w.byOutcome, { '200': 90, '500': 4, '503': 3, 'grpc:OK': 2, network: 1 });
  });

  it('has no percentiles without requests', () => {
    const w = windowStats(0, { endS: 10, seconds: 10, latenciesMs: [], outcomes: new Map(), rssMiB: 1 });
    assert.equal(w.requests, 0);
    assert.ok(Number.isNaN(w.p99Ms));
  });

  it('classifies outcomes', () => {
    assert.equal(classifyOutcome('200'), 'ok');
    assert.equal(classifyOutcome('204'), 'ok');
    assert.equal(classifyOutcome('grpc:OK'), 'ok');
    assert.equal(classifyOutcome('429'), 'refusal');
    assert.equal(classifyOutcome('503'), 'refusal');
    assert.equal(classifyOutcome('grpc:RESOURCE_EXHAUSTED'), 'refusal');
    assert.equal(classifyOutcome('grpc:UNAVAILABLE'), 'refusal');
    assert.equal(classifyOutcome('400'), 'error');
    assert.equal(classifyOutcome('500'), 'error');
    assert.equal(classifyOutcome('grpc:INTERNAL'), 'error');
    assert.equal(classifyOutcome('network'), 'error');
  });

  it('reads VmRSS from /proc/<pid>/status', () => {
    assert.equal(vmRssMiB('Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  204800 kB\nThreads:\t7\n'), 200);
    assert.ok(Number.isNaN(vmRssMiB('Name:\tnode\nState:\tZ (zombie)\n')));
  });
});

describe('soak verdict', () => {
  it('passes a clean run and reports its figures', () => {
    const v = judge(190, clean(), LIMITS);
    assert.equal(v.pass, true);
    assert.deepEqual(v.failures, []);
    assert.equal(v.windows, 3);
    assert.equal(v.requests, 300);
    assert.equal(v.errors, 0);
    assert.equal(v.rssStartMiB, 190);
    assert.equal(v.rssEndMiB, 205);
    assert.equal(v.rssGrowthMiB, 15);
    assert.ok(Math.abs(v.rssGrowthPct - (15 / 190) * 100) < 1e-9);
    assert.equal(v.p99Drift, 1);
    assert.deepEqual(v.byOutcome, { '200': 300 });
  });

  it('fails on a single error', () => {
    const windows = clean();
    windows[1] = window(1, 210, { '200': 99, '500': 1 });
    const v = judge(190, windows, LIMITS);
    assert.equal(v.pass, false);
    assert.equal(v.errors, 1);
    assert.deepEqual(v.failures, ['1 error(s)']);
  });

  it('fails on refusals unless they are allowed, and counts them apart from errors', () => {
    const windows = clean();
    windows[2] = window(2, 205, { '200': 98, '429': 1, '503': 1 });
    const strict = judge(190, windows, LIMITS);
    assert.equal(strict.pass, false);
    assert.equal(strict.errors, 0);
    assert.equal(strict.refusals, 2);
    assert.deepEqual(strict.failures, ['2 refusal(s) (429/503)']);
    assert.equal(judge(190, windows, { ...LIMITS, allowRefusals: true }).pass, true);
  });

  it('fails when RSS grows more than the limit, and only then', () => {
    const at = (end: number) => judge(100, [window(0, 120), window(1, end)], LIMITS);
    assert.equal(at(164).pass, true); // exactly the limit
    const grown = at(164.5);
    assert.equal(grown.pass, false);
    assert.equal(grown.rssGrowthMiB, 64.5);
    assert.deepEqual(grown.failures, ['RSS grew 64.5 MiB (limit 64 MiB)']);
  });

  it('fails when the last p99 drifts past the limit from the first, and only then', () => {
    const at = (slow: number) => judge(100, [window(0, 100), window(1, 100), window(2, 100, undefined, slow)], LIMITS);
    assert.equal(at(2).pass, true); // exactly 2x
    const drifted = at(2.5);
    assert.equal(drifted.pass, false);
    assert.equal(drifted.p99Drift, 2.5);
    assert.deepEqual(drifted.failures, ['p99 drifted 2.50x (limit 2x)']);
    // A slow window in the middle is not drift.
    assert.equal(judge(100, [window(0, 100), window(1, 100, undefined, 5), window(2, 100)], LIMITS).pass, true);
  });

  it('fails without requests or without an RSS reading', () => {
    assert.deepEqual(judge(100, [], LIMITS).failures, [
      'no request finished',
      'the server RSS could not be read',
      'no p99 in the first or last window',
    ]);
    assert.deepEqual(judge(Number.NaN, clean(), LIMITS).failures, ['the server RSS could not be read']);
  });

  it('lists every reason when several trip at once', () => {
    const v = judge(100, [window(0, 100), window(1, 300, { '200': 99, '500': 1 }, 3)], LIMITS);
    assert.equal(v.pass, false);
    assert.equal(v.failures.length, 3);
  });
});

describe('soak mix', () => {
  it('parses kinds with optional weights', () => {
    assert.deepEqual(parseMix('json'), [{ kind: 'json', weight: 1 }]);
    assert.deepEqual(parseMix(' json:2, grpc ,'), [
      { kind: 'json', weight: 2 },
      { kind: 'grpc', weight: 1 },
    ]);
  });

  it('refuses unknown kinds, bad weights, repeats and an empty mix', () => {
    assert.throws(() => parseMix('json,soap'), /unknown request kind 'soap'/);
    assert.throws(() => parseMix('json:0'), /positive integer/);
    assert.throws(() => parseMix('json:1.5'), /positive integer/);
    assert.throws(() => parseMix('json,json'), /named twice/);
    assert.throws(() => parseMix(' , '), /no request kind/);
  });

  it('interleaves a cycle by weight', () => {
    assert.deepEqual(mixCycle(parseMix('json:3,binary,grpc:2')), ['json', 'binary', 'grpc', 'json', 'grpc', 'json']);
  });
});
