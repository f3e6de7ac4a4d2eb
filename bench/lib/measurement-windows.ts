// perf_analyzer's measurement model at concurrency 1: warm up, then measure fixed-length windows
// until the last `stableWindows` agree on throughput and p50 latency within a tolerance (or a
// window cap is reached), and report those windows merged.

import { percentile, sortedCopy, withinTolerance } from './latency-stats.js';

export interface WindowOptions {
  readonly warmupMs: number;
  readonly windowMs: number;
  /** How many trailing windows must agree (perf_analyzer: 3). */
  readonly stableWindows: number;
  readonly maxWindows: number;
  /** Allowed spread, max/min − 1 (perf_analyzer: 0.10). */
  readonly tolerance: number;
}

export interface WindowSummary {
  readonly count: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Us: number;
}

export interface Measurement<S> {
  readonly stable: boolean;
  /** Every window measured, in order; the reported ones are the last `reported`. */
  readonly windows: readonly WindowSummary[];
  readonly reported: number;
  readonly count: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  /** Snapshots taken just before the first reported window and just after the last one. */
  readonly snapshotBefore: S;
  readonly snapshotAfter: S;
}

/** One operation: resolves with its own latency in nanoseconds. */
export type TimedOperation = () => Promise<number>;

async function runFor(op: TimedOperation, ms: number): Promise<{ samples: Float64Array; seconds: number }> {
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < end) {
    samples.push(await op());
    now = process.hrtime.bigint();
  }
  return { samples: Float64Array.from(samples), seconds: Number(now - start) / 1e9 };
}

/**
 * Measures `op` back to back (one outstanding at a time). `snapshot` is called at every window
 * boundary, outside the timed windows, e.g. to read server statistics.
 */
export async function measureWindows<S>(
  op: TimedOperation,
  options: WindowOptions,
  snapshot: () => Promise<S>,
): Promise<Measurement<S>> {
  await runFor(op, options.warmupMs);
  const windows: WindowSummary[] = [];
  const samples: Float64Array[] = [];
  const snapshots: S[] = [await snapshot()];
  let stable = false;
  while (windows.length < options.maxWindows) {
    const w = await runFor(op, options.windowMs);
    snapshots.push(await snapshot());
    samples.push(w.samples);
    windows.push({
      count: w.samples.length,
      seconds: w.seconds,
      throughput: w.samples.length / w.seconds,
      p50Us: percentile(w.samples.slice().sort(), 0.5) / 1000,
    });
    if (windows.length >= options.stableWindows) {
      const last = windows.slice(-options.stableWindows);
      stable =
        withinTolerance(
          last.map((x) => x.throughput),
          options.tolerance,
        ) &&
        withinTolerance(
          last.map((x) => x.p50Us),
          options.tolerance,
        );
      if (stable) break;
    }
  }
  const reported = Math.min(options.stableWindows, windows.length);
  const used = windows.slice(-reported);
  const merged = sortedCopy(samples.slice(-reported));
  const count = used.reduce((n, w) => n + w.count, 0);
  const seconds = used.reduce((n, w) => n + w.seconds, 0);
  let sum = 0;
  for (const v of merged) sum += v;
  // One snapshot precedes each window and one follows the last, so the arrays line up.
  const before = snapshots[windows.length - reported] as S;
  const after = snapshots[windows.length] as S;
  return {
    stable,
    windows,
    reported,
    count,
    throughput: count / seconds,
    p50Us: percentile(merged, 0.5) / 1000,
    p90Us: percentile(merged, 0.9) / 1000,
    p99Us: percentile(merged, 0.99) / 1000,
    meanUs: sum / merged.length / 1000,
    snapshotBefore: before,
    snapshotAfter: after,
  };
}
