// Percentiles and stability checks over latency samples, as perf_analyzer computes them.

/** Nearest-rank percentile of ascending-sorted samples; q in (0, 1]. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** True when every value lies within `tolerance` (0.1 = 10%) of the smallest one. */
export function withinTolerance(values: readonly number[], tolerance: number): boolean {
  if (values.length === 0) return false;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo > 0 && hi / lo - 1 <= tolerance;
}

export function sortedCopy(samples: readonly Float64Array[]): Float64Array {
  const total = samples.reduce((n, s) => n + s.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const s of samples) {
    all.set(s, offset);
    offset += s.length;
  }
  return all.sort();
}
