// The JSON-lines fast path (JSON.parse in JavaScript) gives exactly what the general DuckDB reader
// gives for the same file: row count, batches, row numbers, ids, input values and row errors, over
// the whole file and over resumed or sharded ranges.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { InputPlan, MappingPlan } from '../../src/batch/column-mapping.js';
import { resolveInput } from '../../src/batch/input-files.js';
import { countJsonlRows, jsonlFastPlan, readJsonlBatches } from '../../src/batch/jsonl-rows.js';
import { readBatches, type ReadOptions, type RowBatch } from '../../src/batch/row-reader.js';
import { countRows, openTableSource, type TableSource } from '../../src/batch/table-source.js';
import { removeScratch, scratch } from './batch-fixture.js';

const LINES = [
  '{"id": 1, "f": [1.5, -2, 3e-3], "n": [1, 2], "a": 0.25, "b": 7}',
  '{"id": 2, "f": [0.1, 0.2, 0.3], "n": [-2147483648, 2147483647], "a": 1, "b": 2}',
  '',
  '   ',
  '{"id": 3, "f": [1, 2], "n": [1, 2], "a": 1, "b": 2}',
  '{"id": 4, "f": [1, "2", 3], "n": [1, 2], "a": 1, "b": 2}',
  '{"id": 5, "f": [1, null, 3], "n": [1, 2], "a": 1, "b": 2}',
  '{"id": 6, "f": [1e39, 0, 0], "n": [1, 2], "a": 1, "b": 2}',
  '{"id": 7, "f": [1, 2, 3], "n": [1.5, 2], "a": 1, "b": 2}',
  '{"id": 8, "f": [1, 2, 3], "n": [2147483648, 2], "a": 1, "b": 2}',
  'this is not json',
  '{"f": [4, 5, 6], "n": [3, 4], "a": 1, "b": 2}',
  '{"id": null, "f": [4, 5, 6], "n": [3, 4], "a": 1, "b": 2}',
  '{"id": 13, "f": [4, 5, 6], "n": [3, 4], "b": 2}',
  '{"id": 14, "f": [4, 5, 6], "n": [3, 4], "a": "x", "b": 2}',
  '{"id": 15, "f": [4, 5, 6], "n": [3, 4], "a": true, "b": 2}',
  '{"id": 16, "f": [7, 8, 9], "n": [5, 6], "a": 3, "b": 4}',
  '{"id": 17, "f": [7, 8, 9], "n": [5, 6], "a": 3, "b": 4}',
];

function input(name: string, datatype: InputPlan['datatype'], columns: string[], width: number): InputPlan {
  const list = columns.length === 1;
  return { input: name, datatype, dims: [width], width, kind: list ? 'list' : 'scalars', columns, listDepth: 1 };
}

const PLAN: MappingPlan = {
  inputs: [
    input('f', 'FP32', ['f'], 3),
    input('n', 'INT32', ['n'], 2),
    input('h', 'FP16', ['f'], 3),
    input('s', 'FP64', ['a', 'b'], 2),
  ],
  idColumn: 'id',
  outputs: [],
};

/** A batch as plain data, comparable with deepEqual. */
function plain(b: RowBatch): unknown {
  return {
    firstRow: b.firstRow,
    endRow: b.endRow,
    rows: b.rows,
    ids: b.ids?.map((id) => (typeof id === 'bigint' ? Number(id) : id)),
    inputs: b.inputs.map((t) => ({ name: t.name, shape: t.shape, data: Array.from(t.data as ArrayLike<number>) })),
    errors: b.errors.map((e) => ({ ...e, id: typeof e.id === 'bigint' ? Number(e.id) : e.id })),
  };
}

async function collect(batches: AsyncGenerator<RowBatch>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of batches) out.push(plain(b));
  return out;
}

describe('the JSON-lines fast path', () => {
  let dir = '';
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  let source: TableSource;

  before(async () => {
    dir = await scratch();
    const file = path.join(dir, 'rows.jsonl');
    await writeFile(file, `${LINES.join('\n')}\n`);
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
    source = await openTableSource(conn, await resolveInput(file));
  });
  after(async () => {
    conn.closeSync();
    instance.closeSync();
    await removeScratch(dir);
  });

  it('takes numeric inputs and a plain id', () => {
    // The id is read as a number: the fast path, not DuckDB, reads the plain rows.
    assert.equal(source.columns.find((c) => c.name === 'id')?.type, 'BIGINT');
    assert.notEqual(jsonlFastPlan(source, PLAN), undefined);
    const bytes = { ...PLAN, inputs: [input('t', 'BYTES', ['f'], 3)] };
    assert.equal(jsonlFastPlan(source, bytes), undefined, 'BYTES inputs are read by DuckDB');
  });

  it('counts the rows DuckDB counts (blank lines skipped)', async () => {
    const n = await countJsonlRows(source.input);
    assert.equal(n, LINES.length - 2);
    assert.equal(n, await countRows(conn, source));
  });

  for (const [what, options] of [
    ['the whole file in batches of 3', { start: 0, end: 1000, batchSize: 3, batched: true }],
    ['a resumed range', { start: 5, end: 1000, batchSize: 4, batched: true }],
    ['a shard in the middle', { start: 2, end: 11, batchSize: 2, batched: true }],
    ['rows one at a time without a batch dimension', { start: 0, end: 1000, batchSize: 1, batched: false }],
  ] as const) {
    it(`gives the general reader's batches, values and errors for ${what}`, async () => {
      const fast = jsonlFastPlan(source, PLAN);
      assert.ok(fast !== undefined);
      const read: ReadOptions = options;
      const expected = await collect(readBatches(conn, source, PLAN, read));
      const actual = await collect(readJsonlBatches(conn, source, PLAN, fast, read));
      assert.deepEqual(actual, expected);
    });
  }

  it('reports the bad rows with their numbers, ids and DuckDB reasons', async () => {
    const fast = jsonlFastPlan(source, PLAN);
    assert.ok(fast !== undefined);
    const batches = await collect(
      readJsonlBatches(conn, source, PLAN, fast, { start: 0, end: 1000, batchSize: 100, batched: true }),
    );
    const errors = (batches as { errors: { row: number; id?: unknown; error: string }[] }[]).flatMap((b) => b.errors);
    assert.deepEqual(
      errors.map((e) => [e.row, e.id]),
      [
        [2, 3],
        [4, 5],
        [5, 6],
        [7, 8],
        [8, null],
        [11, 13],
        [12, 14],
      ],
    );
    assert.match(errors[0]?.error ?? '', /column 'f' has 2 values; input 'f' takes 3/);
    assert.match(errors[4]?.error ?? '', /line is not a JSON object: this is not json/);
    assert.match(errors[6]?.error ?? '', /column 'a'/);
  });
});
