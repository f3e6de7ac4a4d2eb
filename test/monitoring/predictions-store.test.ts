// The store of recent predictions: bounded by count and by age (a clock the test moves), and the
// errors a label meets: unknown id, expired id, a second label, a label of the wrong type or shape.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/errors/index.js';
import { Predictions, type PredictionSource } from '../../src/monitoring/predictions.js';
import { Metrics } from '../../src/observability/metrics.js';
import { makeTensor } from '../../src/tensor/index.js';

const IRIS: PredictionSource = { model: 'iris', version: 1 };
const CLASSES = ['setosa', 'versicolor', 'virginica'];

function probabilities(rows: number[][]) {
  return makeTensor('probabilities', 'FP32', [rows.length, 3], Float32Array.from(rows.flat()));
}

function store(options: { maxEntries?: number; maxAgeMs?: number } = {}) {
  let now = 0;
  const metrics = new Metrics();
  const predictions = new Predictions({
    maxEntries: options.maxEntries ?? 100,
    maxAgeMs: options.maxAgeMs ?? 60_000,
    metrics,
    now: () => now,
  });
  return {
    predictions,
    metrics,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function refusal(fn: () => unknown): InferdError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InferdError, String(err));
    return err;
  }
  assert.fail('expected an InferdError');
}

async function counterValue(metrics: Metrics, outcome: string): Promise<number> {
  const { values } = await metrics.feedbackLabels.get();
  return values.filter((v) => v.labels.outcome === outcome).reduce((a, v) => a + v.value, 0);
}

describe('Predictions store', () => {
  it('keeps at most maxEntries requests, dropping the oldest, and says the dropped ones expired', () => {
    const { predictions } = store({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) predictions.record([`r${i}`], IRIS, [probabilities([[1, 0, 0]])], 1, CLASSES);
    assert.equal(predictions.stats.entries, 3);
    assert.equal(predictions.stats.evicted, 2);
    assert.equal(refusal(() => predictions.feedback('r0', 0)).httpStatus, 410);
    assert.equal(refusal(() => predictions.feedback('r1', 0)).httpStatus, 410);
    assert.equal(predictions.feedback('r2', 0).correct, 1);
    assert.equal(predictions.feedback('r4', 'setosa').rows, 1);
  });

  it('drops requests older than maxAgeMs, and the 410 names the retention', () => {
    const { predictions, advance } = store({ maxAgeMs: 1000 });
    predictions.record(['old'], IRIS, [probabilities([[0, 1, 0]])], 1, CLASSES);
    advance(600);
    predictions.record(['young'], IRIS, [probabilities([[0, 1, 0]])], 1, CLASSES);
    advance(401);
    const gone = refusal(() => predictions.feedback('old', 1));
    assert.equal(gone.httpStatus, 410);
    assert.match(gone.message, /request 'old'.*model 'iris' version 1.*kept for 1 s \(--feedback-max-age\)/);
    assert.equal(predictions.feedback('young', 1).correct, 1);
  });

  it('keeps nothing with maxEntries 0', () => {
    const { predictions } = store({ maxEntries: 0 });
    predictions.record(['a'], IRIS, [probabilities([[1, 0, 0]])], 1, CLASSES);
    assert.equal(predictions.enabled, false);
    assert.equal(predictions.stats.entries, 0);
    assert.equal(refusal(() => predictions.feedback('a', 0)).httpStatus, 404);
  });

  it('joins a label by either id of a request, once', async () => {
    const { predictions, metrics } = store();
    predictions.record(['server-1', 'client-x'], IRIS, [probabilities([[0.1, 0.2, 0.7]])], 1, CLASSES);
    assert.equal(predictions.feedback('client-x', 'virginica').correct, 1);
    const again = refusal(() => predictions.feedback('server-1', 2));
    assert.equal(again.httpStatus, 409);
    assert.match(again.message, /already has its label/);
    const summary = predictions.accuracy({ model: 'iris', version: 1 });
    assert.equal(summary.recorded, 1, 'two ids of one request are one prediction');
    assert.equal(summary.labelled, 1);
    assert.equal(await counterValue(metrics, 'accepted'), 1);
    assert.equal(await counterValue(metrics, 'duplicate'), 1);
  });

  it('answers an unknown id with a 404 that says which ids are kept', async () => {
    const { predictions, metrics } = store();
    const unknown = refusal(() => predictions.feedback('never-seen', 0));
    assert.equal(unknown.httpStatus, 404);
    assert.match(unknown.message, /no prediction is kept under id 'never-seen'.*x-request-id/);
    assert.equal(await counterValue(metrics, 'unknown'), 1);
  });

  it('refuses labels of the wrong type or shape, naming what was expected, and takes a good one after', async () => {
    const { predictions, metrics } = store();
    predictions.record(['c'], IRIS, [probabilities([[0.8, 0.1, 0.1]])], 1, CLASSES);
    const cases: [unknown, RegExp][] = [
      ['daisy', /'daisy' is not a class of output 'probabilities'/],
      [3, /3 is not a class index; send a class index 0\.\.2 or a class name/],
      [1.5, /not a class index/],
      [true, /expected a class index 0\.\.2/],
      [[1, 2], /expected .*list of 3 numbers/],
    ];
    for (const [label, message] of cases) {
      const err = refusal(() => predictions.feedback('c', label));
      assert.equal(err.httpStatus, 400, String(label));
      assert.match(err.message, message);
    }
    assert.equal(await counterValue(metrics, 'invalid'), cases.length);
    assert.equal(predictions.feedback('c', 0).correct, 1, 'a refused label leaves the prediction open');
  });

  it('wants one label per row for a batch, and counts each row', () => {
    const { predictions } = store();
    const rows = [
      [0.9, 0.05, 0.05],
      [0.1, 0.8, 0.1],
      [0.2, 0.3, 0.5],
    ];
    predictions.record(['b'], IRIS, [probabilities(rows)], 3, CLASSES);
    const short = refusal(() => predictions.feedback('b', ['setosa', 'versicolor']));
    assert.equal(short.httpStatus, 400);
    assert.match(short.message, /batch of 3 rows, so the label must be a list of 3 labels/);
    const outcome = predictions.feedback('b', ['setosa', 'virginica', 'virginica']);
    assert.deepEqual([outcome.rows, outcome.correct], [3, 2]);
    const summary = predictions.accuracy({ model: 'iris' });
    assert.deepEqual([summary.recorded, summary.labelled, summary.classification.correct], [3, 3, 2]);
  });

  it('takes a class name only where the output has a labels file', () => {
    const { predictions } = store();
    predictions.record(['n'], IRIS, [probabilities([[0.8, 0.1, 0.1]])], 1);
    const err = refusal(() => predictions.feedback('n', 'setosa'));
    assert.match(err.message, /'setosa' is a class name, but output 'probabilities' has no labels file/);
    assert.equal(predictions.feedback('n', 0).correct, 1);
  });

  it('keeps the output its labels map names, and skips rows wider than 1,024 values', () => {
    const { predictions } = store();
    const wide = makeTensor('embedding', 'FP32', [1, 2048], new Float32Array(2048));
    predictions.record(['w'], IRIS, [wide], 1);
    assert.equal(predictions.stats.skipped, 1);
    assert.equal(refusal(() => predictions.feedback('w', 0)).httpStatus, 404);
    predictions.record(['m'], IRIS, [wide, probabilities([[0, 0, 1]])], 1, new Map([['probabilities', CLASSES]]));
    assert.equal(predictions.feedback('m', 'virginica').correct, 1);
  });
});
