// Closed-loop load at a fixed concurrency, one operation looping per connection, measured in windows;
// a window the caller judges disturbed (other processes took the CPU) is dropped and measured again.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, sortedCopy, withinTolerance } from './latency-stats.js';
import type { TimedOperation } from './measurement-windows.js';

export interface LoadOptions {
  readonly warmupMs: number;
  readonly windowMs: number;
  /** Accepted windows wanted; all of them are reported. */
  readonly windows: number;
  /** Give up after this many windows in all (accepted or not). */
  readonly maxWindows: number;
  /** Windows agreeing within this spread (max/min − 1) on throughput and p50 count as stable. */
  readonly tolerance: number;
}

export interface LoadWindow {
  readonly count: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** CPU time of this (client) process over the window, in cores. */
  readonly clientCpuCores: number;
  readonly accepted: boolean;
}

export interface AcceptedWindow<S> {
  readonly window: LoadWindow;
  /** Snapshots at the window's start and end. */
  readonly before: S;
  readonly after: S;
}

export interface LoadMeasurement<S> {
  readonly concurrency: number;
  /** Every window measured, in order, accepted or not. */
  readonly windows: readonly LoadWindow[];
  /** The windows the figures merge: the accepted ones, or every window when none was accepted. */
  readonly accepted: readonly AcceptedWindow<S>[];
  /** Fewer windows than wanted were accepted before the cap. */
  readonly disturbed: boolean;
  /** Enough windows were accepted and they agree within the tolerance. */
  readonly stable: boolean;
  /** max/min − 1 over the accepted windows. */
  readonly throughputSpread: number;
  readonly p50Spread: number;
  readonly count: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  readonly clientCpuCores: number;
}

/** Busy CPU-seconds of the whole machine so far (/proc/stat, steal included), or NaN off Linux. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / 100;
  } catch {
    return Number.NaN;
  }
}

function spread(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const lo = Math.min(...values);
  return lo > 0 ? Math.max(...values) / lo - 1 : Number.POSITIVE_INFINITY;
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

/** Runs every operation in `ops` in its own loop for `ms` milliseconds, measuring nothing. */
export async function runLoad(ops: readonly TimedOperation[], ms: number): Promise<void> {
  let stopped = false;
  const loops = ops.map(async (op) => {
    while (!stopped) await op();
  });
  const running = Promise.all(loops);
  // A failing operation ends the load early; its error is thrown once every loop has stopped.
  running.catch(() => {
    stopped = true;
  });
  await Promise.race([sleep(ms), running]);
  stopped = true;
  await running;
}

/**
 * Runs every operation in `ops` in its own loop (concurrency = ops.length) through the warm-up
 * and the windows. A latency counts in the window during which its operation finished.
 * `snapshot` runs at every window boundary while the load goes on (e.g. server statistics), and
 * `accept` decides from a window and its two snapshots whether the window counts.
 */
export async function measureLoad<S>(
  ops: readonly TimedOperation[],
  options: LoadOptions,
  snapshot: () => Promise<S>,
  accept: (window: Omit<LoadWindow, 'accepted'>, before: S, after: S) => boolean = () => true,
): Promise<LoadMeasurement<S>> {
  if (ops.length === 0) throw new Error('measureLoad needs at least one operation');
  let current: number[] = [];
  let stopped = false;
  let failure: Error | undefined;
  const loops = ops.map(async (op) => {
    while (!stopped) current.push(await op());
  });
  const running = Promise.all(loops).catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err));
    stopped = true;
  });
  const check = (): void => {
    if (failure !== undefined) throw failure;
  };

  try {
    await sleep(options.warmupMs);
    check();
    const windows: LoadWindow[] = [];
    const measured: (AcceptedWindow<S> & { samples: Float64Array })[] = [];
    let acceptedCount = 0;
    let before = await snapshot();
    current = [];
    let start = process.hrtime.bigint();
    let cpu = process.cpuUsage();
    while (acceptedCount < options.windows && windows.length < options.maxWindows) {
      await sleep(options.windowMs);
      check();
      const taken = Float64Array.from(current);
      current = [];
      const end = process.hrtime.bigint();
      const cpuUsed = cpuSeconds(process.cpuUsage(cpu));
      cpu = process.cpuUsage();
      const after = await snapshot();
      const seconds = Number(end - start) / 1e9;
      start = end;
      const sorted = taken.slice().sort();
      const w = {
        count: taken.length,
        seconds,
        throughput: taken.length / seconds,
        p50Us: percentile(sorted, 0.5) / 1000,
        p99Us: percentile(sorted, 0.99) / 1000,
        clientCpuCores: cpuUsed / seconds,
      };
      const ok = accept(w, before, after);
      if (ok) acceptedCount++;
      windows.push({ ...w, accepted: ok });
      measured.push({ window: { ...w, accepted: ok }, before, after, samples: taken });
      before = after;
    }
    stopped = true;
    await running;
    check();

    const chosen = acceptedCount > 0 ? measured.filter((m) => m.window.accepted) : measured;
    const accepted = chosen.map(({ window, before: b, after: a }) => ({ window, before: b, after: a }));
    const merged = sortedCopy(chosen.map((m) => m.samples));
    let sum = 0;
    for (const v of merged) sum += v;
    const used = accepted.map((a) => a.window);
    const count = merged.length;
    const seconds = used.reduce((s, w) => s + w.seconds, 0);
    const throughputs = used.map((w) => w.throughput);
    const p50s = used.map((w) => w.p50Us);
    return {
      concurrency: ops.length,
      windows,
      accepted,
      disturbed: acceptedCount < options.windows,
      stable:
        acceptedCount >= options.windows &&
        withinTolerance(throughputs, options.tolerance) &&
        withinTolerance(p50s, options.tolerance),
      throughputSpread: spread(throughputs),
      p50Spread: spread(p50s),
      count,
      seconds,
      throughput: count / seconds,
      p50Us: percentile(merged, 0.5) / 1000,
      p90Us: percentile(merged, 0.9) / 1000,
      p99Us: percentile(merged, 0.99) / 1000,
      meanUs: sum / count / 1000,
      clientCpuCores: used.reduce((s, w) => s + w.clientCpuCores * w.seconds, 0) / seconds,
    };
  } finally {
    stopped = true;
    await running;
  }
}
