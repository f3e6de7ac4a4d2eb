// The statistical tests a canary controller runs once per step on a fresh sample: error rate and
// accuracy as a non-inferiority comparison of two proportions (Newcombe's hybrid score interval),
// a latency tail turned into a proportion and judged by an exact binomial test, and the sample
// ratio mismatch check that says whether the comparison may be read at all. Pure functions; the
// controller splits alpha across steps and metrics (Bonferroni) before it calls them.

import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { InferdError } from '../errors/index.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** A count of events (errors, correct answers) among n trials. */
export interface Proportion {
  readonly n: number;
  readonly x: number;
}

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

function invalid(message: string): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message);
}

function checkAlpha(alpha: number, where: string): void {
  if (!(alpha > 0 && alpha < 1)) throw invalid(`${where}: alpha must be in (0, 1), got ${alpha}`);
}

function checkCount(p: Proportion, what: string): void {
  if (!Number.isInteger(p.n) || p.n < 0 || !Number.isInteger(p.x) || p.x < 0 || p.x > p.n)
    throw invalid(`${what}: expected whole numbers 0 ≤ x ≤ n, got x ${p.x}, n ${p.n}`);
}

/**
 * Wilson's score interval for x events in n trials at the given two-sided confidence (0.95 =
 * 95%). Unlike p̂ ± z·√(p̂q̂/n) it stays inside [0, 1] and is not empty at x = 0 or x = n.
 * n = 0 gives [0, 1]: nothing is known.
 */
export function wilsonInterval(x: number, n: number, confidence: number): Interval {
  checkCount({ n, x }, 'wilsonInterval');
  if (!(confidence > 0 && confidence < 1))
    throw invalid(`wilsonInterval: confidence must be in (0, 1), got ${confidence}`);
  if (n === 0) return { lower: 0, upper: 1 };
  return wilsonAt(x, n, normalQuantile(1 - (1 - confidence) / 2, 0, 1));
}

function wilsonAt(x: number, n: number, z: number): Interval {
  const p = x / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // At x = 0 or x = n the bound is exactly 0 or 1; rounding must not move it off.
  return {
    lower: x === 0 ? 0 : Math.max(0, centre - halfWidth),
    upper: x === n ? 1 : Math.min(1, centre + halfWidth),
  };
}

/**
 * Newcombe's hybrid score interval (Newcombe 1998, method 10) for p₂ − p₁ built from the two
 * Wilson intervals at the same z: it keeps its coverage near nominal at small counts and zero
 * events, where the Wald interval collapses to a point.
 */
export function newcombeInterval(first: Proportion, second: Proportion, z: number): Interval {
  const p1 = first.x / first.n;
  const p2 = second.x / second.n;
  const w1 = wilsonAt(first.x, first.n, z);
  const w2 = wilsonAt(second.x, second.n, z);
  const d = p2 - p1;
  return {
    lower: d - Math.sqrt((p2 - w2.lower) ** 2 + (w1.upper - p1) ** 2),
    upper: d + Math.sqrt((w2.upper - p2) ** 2 + (p1 - w1.lower) ** 2),
  };
}

/**
 * The pooled two-proportion z-test of H0 p₁ = p₂: z = (p̂₂ − p̂₁) ÷ √(p̂q̂(1/n₁ + 1/n₂)), p̂ pooled,
 * two-sided p = 2(1 − Φ(|z|)). The superiority test, for reports; the canary verdict is
 * compareProportions'.
 */
export function twoProportionZTest(
  first: Proportion,
  second: Proportion,
): { readonly z: number; readonly pValue: number } {
  checkCount(first, 'twoProportionZTest: first');
  checkCount(second, 'twoProportionZTest: second');
  const pooled = (first.x + second.x) / (first.n + second.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / first.n + 1 / second.n));
  if (!(se > 0)) return { z: 0, pValue: 1 };
  const z = (second.x / second.n - first.x / first.n) / se;
  return { z, pValue: 2 * (1 - normalCdf(Math.abs(z), 0, 1)) };
}

