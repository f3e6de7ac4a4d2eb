// Output rows travel through the job's Parquet parts as typed columns: FP32, FP16 (widened to
// FLOAT), BOOL and INT64 outputs, a 2-D output (nested list), NaN and infinities, and ids of
// several SQL types with nulls all come out of every output format with the model's values.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExampleFile } from '../../tools/examples/example-models.js';
import { makeRepository } from '../helpers/repository-files.js';
import { GraphBuilder } from '../../tools/onnx/onnx-builder.js';
import {
  loadModel,
  query,
  readTable,
  removeScratch,
  runJob,
  scratch,
  writeJsonLines,
  type LoadedModel,
} from './batch-fixture.js';

function typesModel(): ExampleFile[] {
  const onnx = new GraphBuilder('types')
    .input('x', 'FP32', [-1, 4])
    .initializer('zero', 'FP32', [], Float32Array.from([0]))
    .initializer('grid_shape', 'INT64', [3], BigInt64Array.from([-1n, 2n, 2n]))
    .node('Identity', ['x'], ['same'])
    .node('Cast', ['x'], ['half'], { to: 10 })
    .node('Greater', ['x', 'zero'], ['positive'])
    .node('Cast', ['x'], ['whole'], { to: 7 })
    .node('Reshape', ['x', 'grid_shape'], ['grid'])
    .output('same', 'FP32', [-1, 4])
    .output('half', 'FP16', [-1, 4])
    .output('positive', 'BOOL', [-1, 4])
    .output('whole', 'INT64', [-1, 4])
    .output('grid', 'FP32', [-1, 2, 2])
    .toBytes({ opset: 17, irVersion: 8 });
  return [
    { path: 'types/1/model.onnx', bytes: onnx },
    {
      path: 'types/config.yaml',
      bytes: `max_batch_size: 8
input:
  - { name: x, data_type: TYPE_FP32, dims: [4] }
output:
  - { name: same, data_type: TYPE_FP32, dims: [4] }
  - { name: half, data_type: TYPE_FP16, dims: [4] }
  - { name: positive, data_type: TYPE_BOOL, dims: [4] }
  - { name: whole, data_type: TYPE_INT64, dims: [4] }
  - { name: grid, data_type: TYPE_FP32, dims: [2, 2] }
`,
    },
  ];
}

const X = [
  [1.5, -2, 0.1, 3],
  [-0.5, 0, 7.25, -8],
  [2, 4, 6, 8],
];

describe('output column types', () => {
  let dir: string;
  let model: LoadedModel;
  before(async () => {
    dir = await scratch();
    model = await loadModel(await makeRepository(typesModel()), 'types');
  });
  after(async () => {
    await model.close();
    await removeScratch(dir);
  });

  it('FP32, FP16, BOOL, INT64 and 2-D outputs keep their values in every format', async () => {
    const input = path.join(dir, 'x.jsonl');
    await writeJsonLines(
      input,
      X.map((x, i) => ({ key: i === 1 ? null : 100 + i, x })),
    );
    for (const ext of ['parquet', 'jsonl', 'csv']) {
      const out = path.join(dir, `types.${ext}`);
      await runJob(model, input, out, { mapping: { id: 'key' }, batchSize: 2 });
      const rows = await readTable(out);
      assert.equal(rows.length, X.length, ext);
      for (const [i, r] of rows.entries()) {
        const x = X[i] ?? [];
        const list = (v: unknown): unknown[] =>
          typeof v === 'string' ? (JSON.parse(v) as unknown[]) : (v as unknown[]);
        assert.equal(Number(r.row), i, ext);
        assert.equal(r.key === null ? null : Number(r.key), i === 1 ? null : 100 + i, ext);
        assert.deepEqual(list(r.same).map(Number).map(Math.fround), x.map(Math.fround), ext);
        assert.deepEqual(
          list(r.half).map(Number).map(Math.fround),
          x.map((v) => (v === 0.1 ? 0.0999755859375 : v)),
          ext,
        );
        assert.deepEqual(
          list(r.positive).map((v) => v === true || v === 'true'),
          x.map((v) => v > 0),
          ext,
        );
        assert.deepEqual(
          list(r.whole).map(Number),
          x.map((v) => Math.trunc(v) || 0),
          ext,
        );
        assert.deepEqual(
          list(r.grid).map((row) => list(row).map(Number).map(Math.fround)),
          [x.slice(0, 2).map(Math.fround), x.slice(2).map(Math.fround)],
          ext,
        );
      }
    }
    const types = await query(`DESCRIBE SELECT * FROM read_parquet('${path.join(dir, 'types.parquet')}')`);
    assert.deepEqual(
      types.map((t) => t.column_type),
      ['BIGINT', 'BIGINT', 'FLOAT[]', 'FLOAT[]', 'BOOLEAN[]', 'BIGINT[]', 'FLOAT[][]'],
    );
  });

  it('writes NaN and infinities as valid JSON lines, and text and date ids as they were', async () => {
    const input = path.join(dir, 'special.jsonl');
    await writeJsonLines(input, [
      { name: 'a', day: '2024-02-29', x: ['NaN', 'Infinity', '-Infinity', 1] },
      { name: null, day: null, x: [1, 2, 3, 4] },
    ]);
    for (const id of ['name', 'day']) {
      const out = path.join(dir, `special-${id}.jsonl`);
      await runJob(model, input, out, { mapping: { id, outputs: ['same'] } });
      const lines = (await readFile(out, 'utf8')).trim().split('\n');
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(parsed[0]?.same, ['NaN', 'Infinity', '-Infinity', 1]);
      assert.equal(parsed[0]?.[id], id === 'name' ? 'a' : '2024-02-29');
      assert.equal(parsed[1]?.[id], null);
      // DuckDB reads the strings back as the float values.
      const rows = await query(`SELECT same FROM read_json('${out}', columns={'same': 'FLOAT[]'})`);
      assert.deepEqual(rows[0]?.same, [NaN, Infinity, -Infinity, 1]);
    }
  });
});
