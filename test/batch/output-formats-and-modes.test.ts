// Outputs in JSON lines, CSV and Parquet read back with DuckDB hold the same values with the
// model's types; raw, argmax, label and topk:N give what the probabilities say; the id column is
// kept in every row.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EXAMPLES,
  FLOWERS,
  loadModel,
  MEASUREMENTS,
  query,
  readTable,
  removeScratch,
  runJob,
  scratch,
  writeFlowers,
  type LoadedModel,
} from './batch-fixture.js';

const LABELS = ['setosa', 'versicolor', 'virginica'];

describe('batch run output formats and modes', () => {
  let dir = '';
  let iris: LoadedModel;
  let input = '';
  const mapping = {
    id: 'id',
    inputs: { input: [...MEASUREMENTS] },
    outputs: ['probabilities', 'probabilities:argmax', 'probabilities:label', 'probabilities:topk:2'],
  };

  before(async () => {
    dir = await scratch();
    iris = await loadModel(EXAMPLES, 'iris');
    input = (await writeFlowers(dir)).parquet;
  });
  after(async () => {
    await iris.close();
    await removeScratch(dir);
  });

  it('raw, argmax, label and topk agree with each other and with the labels file', async () => {
    const out = path.join(dir, 'modes.jsonl');
    await runJob(iris, input, out, { mapping });
    const rows = await readTable(out);
    assert.equal(rows.length, FLOWERS.length);
    for (const [i, r] of rows.entries()) {
      const probs = r.probabilities as number[];
      assert.equal(probs.length, 3);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'softmax sums to 1');
      const best = probs.indexOf(Math.max(...probs));
      assert.equal(Number(r.probabilities_argmax), best);
      assert.equal(r.probabilities_label, LABELS[best]);
      assert.equal(r.probabilities_label, FLOWERS[i]?.species);
      assert.equal(r.id, FLOWERS[i]?.id);
      const top = r.probabilities_top2 as { index: number; score: number; label: string }[];
      assert.equal(top.length, 2);
      assert.equal(Number(top[0]?.index), best);
      assert.equal(top[0]?.label, LABELS[best]);
      assert.ok((top[0]?.score ?? 0) >= (top[1]?.score ?? 1));
      assert.ok(Math.abs((top[0]?.score ?? 0) - (probs[best] ?? 0)) < 1e-6);
    }
  });

  it('writes JSON lines, CSV and Parquet with the same values and typed columns', async () => {
    const tables: Record<string, Record<string, unknown>[]> = {};
    for (const ext of ['jsonl', 'csv', 'parquet']) {
      const out = path.join(dir, `same.${ext}`);
      const summary = await runJob(iris, input, out, { mapping });
      assert.equal(summary.outputFormat, ext);
      tables[ext] = await readTable(out);
    }
    const parquetTypes = await query(`DESCRIBE SELECT * FROM read_parquet('${path.join(dir, 'same.parquet')}')`);
    assert.deepEqual(
      parquetTypes.map((t) => [t.column_name, t.column_type]),
      [
        ['row', 'BIGINT'],
        ['id', 'VARCHAR'],
        ['probabilities', 'FLOAT[]'],
        ['probabilities_argmax', 'BIGINT'],
        ['probabilities_label', 'VARCHAR'],
        ['probabilities_top2', 'STRUCT("index" BIGINT, score DOUBLE, "label" VARCHAR)[]'],
      ],
    );
    const parquet = tables.parquet ?? [];
    const jsonl = tables.jsonl ?? [];
    const csv = tables.csv ?? [];
    for (let i = 0; i < FLOWERS.length; i++) {
      const p = parquet[i] ?? {};
      // Parquet keeps FP32 exactly; JSON lines hold the same float32 value printed as a double.
      assert.deepEqual(
        (jsonl[i]?.probabilities as number[]).map((v) => Math.fround(v)),
        p.probabilities,
      );
      assert.equal(csv[i]?.id, p.id);
      assert.equal(csv[i]?.probabilities_label, p.probabilities_label);
      // CSV holds lists as text; the values parse back to the same floats.
      const csvProbs = JSON.parse(String(csv[i]?.probabilities)) as number[];
      assert.deepEqual(
        csvProbs.map((v) => Math.fround(v)),
        p.probabilities,
      );
    }
  });

  it('keeps only the row number when there is no id column', async () => {
    const out = path.join(dir, 'no-id.parquet');
    await runJob(iris, input, out, { mapping: { inputs: mapping.inputs, outputs: ['probabilities:argmax'] } });
    const rows = await readTable(out);
    assert.deepEqual(Object.keys(rows[0] ?? {}), ['row', 'probabilities_argmax']);
    assert.deepEqual(
      rows.map((r) => Number(r.row)),
      [0, 1, 2, 3, 4],
    );
  });
});
