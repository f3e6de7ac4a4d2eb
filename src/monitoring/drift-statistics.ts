// The statistics of drift detection, as pure functions over arrays: PSI over quantile bins taken
// from the reference, the two-sample Kolmogorov–Smirnov statistic with its asymptotic p-value, and
// Pearson's χ² over a 2×k contingency table of category counts. The chi-square distribution comes
// from @stdlib (maintained, typed, tested against R and SciPy); the Kolmogorov limit distribution
// has no such package, so it is written here from its two classical series.

import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import chisquareQuantile from '@stdlib/stats-base-dists-chisquare-quantile';

/**
 * The share an empty bin is given so that ln(a/e) stays finite, as Evidently does (0.0001); the
 * bin's term then counts as a large but bounded contribution.
 */
export const EMPTY_BIN_SHARE = 1e-4;

/**
 * Interior edges of `bins` equal-frequency bins of an ascending sample: the values at ranks
 * i·m/B (i = 1 … B−1), with repeated edges removed, so a sample with ties (or few distinct values)
 * gives fewer, wider bins. A value v falls in the first bin whose edge is ≥ v (right-closed, as
 * pandas' qcut), and past the last edge in the last bin.
 */
export function quantileBinEdges(sortedReference: ArrayLike<number>, bins: number): Float64Array {
  const m = sortedReference.length;
  const edges: number[] = [];
  if (m === 0) return new Float64Array(0);
  for (let i = 1; i < bins; i++) {
    const rank = Math.min(m - 1, Math.max(0, Math.ceil((i * m) / bins) - 1));
    const edge = sortedReference[rank] ?? Number.NaN;
    if (edges.length === 0 || edge > (edges[edges.length - 1] ?? Number.NEGATIVE_INFINITY)) edges.push(edge);
  }
  // The largest value as an edge would leave the last bin empty by construction.
  const max = sortedReference[m - 1] ?? Number.NaN;
  while (edges.length > 0 && (edges[edges.length - 1] ?? Number.NaN) >= max) edges.pop();
  return Float64Array.from(edges);
}

/** The bin of `value` under `edges` (quantileBinEdges): 0 … edges.length. */
export function binOf(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] ?? Number.NaN) >= value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Counts of `values` per bin (edges.length + 1 bins); non-finite values are left out. */
export function binCounts(edges: ArrayLike<number>, values: ArrayLike<number>, length = values.length): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < length; i++) {
    const v = values[i] ?? Number.NaN;
    if (!Number.isFinite(v)) continue;
    const bin = binOf(edges, v);
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts;
}

/** Counts divided by their total (zeros when the total is 0). */
export function sharesOf(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] ?? 0;
  const shares = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) shares[i] = (counts[i] ?? 0) / total;
  return shares;
}

/**
 * Population stability index Σ (aᵢ − eᵢ) ln(aᵢ / eᵢ) between reference shares e and current
 * shares a (the symmetric Kullback–Leibler divergence); a share of 0 on either side counts as
 * EMPTY_BIN_SHARE.
 */
export function psi(referenceShares: ArrayLike<number>, currentShares: ArrayLike<number>): number {
  if (referenceShares.length !== currentShares.length)
    throw new RangeError(
      `PSI needs as many reference shares as current (${referenceShares.length} ≠ ${currentShares.length})`,
    );
  let sum = 0;
  for (let i = 0; i < referenceShares.length; i++) {
    const e = Math.max(referenceShares[i] ?? 0, EMPTY_BIN_SHARE);
    const a = Math.max(currentShares[i] ?? 0, EMPTY_BIN_SHARE);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * The PSI a window of n rows exceeds with probability α when nothing drifted, against a reference
 * of m rows over `bins` bins: under no drift PSI·nm/(n+m) is approximately χ²(bins − 1), so the
 * threshold is (1/n + 1/m)·χ²₁₋α(bins − 1). A fixed threshold (the popular 0.1) instead fires on most
 * windows of 100 rows and on almost none of 1,000.
 */
export function psiThreshold(n: number, m: number, bins: number, alpha: number): number {
  if (bins < 2) return Number.POSITIVE_INFINITY;
  return (1 / n + 1 / m) * chiSquareQuantile(1 - alpha, bins - 1);
}

/** The χ² quantile: the x with P(X ≤ x) = p for X ~ χ²(df). */
export function chiSquareQuantile(p: number, df: number): number {
  return chisquareQuantile(p, df);
}

/** P(X > x) for X ~ χ²(df). */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(x > 0)) return 1;
  return Math.min(1, Math.max(0, 1 - chisquareCdf(x, df)));
}

