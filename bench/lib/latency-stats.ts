// Percentiles and stability checks over latency samples, as perf_analyzer computes them.

// The same nearest-rank percentile and merge that `inferd bench` uses.
import { percentile } from '../../src/loadgen/latency-stats.js';

export { percentile };
export { mergeSorted as sortedCopy } from '../../src/loadgen/latency-stats.js';

/** True when every value lies within `tolerance` (0.1 = 10%) of the smallest one. */
export function withinTolerance(values: readonly number[], tolerance: number): boolean {
  if (values.length === 0) return false;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo > 0 && hi / lo - 1 <= tolerance;
}

/** Nearest-rank percentile `p` (0–100) of unsorted samples in milliseconds; NaN when there are none. */
export function percentileOfMs(values: readonly number[], p: number): number {
  return percentile(Float64Array.from(values).sort(), p / 100);
}