export interface ProportionComparison {
  readonly stableRate: number;
  readonly canaryRate: number;
  /** canaryRate − stableRate. */
  readonly difference: number;
  /** The two-sided (1 − 2α) interval on the difference, i.e. each bound one-sided at 1 − α. */
  readonly lower: number;
  readonly upper: number;
  readonly verdict: Verdict;
}

export interface ProportionOptions {
  /** How much worse the canary may be and still count as not worse (e.g. 0.005 = half a point). */
  readonly margin: number;
  /** One-sided error rate of each decision. */
  readonly alpha: number;
  /** An error rate: lower is better; accuracy: higher is better. */
  readonly direction: 'lower-is-better' | 'higher-is-better';
}

/**
 * A non-inferiority comparison of the canary's rate with the stable one's. With lower-is-better,
 * `fail` when the canary is worse by more than the margin with confidence 1 − α (the interval's
 * lower bound on canary − stable is above the margin), `pass` when it is shown not worse than the
 * margin (the upper bound is below it), else `inconclusive`: more traffic is needed. With
 * higher-is-better the same, mirrored.
 */
export function compareProportions(
  stable: Proportion,
  canary: Proportion,
  options: ProportionOptions,
): ProportionComparison {
  checkCount(stable, 'compareProportions: stable');
  checkCount(canary, 'compareProportions: canary');
  checkAlpha(options.alpha, 'compareProportions');
  if (!(options.margin >= 0 && options.margin < 1))
    throw invalid(`compareProportions: margin must be in [0, 1), got ${options.margin}`);
  const stableRate = stable.n === 0 ? 0 : stable.x / stable.n;
  const canaryRate = canary.n === 0 ? 0 : canary.x / canary.n;
  const difference = canaryRate - stableRate;
  if (stable.n === 0 || canary.n === 0)
    return { stableRate, canaryRate, difference, lower: -1, upper: 1, verdict: 'inconclusive' };
  const z = normalQuantile(1 - options.alpha, 0, 1);
  const { lower, upper } = newcombeInterval(stable, canary, z);
  // "Worse" is a positive difference for an error rate and a negative one for accuracy.
  const worseLow = options.direction === 'lower-is-better' ? lower : -upper;
  const worseHigh = options.direction === 'lower-is-better' ? upper : -lower;
  const verdict: Verdict = worseLow > options.margin ? 'fail' : worseHigh < options.margin ? 'pass' : 'inconclusive';
  return { stableRate, canaryRate, difference, lower, upper, verdict };
}

export interface TailOptions {
  /** The quantile compared, e.g. 0.99 for p99. */
  readonly quantile: number;
  /** The canary fails when its quantile is above maxRatio × the stable one's. */
  readonly maxRatio: number;
  readonly alpha: number;
}

export interface TailComparison {
  /** The stable arm's quantile. */
  readonly stableQuantile: number;
  /** maxRatio × stableQuantile: the threshold the canary's samples are held to. */
  readonly threshold: number;
  /** Canary samples above the threshold. */
  readonly above: number;
  readonly n: number;
  /** above ÷ n. */
  readonly share: number;
  /** 1 − quantile: the share above the threshold if the canary's quantile were exactly at it. */
  readonly expectedShare: number;
  /** P(X ≥ above) for X ~ Binomial(n, 1 − quantile): small means the canary's tail is too slow. */
  readonly pValueWorse: number;
  /** P(X ≤ above): small means the canary's quantile is shown below the threshold. */
  readonly pValueBetter: number;
  readonly verdict: Verdict;
}

/** The q-quantile of a sample (type 7, the linear interpolation R and NumPy use by default). */
export function sampleQuantile(sample: readonly number[] | Float64Array, q: number): number {
  const sorted = Float64Array.from(sample).sort();
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const below = sorted[lo] ?? NaN;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] ?? NaN;
  return below + (h - lo) * (above - below);
}

