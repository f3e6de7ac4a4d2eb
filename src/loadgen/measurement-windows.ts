// perf_analyzer's measurement model for one load level: while the load runs, cut time into
// windows and measure them one after another until the last 3 agree on throughput and p50
// latency within the stability fraction (or the window cap is reached); report those windows
// merged, with server statistics read at the window boundaries.

import { setTimeout as sleep } from 'node:timers/promises';
import { lastWindowsStable, mergeSorted, percentile, summarize, type LatencySummary } from './latency-stats.js';

/** How many trailing windows must agree (perf_analyzer: 3). */
export const STABLE_WINDOWS = 3;

/** One window's raw record: what completed (and, in request-rate mode, was sent) within it. */
export interface RawWindow {
  readonly seconds: number;
  /** Latencies of the successful requests, nanoseconds, ascending. */
  readonly latenciesNs: Float64Array;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly sent: number;
  readonly late: number;
  readonly dropped: number;
}

/**
 * Collects completions into the current window. The load loop writes; the measurement takes
 * whole windows. Failed requests are counted, not timed: an error's latency says nothing about
 * serving.
 */
export class WindowRecorder {
  private latencies: number[] = [];
  private errors = 0;
  private firstError: string | undefined;
  private sent = 0;
  private late = 0;
  private dropped = 0;
  private startedAt = process.hrtime.bigint();

  recordSuccess(latencyNs: number): void {
    this.latencies.push(latencyNs);
  }

  recordError(message: string): void {
    this.errors += 1;
    this.firstError ??= message;
  }

  /** Request-rate mode: a send at its scheduled time (late = more than LATE_SEND_MS behind it). */
  recordSend(late: boolean): void {
    this.sent += 1;
    if (late) this.late += 1;
  }

  /** Request-rate mode: an arrival not sent because the outstanding cap was reached. */
  recordDrop(): void {
    this.dropped += 1;
  }

  /** Ends the current window and starts the next. */
  take(): RawWindow {
    const now = process.hrtime.bigint();
    const window: RawWindow = {
      seconds: Number(now - this.startedAt) / 1e9,
      latenciesNs: Float64Array.from(this.latencies).sort(),
      errors: this.errors,
      firstError: this.firstError,
      sent: this.sent,
      late: this.late,
      dropped: this.dropped,
    };
    this.latencies = [];
    this.errors = 0;
    this.firstError = undefined;
    this.sent = 0;
    this.late = 0;
    this.dropped = 0;
    this.startedAt = now;
    return window;
  }
}

export interface WindowOptions {
  readonly windowMs: number;
  readonly maxWindows: number;
  /** Allowed deviation from the mean of the last windows (perf_analyzer's --stability-percentage / 100). */
  readonly stability: number;
  /** Rows per request: throughput counts inferences, as perf_analyzer's infer/s does. */
  readonly batchSize: number;
}

export interface WindowSummary {
  readonly seconds: number;
  readonly requests: number;
  readonly errors: number;
  /** Inferences per second: successful requests × batch size / seconds. */
  readonly throughput: number;
  readonly p50Us: number;
  readonly sent: number;
  readonly late: number;
  readonly dropped: number;
}

export interface PointMeasurement<S> {
  readonly stable: boolean;
  /** Every window measured, in order; the reported ones are the last `reportedWindows`. */
  readonly windows: readonly WindowSummary[];
  readonly reportedWindows: number;
  readonly seconds: number;
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly throughput: number;
  readonly latencyUs: LatencySummary;
  readonly sent: number;
  readonly late: number;
  readonly dropped: number;
  /** Snapshots taken at the start of the first reported window and the end of the last one. */
  readonly snapshotBefore: S;
  readonly snapshotAfter: S;
}

function summarizeWindow(w: RawWindow, batchSize: number): WindowSummary {
  const requests = w.latenciesNs.length;
  return {
    seconds: w.seconds,
    requests,
    errors: w.errors,
    throughput: w.seconds > 0 ? (requests * batchSize) / w.seconds : 0,
    p50Us: percentile(w.latenciesNs, 0.5) / 1000,
    sent: w.sent,
    late: w.late,
    dropped: w.dropped,
  };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * Measures the load already running into `recorder`. `snapshot` runs at every window boundary
 * (e.g. to read server statistics); the load keeps running meanwhile, so windows stay contiguous
 * and the next one simply ends `windowMs` after the previous one did.
 */
export async function measureWindows<S>(
  recorder: WindowRecorder,
  options: WindowOptions,
  snapshot: () => Promise<S>,
): Promise<PointMeasurement<S>> {
  recorder.take();
  let boundary = performance.now();
  const snapshots: S[] = [await snapshot()];
  const raw: RawWindow[] = [];
  const windows: WindowSummary[] = [];
  let stable = false;
  while (windows.length < options.maxWindows) {
    await sleep(Math.max(0, boundary + options.windowMs - performance.now()));
    const w = recorder.take();
    boundary = performance.now();
    snapshots.push(await snapshot());
    raw.push(w);
    windows.push(summarizeWindow(w, options.batchSize));
    if (w.errors > 0 && w.latenciesNs.length === 0)
      throw new Error(
        `every request in a ${options.windowMs} ms window failed (${w.errors}); the first: ${w.firstError}`,
      );
    stable = lastWindowsStable(windows, STABLE_WINDOWS, options.stability);
    if (stable) break;
  }
  const reported = Math.min(STABLE_WINDOWS, windows.length);
  const used = raw.slice(-reported);
  const merged = mergeSorted(used.map((w) => w.latenciesNs));
  const seconds = sum(used.map((w) => w.seconds));
  const scale = (ns: LatencySummary): LatencySummary => ({
    mean: ns.mean / 1000,
    p50: ns.p50 / 1000,
    p90: ns.p90 / 1000,
    p95: ns.p95 / 1000,
    p99: ns.p99 / 1000,
    max: ns.max / 1000,
  });
  // One snapshot precedes each window and one follows the last, so the arrays line up.
  return {
    stable,
    windows,
    reportedWindows: reported,
    seconds,
    requests: merged.length,
    errors: sum(used.map((w) => w.errors)),
    firstError: raw.find((w) => w.firstError !== undefined)?.firstError,
    throughput: seconds > 0 ? (merged.length * options.batchSize) / seconds : 0,
    latencyUs: scale(summarize(merged)),
    sent: sum(used.map((w) => w.sent)),
    late: sum(used.map((w) => w.late)),
    dropped: sum(used.map((w) => w.dropped)),
    snapshotBefore: snapshots[windows.length - reported] as S,
    snapshotAfter: snapshots[windows.length] as S,
  };
}
