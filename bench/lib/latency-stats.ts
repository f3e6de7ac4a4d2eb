// Percentiles and stability checks over latency samples, as perf_analyzer computes them.

// The same nearest-rank percentile and merge that `inferd bench` uses.
export { percentile, mergeSorted as sortedCopy } from '../../src/loadgen/latency-stats.js';

/** True when every value lies within `tolerance` (0.1 = 10%) of the smallest one. */
export function withinTolerance(values: readonly number[], tolerance: number): boolean {
  if (values.length === 0) return false;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo > 0 && hi / lo - 1 <= tolerance;
}
