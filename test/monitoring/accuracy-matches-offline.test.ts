// The figures the store reports equal the ones computed here, offline, from the same rows and
// labels: accuracy and log-loss for distributions and for logits (softmax), MAE and RMSE for
// scalar and vector regression, per version and per experiment variant, and diffs of snapshots.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Predictions } from '../../src/monitoring/predictions.js';
import { Metrics } from '../../src/observability/metrics.js';
import { makeTensor } from '../../src/tensor/index.js';
import { seededRandom } from '../../src/util/seeded-random.js';

function offlineClassification(rows: number[][], labels: number[], softmax: boolean) {
  let correct = 0;
  let loss = 0;
  rows.forEach((row, i) => {
    const label = labels[i] ?? 0;
    const best = row.indexOf(Math.max(...row));
    if (best === label) correct++;
    const p = softmax ? Math.exp(row[label] ?? 0) / row.reduce((a, v) => a + Math.exp(v), 0) : (row[label] ?? 0);
    loss += -Math.log(Math.min(1 - 1e-15, Math.max(1e-15, p)));
  });
  return { accuracy: correct / rows.length, logLoss: loss / rows.length };
}

const close = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);

describe('accuracy from joined labels', () => {
  for (const softmax of [false, true]) {
    it(`equals the offline accuracy and log-loss (${softmax ? 'logits, through a softmax' : 'probabilities'})`, async () => {
      const random = seededRandom(softmax ? 7 : 11);
      const metrics = new Metrics();
      const predictions = new Predictions({ maxEntries: 1000, maxAgeMs: 60_000, metrics });
      const rows: number[][] = [];
      const labels: number[] = [];
      for (let i = 0; i < 200; i++) {
        const raw = [random() * 4 - 2, random() * 4 - 2, random() * 4 - 2, random() * 4 - 2];
        const sum = raw.reduce((a, v) => a + Math.exp(v), 0);
        // FP64 so the row kept is the row computed here.
        const row = softmax ? raw : raw.map((v) => Math.exp(v) / sum);
        rows.push(row);
        labels.push(Math.floor(random() * 4));
        const source = { model: 'm', version: 2, experiment: 'exp', variant: i % 2 === 0 ? 'a' : 'b' };
        predictions.record([`r${i}`], source, [makeTensor('scores', 'FP64', [1, 4], Float64Array.from(row))], 1);
      }
      // Label three quarters of them: coverage is labelled ÷ recorded.
      const labelled = rows.length * 0.75;
      for (let i = 0; i < labelled; i++) predictions.feedback(`r${i}`, labels[i]);
      const expected = offlineClassification(rows.slice(0, labelled), labels.slice(0, labelled), softmax);
      const summary = predictions.accuracy({ model: 'm', version: 2 });
      close(summary.classification.accuracy, expected.accuracy, 'accuracy');
      close(summary.classification.logLoss, expected.logLoss, 'log-loss');
      close(summary.labelCoverage, 0.75, 'coverage');
      assert.equal(summary.classification.softmaxed, softmax ? labelled : 0);
      const evenRows = rows.slice(0, labelled).filter((_, i) => i % 2 === 0);
      const evenLabels = labels.slice(0, labelled).filter((_, i) => i % 2 === 0);
      close(
        predictions.accuracy({ experiment: 'exp', variant: 'a' }).classification.accuracy,
        offlineClassification(evenRows, evenLabels, softmax).accuracy,
        'variant a accuracy',
      );
      const gauge = (await metrics.accuracy.get()).values.find((v) => v.labels.model === 'm');
      close(gauge?.value ?? null, expected.accuracy, 'inferd_accuracy');
    });
  }

  it('equals the offline MAE and RMSE for scalar and vector regression', () => {
    const random = seededRandom(3);
    const predictions = new Predictions({ maxEntries: 1000, maxAgeMs: 60_000, metrics: new Metrics() });
    let abs = 0;
    let sq = 0;
    let values = 0;
    for (let i = 0; i < 50; i++) {
      const width = i % 2 === 0 ? 1 : 3;
      const row = Array.from({ length: width }, () => random() * 10);
      const truth = row.map((v) => v + (random() - 0.5) * 2);
      predictions.record(
        [`r${i}`],
        { model: 'reg', version: 1 },
        [makeTensor('y', 'FP64', [1, width], Float64Array.from(row))],
        1,
      );
      predictions.feedback(`r${i}`, width === 1 ? truth[0] : truth);
      row.forEach((v, j) => {
        abs += Math.abs(v - (truth[j] ?? 0));
        sq += (v - (truth[j] ?? 0)) ** 2;
      });
      values += width;
    }
    const { regression } = predictions.accuracy({ model: 'reg' });
    close(regression.meanAbsoluteError, abs / values, 'MAE');
    close(regression.rootMeanSquaredError, Math.sqrt(sq / values), 'RMSE');
    assert.equal(regression.n, 50);
  });

  it('gives a window as the difference of two snapshots', () => {
    const predictions = new Predictions({ maxEntries: 100, maxAgeMs: 60_000, metrics: new Metrics() });
    const send = (id: string, row: number[], label: number) => {
      predictions.record(
        [id],
        { model: 'w', version: 1 },
        [makeTensor('p', 'FP32', [1, 2], Float32Array.from(row))],
        1,
      );
      predictions.feedback(id, label);
    };
    send('a', [1, 0], 0);
    send('b', [1, 0], 0);
    const before = predictions.accuracy({ model: 'w', version: 1 });
    send('c', [1, 0], 1);
    send('d', [0, 1], 1);
    const after = predictions.accuracy({ model: 'w', version: 1 });
    const n = after.classification.n - before.classification.n;
    const correct = after.classification.correct - before.classification.correct;
    assert.deepEqual([n, correct], [2, 1]);
    assert.equal(before.classification.accuracy, 1);
    assert.equal(after.classification.accuracy, 0.75);
  });
});