/**
 * The two-sample Kolmogorov–Smirnov statistic D = maxₓ |F_a(x) − F_b(x)| of two ascending samples.
 * Tied values advance both empirical CDFs together before the difference is read, as SciPy's
 * ks_2samp does.
 */
export function ksStatistic(sortedA: ArrayLike<number>, sortedB: ArrayLike<number>): number {
  const n = sortedA.length;
  const m = sortedB.length;
  if (n === 0 || m === 0) return 0;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const a = sortedA[i] ?? Number.NaN;
    const b = sortedB[j] ?? Number.NaN;
    const x = a <= b ? a : b;
    while (i < n && (sortedA[i] ?? Number.NaN) === x) i++;
    while (j < m && (sortedB[j] ?? Number.NaN) === x) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  return d;
}

/**
 * P(K > x) for Kolmogorov's limit distribution K = sup|B(t)| (a Brownian bridge), SciPy's
 * kstwobign.sf. Above 1.18 the alternating series 2 Σ (−1)^(k−1) e^(−2k²x²) converges in a few
 * terms; below it the Jacobi theta form of the CDF, √(2π)/x Σ e^(−(2k−1)²π²/(8x²)), does.
 */
export function kolmogorovSurvival(x: number): number {
  if (!(x > 0)) return 1;
  if (x < 1.18) {
    const factor = Math.sqrt(2 * Math.PI) / x;
    const w = (Math.PI * Math.PI) / (8 * x * x);
    let cdf = 0;
    for (let k = 1; k <= 20; k++) {
      const term = Math.exp(-(2 * k - 1) * (2 * k - 1) * w);
      cdf += term;
      if (term < 1e-17 * cdf) break;
    }
    return Math.min(1, Math.max(0, 1 - factor * cdf));
  }
  let sf = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sf += k % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sf));
}

/**
 * The asymptotic two-sided p-value of a two-sample KS statistic D between samples of n and m rows:
 * P(K > D·√(nm/(n+m))). It is slightly conservative for small samples (the exact p-value is
 * smaller), so the false-alarm rate stays at or below the α it is compared with.
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  return kolmogorovSurvival(d * Math.sqrt((n * m) / (n + m)));
}

export interface ChiSquareResult {
  readonly statistic: number;
  /** Degrees of freedom: the categories seen on either side, less one. */
  readonly df: number;
  readonly pValue: number;
}

/**
 * Pearson's χ² test of homogeneity over a 2×k contingency table (reference counts against current
 * counts per category), SciPy's chi2_contingency without Yates' correction. Categories seen on
 * neither side are left out; with fewer than two left there is nothing to compare (χ² 0, p 1).
 */
export function chiSquareContingency(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): ChiSquareResult {
  if (referenceCounts.length !== currentCounts.length)
    throw new RangeError(
      `χ² needs as many reference categories as current (${referenceCounts.length} ≠ ${currentCounts.length})`,
    );
  let refTotal = 0;
  let curTotal = 0;
  let categories = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = referenceCounts[i] ?? 0;
    const c = currentCounts[i] ?? 0;
    refTotal += r;
    curTotal += c;
    if (r + c > 0) categories++;
  }
  const total = refTotal + curTotal;
  if (categories < 2 || refTotal === 0 || curTotal === 0)
    return { statistic: 0, df: Math.max(0, categories - 1), pValue: 1 };
  let statistic = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = referenceCounts[i] ?? 0;
    const c = currentCounts[i] ?? 0;
    const column = r + c;
    if (column === 0) continue;
    const expectedRef = (column * refTotal) / total;
    const expectedCur = (column * curTotal) / total;
    statistic += (r - expectedRef) ** 2 / expectedRef + (c - expectedCur) ** 2 / expectedCur;
  }
  const df = categories - 1;
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}
