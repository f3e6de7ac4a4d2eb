// A feature's reference profile and the test of a window against it. A numeric feature keeps its
// sorted reference values (for KS) and its PSI bins (edges and shares); a categorical one (an
// integer or boolean feature with at most MAX_CATEGORIES distinct reference values) keeps its
// category counts (for χ²). Numeric features alarm on KS's p-value; PSI is reported beside it with
// the threshold calibrated to the window, since KS needs no binning and is exact in its tail
// where the χ² approximation of PSI is not.

import {
  binCounts,
  chiSquareContingency,
  ksPValue,
  ksStatistic,
  psi,
  psiThreshold,
  quantileBinEdges,
  sharesOf,
} from './drift-statistics.js';

/** PSI bins: reference deciles, the industry's habit. */
export const PSI_BINS = 10;
/** An integral feature with at most this many distinct reference values is categorical. */
export const MAX_CATEGORIES = 20;

export interface NumericProfile {
  readonly kind: 'numeric';
  readonly name: string;
  /** Finite reference values, ascending. */
  readonly sorted: Float64Array;
  readonly edges: Float64Array;
  readonly shares: Float64Array;
}

export interface CategoricalProfile {
  readonly kind: 'categorical';
  readonly name: string;
  /** The reference's distinct values, ascending. */
  readonly categories: readonly number[];
  /** Reference rows per category, then a last slot for values the reference never had (0). */
  readonly counts: Float64Array;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

/** A feature's profile from its reference values (non-finite ones left out). */
export function buildProfile(name: string, values: ArrayLike<number>, integral: boolean): FeatureProfile {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (Number.isFinite(v)) finite.push(v);
  }
  const sorted = Float64Array.from(finite).sort();
  if (integral) {
    const categories: number[] = [];
    for (const v of sorted) {
      if (categories[categories.length - 1] !== v) categories.push(v);
      if (categories.length > MAX_CATEGORIES) break;
    }
    if (categories.length <= MAX_CATEGORIES) {
      const counts = new Float64Array(categories.length + 1);
      let c = 0;
      for (const v of sorted) {
        while (categories[c] !== v) c++;
        counts[c] = (counts[c] ?? 0) + 1;
      }
      return { kind: 'categorical', name, categories, counts };
    }
  }
  const edges = quantileBinEdges(sorted, PSI_BINS);
  return { kind: 'numeric', name, sorted, edges, shares: sharesOf(binCounts(edges, sorted)) };
}

/** Reference rows a profile holds. */
export function profileRows(profile: FeatureProfile): number {
  if (profile.kind === 'numeric') return profile.sorted.length;
  let rows = 0;
  for (const c of profile.counts) rows += c;
  return rows;
}

/** One feature's result for one window. */
export interface FeatureResult {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  /** The statistic that alarms: KS's D for a numeric feature, Pearson's χ² for a categorical one. */
  readonly statistic: 'ks' | 'chi2';
  readonly value: number;
  readonly p_value: number;
  /** The p-value under which the feature alarms: α divided by the features tested (Bonferroni). */
  readonly threshold: number;
  readonly drift: boolean;
  /** Numeric features: PSI over the reference deciles, and the PSI that α would allow for this window. */
  readonly psi?: number;
  readonly psi_threshold?: number;
  /** Window rows with a finite value (the n of the test). */
  readonly rows: number;
}

/** Scratch space for testFeature, reused across calls. */
export interface TestScratch {
  buffer: Float64Array;
}

/**
 * Tests `window[0 … length)` against `profile` at the per-feature level `alphaPerFeature`.
 * Non-finite window values are left out.
 */
export function testFeature(
  profile: FeatureProfile,
  window: ArrayLike<number>,
  length: number,
  alphaPerFeature: number,
  scratch: TestScratch = { buffer: new Float64Array(length) },
): FeatureResult {
  if (profile.kind === 'categorical') return testCategorical(profile, window, length, alphaPerFeature);
  if (scratch.buffer.length < length) scratch.buffer = new Float64Array(length);
  let n = 0;
  for (let i = 0; i < length; i++) {
    const v = window[i] ?? Number.NaN;
    if (Number.isFinite(v)) scratch.buffer[n++] = v;
  }
  const current = scratch.buffer.subarray(0, n).sort();
  const m = profile.sorted.length;
  const d = ksStatistic(profile.sorted, current);
  const p = n === 0 ? 1 : ksPValue(d, n, m);
  const bins = profile.edges.length + 1;
  return {
    feature: profile.name,
    kind: 'numeric',
    statistic: 'ks',
    value: d,
    p_value: p,
    threshold: alphaPerFeature,
    drift: p < alphaPerFeature,
    psi: n === 0 ? 0 : psi(profile.shares, sharesOf(binCounts(profile.edges, current))),
    psi_threshold: n === 0 ? Number.POSITIVE_INFINITY : psiThreshold(n, m, bins, alphaPerFeature),
    rows: n,
  };
}

function testCategorical(
  profile: CategoricalProfile,
  window: ArrayLike<number>,
  length: number,
  alphaPerFeature: number,
): FeatureResult {
  const counts = new Float64Array(profile.counts.length);
  const other = profile.categories.length;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const v = window[i] ?? Number.NaN;
    if (!Number.isFinite(v)) continue;
    n++;
    const c = categoryOf(profile.categories, v);
    counts[c < 0 ? other : c] = (counts[c < 0 ? other : c] ?? 0) + 1;
  }
  const r = chiSquareContingency(profile.counts, counts);
  return {
    feature: profile.name,
    kind: 'categorical',
    statistic: 'chi2',
    value: r.statistic,
    p_value: r.pValue,
    threshold: alphaPerFeature,
    drift: r.pValue < alphaPerFeature,
    rows: n,
  };
}

/** The index of `value` among the ascending `categories`, −1 when absent. */
function categoryOf(categories: readonly number[], value: number): number {
  let lo = 0;
  let hi = categories.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = categories[mid] ?? Number.NaN;
    if (c === value) return mid;
    if (c < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
