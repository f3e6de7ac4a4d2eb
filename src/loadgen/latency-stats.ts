// Percentiles and the stability test over measurement windows, as perf_analyzer computes them.

/** Nearest-rank percentile of ascending-sorted samples, q in (0, 1]; NaN when there are none. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** The samples of several windows merged into one ascending array. */
export function mergeSorted(samples: readonly Float64Array[]): Float64Array {
  const total = samples.reduce((n, s) => n + s.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const s of samples) {
    all.set(s, offset);
    offset += s.length;
  }
  return all.sort();
}

export interface LatencySummary {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(sorted: Float64Array): LatencySummary {
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/**
 * perf_analyzer's test: every value lies within ±`tolerance` (0.1 = 10%) of the values' mean.
 * No values, a zero mean or a NaN (a window with no completed request) is never stable.
 */
export function withinTolerance(values: readonly number[], tolerance: number): boolean {
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) return false;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean <= 0) return false;
  return values.every((v) => Math.abs(v / mean - 1) <= tolerance);
}

/** Are the last `count` windows stable on both throughput and p50 latency? */
export function lastWindowsStable(
  windows: readonly { readonly throughput: number; readonly p50Us: number }[],
  count: number,
  tolerance: number,
): boolean {
  if (windows.length < count) return false;
  const last = windows.slice(-count);
  return (
    withinTolerance(
      last.map((w) => w.throughput),
      tolerance,
    ) &&
    withinTolerance(
      last.map((w) => w.p50Us),
      tolerance,
    )
  );
}
