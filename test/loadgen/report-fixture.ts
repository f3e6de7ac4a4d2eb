// A small BenchReport for the table and chart tests, with chosen throughputs and latencies.

import { DEFINITIONS, type BenchReport, type PointResult } from '../../src/loadgen/bench-results.js';

export interface PointSpec {
  readonly level: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly stable?: boolean;
}

function point(mode: BenchReport['mode'], s: PointSpec): PointResult {
  return {
    ...(mode === 'concurrency' ? { concurrency: s.level } : { requestRate: s.level }),
    stable: s.stable ?? true,
    windows: [],
    reportedWindows: 3,
    seconds: 3,
    requests: Math.round(s.throughput * 3),
    errors: 0,
    firstError: null,
    throughput: s.throughput,
    latencyUs: { mean: s.p50Us, p50: s.p50Us, p90: s.p50Us, p95: s.p99Us, p99: s.p99Us, max: s.p99Us },
    server: {
      requests: Math.round(s.throughput * 3),
      failures: 0,
      successUs: 60,
      queueUs: 10,
      computeInputUs: 5,
      computeInferUs: 30,
      computeOutputUs: 5,
      overheadUs: 10,
    },
    cost: null,
    sends: mode === 'request-rate' ? { sent: 300, late: 2, dropped: 1 } : null,
  };
}

export function reportWith(points: readonly PointSpec[], mode: BenchReport['mode'] = 'concurrency'): BenchReport {
  return {
    tool: 'inferd bench',
    inferdVersion: '0.0.0',
    startedAt: '2026-01-01T00:00:00.000Z',
    url: 'http://127.0.0.1:8000',
    model: 'simple',
    modelVersion: null,
    mode,
    encoding: 'json',
    batchSize: 1,
    windowMs: 2000,
    maxWindows: 10,
    stability: 0.1,
    stableWindows: 3,
    maxOutstanding: mode === 'request-rate' ? 256 : null,
    inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], source: 'random' }],
    definitions: DEFINITIONS,
    results: points.map((p) => point(mode, p)),
  };
}
