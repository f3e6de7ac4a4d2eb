// The drift statistics against values computed with SciPy 1.17 / NumPy (the Python lines are in
// the comments) and closed forms.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binCounts,
  chiSquareContingency,
  chiSquareQuantile,
  chiSquareSurvival,
  kolmogorovSurvival,
  ksPValue,
  ksStatistic,
  psi,
  psiThreshold,
  quantileBinEdges,
} from '../../src/monitoring/drift-statistics.js';

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

describe('PSI', () => {
  it('is the symmetric KL divergence of the shares', () => {
    // ((a-e)*np.log(a/e)).sum() with e = [.25]*4, a = [.1, .2, .3, .4]
    close(psi([0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]), 0.22821740957339182, 1e-12, 'psi');
    assert.equal(psi([0.5, 0.5], [0.5, 0.5]), 0);
  });

  it('gives an empty bin the share 0.0001, as Evidently does', () => {
    // a = np.maximum([0, .5, .25, .25], 1e-4)
    close(psi([0.25, 0.25, 0.25, 0.25], [0, 0.5, 0.25, 0.25]), 2.1285158932529735, 1e-12, 'psi with an empty bin');
  });

  it('bins on the reference quantiles, right-closed, and merges tied edges', () => {
    const ref = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1 … 100
    assert.deepEqual([...quantileBinEdges(ref, 4)], [25, 50, 75]);
    assert.deepEqual([...binCounts(quantileBinEdges(ref, 4), ref)], [25, 25, 25, 25]);
    // Few distinct values: deciles of {0 ×50, 1 ×30, 2 ×20} collapse to the edges 0 and 1.
    const tied = Float64Array.from([
      ...Array<number>(50).fill(0),
      ...Array<number>(30).fill(1),
      ...Array<number>(20).fill(2),
    ]);
    assert.deepEqual([...quantileBinEdges(tied, 10)], [0, 1]);
    assert.deepEqual([...binCounts([0, 1], tied)], [50, 30, 20]);
    assert.deepEqual([...binCounts([0, 1], [Number.NaN, -5, 5])], [1, 0, 1], 'NaN is left out');
  });

  it('has the threshold (1/n + 1/m)·χ²₁₋α(B−1)', () => {
    // stats.chi2.ppf(0.99, 9) = 21.665994333461924
    close(chiSquareQuantile(0.99, 9), 21.665994333461924, 1e-9, 'χ² quantile');
    close(psiThreshold(100, 100, 10, 0.01), 0.4333198866692385, 1e-9, 'n = m = 100');
    close(psiThreshold(1000, 1000, 10, 0.01), 0.04333198866692385, 1e-10, 'n = m = 1000');
    assert.equal(psiThreshold(100, 100, 1, 0.01), Number.POSITIVE_INFINITY, 'one bin cannot drift');
  });
});

describe('Kolmogorov–Smirnov', () => {
  it('measures D with ties advancing both samples (scipy ks_2samp)', () => {
    // stats.ks_2samp([.1,.4,.7,.9,1.3,2.2], [.2,.4,.5,1.5,2.5,3,3.5]).statistic = 0.42857142857142855
    const d = ksStatistic([0.1, 0.4, 0.7, 0.9, 1.3, 2.2], [0.2, 0.4, 0.5, 1.5, 2.5, 3, 3.5]);
    close(d, 0.4285714285714286, 1e-15, 'D');
    assert.equal(ksStatistic([1, 2, 3], [1, 2, 3]), 0);
    assert.equal(ksStatistic([1, 2, 3], [4, 5]), 1);
    assert.equal(ksStatistic([1, 1, 1], [1, 1]), 0, 'all tied');
  });

  it('has the Kolmogorov limit distribution on both sides of the series switch (scipy kstwobign.sf)', () => {
    const expected: [number, number][] = [
      [0.3, 0.9999906941986655],
      [0.5, 0.9639452436648751],
      [0.8, 0.5441424115741981],
      [1.0, 0.26999967167735456],
      [1.1799, 0.12351204971188676],
      [1.18, 0.1234538094297657],
      [1.358, 0.05002679733444698],
      [1.628, 0.009975522431181053],
      [2.0, 0.0006709252557796953],
      [3.0, 3.045995948942526e-8],
    ];
    for (const [x, sf] of expected) close(kolmogorovSurvival(x), sf, Math.max(1e-12, sf * 1e-9), `sf(${x})`);
    assert.equal(kolmogorovSurvival(0), 1);
  });

  it('reads the p-value at D·√(nm/(n+m))', () => {
    // stats.kstwobign.sf(0.42857142857142855 * np.sqrt(42/13)) = 0.5930795499453452
    close(ksPValue(0.4285714285714286, 6, 7), 0.5930795499453452, 1e-12, 'p');
    // The textbook critical values: c(0.05) = 1.358, c(0.01) = 1.628 (the p-value there is α).
    close(ksPValue(1.628 * Math.sqrt(2 / 100), 100, 100), 0.01, 1e-4, 'c(0.01)');
  });
});

describe('χ² over categories', () => {
  it('is Pearson’s test of a 2×k table (scipy chi2_contingency, correction=False)', () => {
    // stats.chi2_contingency([[30,20,50],[20,30,50]], correction=False): 4.0, p 0.1353352832366127, dof 2
    const r = chiSquareContingency([30, 20, 50], [20, 30, 50]);
    close(r.statistic, 4, 1e-12, 'χ²');
    assert.equal(r.df, 2);
    close(r.pValue, 0.1353352832366127, 1e-12, 'p');
  });

  it('leaves out categories seen on neither side and has nothing to test with one', () => {
    const r = chiSquareContingency([30, 0, 20, 50], [20, 0, 30, 50]);
    assert.equal(r.df, 2);
    close(r.statistic, 4, 1e-12, 'χ²');
    assert.deepEqual(chiSquareContingency([10, 0], [5, 0]), { statistic: 0, df: 0, pValue: 1 });
  });

  it('has the survival function of χ²(df)', () => {
    // stats.chi2.sf(12.5, 4) = 0.013995792487650894; χ²(2) has sf e^(−x/2)
    close(chiSquareSurvival(12.5, 4), 0.013995792487650894, 1e-12, 'sf');
    close(chiSquareSurvival(6, 2), Math.exp(-3), 1e-12, 'closed form');
    assert.equal(chiSquareSurvival(0, 3), 1);
  });
});
