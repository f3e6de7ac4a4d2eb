// Integer features with few values are tested as categories (χ²); a 384-number embedding is
// watched through its summary (mean, spread, norm, random projections), which flags a shifted
// embedding distribution and not an identical one.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VersionDriftMonitor, type WindowResult } from '../../src/monitoring/drift-monitor.js';
import { normals, rowsTensor, sampleOf } from './drift-fixtures.js';
import { seededRandom } from '../../src/util/seeded-random.js';

function category(random: () => number, shares: readonly number[]): number {
  let u = random();
  for (let c = 0; c < shares.length; c++) {
    u -= shares[c] ?? 0;
    if (u < 0) return c;
  }
  return shares.length - 1;
}

function categoricalRun(shares: readonly number[], windows: number): WindowResult[] {
  const reference = seededRandom(3);
  const results: WindowResult[] = [];
  const monitor = new VersionDriftMonitor({
    layouts: [{ name: 'segment', side: 'input', rowSize: 1, integral: true }],
    sample: sampleOf('segment', 2_000, 1, () => category(reference, [0.5, 0.3, 0.2])),
    settings: { window: 500, alpha: 0.01, sampleRate: 1, referenceRows: 2_000 },
    schedule: (run) => run(),
    onWindow: (r) => results.push(r),
  });
  const live = seededRandom(4);
  for (let i = 0; i < windows * 5; i++)
    monitor.observeInputs([rowsTensor('segment', 100, 1, () => category(live, shares), 'INT32')], 100);
  return results;
}

describe('categorical features', () => {
  it('are tested with χ² and flag a change of category shares', () => {
    const results = categoricalRun([0.3, 0.3, 0.4], 3);
    assert.equal(results.length, 3);
    for (const r of results) {
      assert.equal(r.features[0]?.kind, 'categorical');
      assert.equal(r.features[0]?.statistic, 'chi2');
      assert.equal(r.drift, true);
    }
  });

  it('do not alarm when the shares hold', () => {
    const results = categoricalRun([0.5, 0.3, 0.2], 100);
    assert.ok(results.filter((r) => r.drift).length <= 1, 'at most 1 alarm in 100 windows at α = 1%');
  });

  it('count a value the reference never had as its own category', () => {
    const results = categoricalRun([0.45, 0.25, 0.1, 0.2], 1); // category 3 is new
    assert.equal(results[0]?.drift, true);
  });
});

const DIM = 384;

function embeddingRun(transform: (x: number, column: number) => number, windows: number): WindowResult[] {
  const reference = normals(5);
  const offsets = Float64Array.from({ length: DIM }, (_, i) => Math.sin(i)); // a fixed, non-zero centre
  const results: WindowResult[] = [];
  const monitor = new VersionDriftMonitor({
    layouts: [{ name: 'embedding', side: 'output', rowSize: DIM, integral: false }],
    sample: sampleOf('embedding', 2_000, DIM, (c) => (offsets[c] ?? 0) + reference()),
    settings: { window: 200, alpha: 0.01, sampleRate: 1, referenceRows: 2_000 },
    schedule: (run) => run(),
    onWindow: (r) => results.push(r),
  });
  const live = normals(6);
  for (let i = 0; i < windows * 10; i++)
    monitor.observeOutputs([rowsTensor('embedding', 20, DIM, (c) => transform((offsets[c] ?? 0) + live(), c))], 20);
  return results;
}

describe('a high-dimensional output', () => {
  it('is watched through 7 summary features, not 384', () => {
    const [first] = embeddingRun((x) => x, 1);
    assert.deepEqual(
      first?.features.map((f) => f.feature),
      [
        'embedding.mean',
        'embedding.std',
        'embedding.l2',
        'embedding.proj[0]',
        'embedding.proj[1]',
        'embedding.proj[2]',
        'embedding.proj[3]',
      ],
    );
  });

  it('does not alarm on embeddings from the reference distribution', () => {
    const results = embeddingRun((x) => x, 50);
    assert.ok(results.filter((r) => r.drift).length <= 1, 'at most 1 alarm in 50 windows at α = 1%');
  });

  it('flags embeddings scaled by 10%', () => {
    const results = embeddingRun((x) => 1.1 * x, 3);
    assert.ok(results.every((r) => r.drift));
  });

  it('flags embeddings whose centre moves while their mean stays', () => {
    // Half of the coordinates move up by 0.5 and half down: the row mean does not move.
    const results = embeddingRun((x, c) => x + (c % 2 === 0 ? 0.5 : -0.5), 3);
    assert.ok(results.every((r) => r.drift));
    assert.ok(
      results.every((r) => r.features[0]?.drift === false),
      'the mean alone does not see it',
    );
    assert.ok(
      results.every((r) => r.features.some((f) => f.feature.startsWith('embedding.proj') && f.drift)),
      'the random projections see it',
    );
  });
});
