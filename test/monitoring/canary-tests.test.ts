// The canary analysis tests against textbook values, and by simulation with a seeded generator:
// identical arms fail at most alpha of the time, a canary with double the error rate fails once
// there is enough traffic, and the tail test flags a canary twice as slow.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareProportions,
  compareTail,
  newcombeInterval,
  sampleQuantile,
  sampleRatioMismatch,
  twoProportionZTest,
  wilsonInterval,
  type Proportion,
} from '../../src/monitoring/canary-tests.js';
import { seededRandom } from '../../src/util/seeded-random.js';

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} ± ${tolerance}`);

function binomial(random: () => number, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (random() < p) x++;
  return x;
}

/** Log-normal latencies (Box–Muller), median `median` ms. */
function latencies(random: () => number, n: number, median: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    out[i] = median * Math.exp(0.5 * z);
  }
  return out;
}

describe('textbook values', () => {
  it('two-proportion z-test: 100/10,000 vs 130/10,000 errors gives z 1.99, p 0.047', () => {
    const { z, pValue } = twoProportionZTest({ n: 10_000, x: 100 }, { n: 10_000, x: 130 });
    near(z, 1.99, 0.005, 'z');
    near(pValue, 0.047, 0.0005, 'p');
  });

  it('Wilson: 3 errors in 1,000 gives 0.10%–0.88% at 95%, and a real interval at 0 errors', () => {
    const { lower, upper } = wilsonInterval(3, 1000, 0.95);
    near(lower, 0.00102, 0.00001, 'lower');
    near(upper, 0.00879, 0.00001, 'upper');
    const zero = wilsonInterval(0, 100, 0.95);
    assert.equal(zero.lower, 0);
    near(zero.upper, 0.037, 0.0005, 'upper at 0/100');
  });

  it("Newcombe's hybrid score interval matches his 1998 table (method 10)", () => {
    const cases: [Proportion, Proportion, number, number][] = [
      [{ x: 48, n: 80 }, { x: 56, n: 70 }, 0.0524, 0.3339],
      [{ x: 3, n: 10 }, { x: 9, n: 10 }, 0.1705, 0.809],
      [{ x: 0, n: 20 }, { x: 0, n: 10 }, -0.1611, 0.2775],
    ];
    for (const [first, second, lower, upper] of cases) {
      const interval = newcombeInterval(first, second, 1.959964);
      near(interval.lower, lower, 0.0001, `lower ${second.x}/${second.n} − ${first.x}/${first.n}`);
      near(interval.upper, upper, 0.0001, `upper ${second.x}/${second.n} − ${first.x}/${first.n}`);
    }
  });

  it('sample ratio mismatch: χ² against the weights, mismatch below p 0.001', () => {
    const even = sampleRatioMismatch([5000, 5000], [1, 1]);
    assert.deepEqual([even.chiSquare, even.pValue, even.mismatch], [0, 1, false]);
    const mild = sampleRatioMismatch([5000, 5300], [50, 50]);
    near(mild.chiSquare, 8.7379, 0.0001, 'χ² 5000/5300');
    near(mild.pValue, 0.00312, 0.00002, 'p 5000/5300');
    assert.equal(mild.mismatch, false);
    const broken = sampleRatioMismatch([8800, 1300], [90, 10]);
    // expected 9090 and 1010: (290²/9090) + (290²/1010)
    near(broken.chiSquare, 290 ** 2 / 9090 + 290 ** 2 / 1010, 1e-9, 'χ² 90/10');
    assert.equal(broken.mismatch, true);
    const boundary = sampleRatioMismatch([0, 0, 0], [1, 1, 2]);
    assert.equal(boundary.pValue, 1);
  });

  it('quantiles interpolate as R and NumPy do by default', () => {
    assert.equal(sampleQuantile([1, 2, 3, 4], 0.5), 2.5);
    near(sampleQuantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 9.91, 1e-12, 'p99');
  });
});

describe('non-inferiority of a rate', () => {
  it('fails a clearly worse canary, passes a clearly equal one, and waits when unsure', () => {
    const options = { margin: 0.005, alpha: 0.05, direction: 'lower-is-better' } as const;
    assert.equal(compareProportions({ n: 10_000, x: 100 }, { n: 10_000, x: 250 }, options).verdict, 'fail');
    assert.equal(compareProportions({ n: 10_000, x: 100 }, { n: 10_000, x: 105 }, options).verdict, 'pass');
    assert.equal(compareProportions({ n: 200, x: 2 }, { n: 200, x: 3 }, options).verdict, 'inconclusive');
    const zero = compareProportions({ n: 500, x: 0 }, { n: 500, x: 0 }, { ...options, margin: 0.01 });
    assert.ok(zero.upper > 0, 'zero errors on both arms still leave an interval, unlike Wald');
    assert.equal(zero.verdict, 'pass');
  });

  it('mirrors the decision for accuracy (higher is better)', () => {
    const options = { margin: 0.01, alpha: 0.05, direction: 'higher-is-better' } as const;
    assert.equal(compareProportions({ n: 5000, x: 4750 }, { n: 5000, x: 4500 }, options).verdict, 'fail');
    assert.equal(compareProportions({ n: 5000, x: 4500 }, { n: 5000, x: 4750 }, options).verdict, 'pass');
  });

  it('refuses counts that are not counts', () => {
    assert.throws(
      () =>
        compareProportions({ n: 10, x: 11 }, { n: 10, x: 1 }, { margin: 0, alpha: 0.05, direction: 'lower-is-better' }),
      /stable: expected whole numbers 0 ≤ x ≤ n, got x 11, n 10/,
    );
  });

  /** Fail rate of `trials` comparisons of two arms with the same error rate p. */
  function identicalArmsFailRate(seed: number, trials: number, margin: number): number {
    const random = seededRandom(seed);
    let fails = 0;
    for (let t = 0; t < trials; t++) {
      const stable = { n: 2000, x: binomial(random, 2000, 0.02) };
      const canary = { n: 2000, x: binomial(random, 2000, 0.02) };
      const c = compareProportions(stable, canary, { margin, alpha: 0.05, direction: 'lower-is-better' });
      if (c.verdict === 'fail') fails++;
    }
    return fails / trials;
  }

  it('on identical arms fails at most alpha of the time (simulated)', () => {
    const rate = identicalArmsFailRate(20240601, 1000, 0.005);
    assert.ok(rate <= 0.05, `fail rate ${rate}`);
  });

  it('fails identical arms about alpha of the time at a margin of 0, the boundary of the null (simulated)', () => {
    // 2,000 trials: the simulation's own standard error is about 0.005.
    const rate = identicalArmsFailRate(1, 2000, 0);
    assert.ok(Math.abs(rate - 0.05) <= 0.015, `fail rate ${rate}`);
  });

  it('fails a canary with double the error rate, given enough samples (simulated)', () => {
    const random = seededRandom(7);
    const trials = 200;
    let fails = 0;
    for (let t = 0; t < trials; t++) {
      const stable = { n: 20_000, x: binomial(random, 20_000, 0.01) };
      const canary = { n: 20_000, x: binomial(random, 20_000, 0.02) };
      const c = compareProportions(stable, canary, { margin: 0.002, alpha: 0.05, direction: 'lower-is-better' });
      if (c.verdict === 'fail') fails++;
    }
    assert.ok(fails / trials >= 0.95, `power ${fails / trials}`);
  });
});

describe('latency tail as a proportion', () => {
  it('flags a canary twice as slow, and does not flag an equal one (simulated)', () => {
    const random = seededRandom(99);
    const options = { quantile: 0.99, maxRatio: 1.5, alpha: 0.05 };
    const trials = 100;
    let slowFails = 0;
    let equalFails = 0;
    let equalPasses = 0;
    for (let t = 0; t < trials; t++) {
      const stable = latencies(random, 5000, 20);
      const slow = latencies(random, 5000, 40);
      const equal = latencies(random, 5000, 20);
      if (compareTail(stable, slow, options).verdict === 'fail') slowFails++;
      const verdict = compareTail(stable, equal, options).verdict;
      if (verdict === 'fail') equalFails++;
      if (verdict === 'pass') equalPasses++;
    }
    assert.equal(slowFails, trials);
    assert.ok(equalFails / trials <= options.alpha, `equal arms failed ${equalFails} times`);
    assert.ok(equalPasses / trials >= 0.9, `equal arms passed ${equalPasses} times`);
  });

  it('reports the threshold, the share above it and the exact binomial p-value', () => {
    const stable = Array.from({ length: 101 }, (_, i) => i); // p99 = 99
    const canary = [...Array.from({ length: 95 }, () => 10), 200, 200, 200, 200, 200];
    const c = compareTail(stable, canary, { quantile: 0.99, maxRatio: 1, alpha: 0.05 });
    assert.equal(c.threshold, 99);
    assert.deepEqual([c.above, c.n, c.share], [5, 100, 0.05]);
    // P(X ≥ 5), X ~ Binomial(100, 0.01) = 1 − Σ_{k<5} C(100,k) 0.01^k 0.99^(100−k)
    let below = 0;
    let term = 0.99 ** 100;
    for (let k = 0; k < 5; k++) {
      below += term;
      term *= ((100 - k) / (k + 1)) * (0.01 / 0.99);
    }
    near(c.pValueWorse, 1 - below, 1e-12, 'p-value');
    assert.equal(c.verdict, 'fail');
  });
});