/**
 * Whether the canary's latency tail is more than maxRatio × the stable one's, asked as a
 * proportion: T = maxRatio × stable's quantile; if the canary's quantile were at T, a share
 * 1 − quantile of its samples would lie above T, so the count above T is Binomial(n, 1 − quantile)
 * at the boundary. An exact one-sided binomial test on that count gives `fail` (significantly more
 * above T), `pass` (significantly fewer: its quantile is below T), or `inconclusive`. The stable
 * quantile is taken as known; use a stable sample large enough for its tail (n ≫ 1 ÷ (1 − q)).
 */
export function compareTail(
  stable: readonly number[] | Float64Array,
  canary: readonly number[] | Float64Array,
  options: TailOptions,
): TailComparison {
  checkAlpha(options.alpha, 'compareTail');
  if (!(options.quantile > 0 && options.quantile < 1))
    throw invalid(`compareTail: quantile must be in (0, 1), got ${options.quantile}`);
  if (!(options.maxRatio > 0)) throw invalid(`compareTail: maxRatio must be positive, got ${options.maxRatio}`);
  if (stable.length === 0) throw invalid('compareTail: the stable sample is empty');
  const stableQuantile = sampleQuantile(stable, options.quantile);
  const threshold = options.maxRatio * stableQuantile;
  let above = 0;
  for (const v of canary) if (v > threshold) above++;
  const n = canary.length;
  const expectedShare = 1 - options.quantile;
  const pValueWorse = above === 0 ? 1 : 1 - binomialCdf(above - 1, n, expectedShare);
  const pValueBetter = binomialCdf(above, n, expectedShare);
  const verdict: Verdict =
    n > 0 && pValueWorse < options.alpha ? 'fail' : n > 0 && pValueBetter < options.alpha ? 'pass' : 'inconclusive';
  return {
    stableQuantile,
    threshold,
    above,
    n,
    share: n === 0 ? 0 : above / n,
    expectedShare,
    pValueWorse,
    pValueBetter,
    verdict,
  };
}

export interface SampleRatioMismatch {
  readonly chiSquare: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** The counts expected from the weights. */
  readonly expected: readonly number[];
  /** p < 0.001: the assignment is broken and the comparison must not be read (Kohavi, Tang, Xu 2020). */
  readonly mismatch: boolean;
}

/** The p-value below which a sample ratio mismatch is declared. */
export const SAMPLE_RATIO_MISMATCH_P = 0.001;

/** A χ² goodness-of-fit test of the arms' observed counts against their configured weights. */
export function sampleRatioMismatch(observed: readonly number[], weights: readonly number[]): SampleRatioMismatch {
  if (observed.length !== weights.length || observed.length < 2)
    throw invalid(
      `sampleRatioMismatch: expected a count and a weight per arm (at least 2 arms), got ${observed.length} counts and ${weights.length} weights`,
    );
  if (observed.some((o) => !Number.isInteger(o) || o < 0))
    throw invalid(`sampleRatioMismatch: counts must be whole numbers ≥ 0, got ${observed.join(', ')}`);
  if (weights.some((w) => !(w > 0)))
    throw invalid(`sampleRatioMismatch: weights must be positive, got ${weights.join(', ')}`);
  const total = observed.reduce((a, o) => a + o, 0);
  const weightSum = weights.reduce((a, w) => a + w, 0);
  const expected = weights.map((w) => (total * w) / weightSum);
  let chiSquare = 0;
  observed.forEach((o, i) => {
    const e = expected[i] ?? 0;
    if (e > 0) chiSquare += (o - e) ** 2 / e;
  });
  const degreesOfFreedom = observed.length - 1;
  const pValue = total === 0 ? 1 : 1 - chisquareCdf(chiSquare, degreesOfFreedom);
  return { chiSquare, degreesOfFreedom, pValue, expected, mismatch: pValue < SAMPLE_RATIO_MISMATCH_P };
}
