// predict() and predict_label() over Parquet and CSV files give the values the real server gives
// for the same rows over REST, scoring a chunk of rows per execution; COPY ... TO writes them.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SqlEngine } from '../../src/sql/sql-engine.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../helpers/test-server.js';

const MLP_ROWS = 300;
const IRIS_ROWS = 48;
const TOLERANCE = 1e-5;

async function restInfer(
  server: TestServer,
  model: string,
  shape: number[],
  data: number[],
): Promise<{ shape: number[]; data: number[] }> {
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape, data }] }),
  });
  const body = (await res.json()) as { outputs: { shape: number[]; data: number[] }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  const out = body.outputs[0];
  assert.ok(out);
  return out;
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => {
    const e = expected[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= TOLERANCE * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  });
}

describe('predict() in SQL', () => {
  let dir = '';
  let duck: DuckDBInstance;
  let db: DuckDBConnection;
  let engine: SqlEngine;
  let server: TestServer;
  let mlpParquet = '';
  let irisCsv = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-sql-'));
    mlpParquet = path.join(dir, 'features.parquet');
    irisCsv = path.join(dir, 'flowers.csv');
    duck = await DuckDBInstance.create(':memory:');
    db = await duck.connect();
    await db.run(
      `COPY (SELECT i AS id, list_transform(range(256), k -> sin(i * 0.37 + k * 0.11)::FLOAT)::FLOAT[256] AS features
             FROM range(${MLP_ROWS}) t(i)) TO '${mlpParquet}' (FORMAT parquet)`,
    );
    await db.run(
      `COPY (SELECT i AS id, 4.3 + (i * 7 % 36) / 10 AS sepal_length, 2.0 + (i * 5 % 24) / 10 AS sepal_width,
                    1.0 + (i * 11 % 59) / 10 AS petal_length, 0.1 + (i * 3 % 25) / 10 AS petal_width
             FROM range(${IRIS_ROWS}) t(i)) TO '${irisCsv}' (HEADER)`,
    );
    [engine, server] = await Promise.all([
      SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 2 }),
      startTestServer({ modelRepository: EXAMPLES_DIR, modelControlMode: 'explicit', loadModels: ['mlp', 'iris'] }),
    ]);
  });

  after(async () => {
    await engine?.close();
    await server?.close();
    db?.closeSync();
    duck?.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('scores a FLOAT[256] Parquet column as the server does, a chunk of rows per few executions', async () => {
    const stats = (): number => engine.repository.resolve('mlp').stats.executionCount;
    const before = engine.repository.isReady('mlp') ? stats() : 0;
    const result = await engine.query(`SELECT id, predict('mlp', features) AS scores FROM '${mlpParquet}' ORDER BY id`);
    assert.deepEqual(
      result.columns.map((c) => `${c.name} ${c.type}`),
      ['id BIGINT', 'scores FLOAT[]'],
    );
    assert.equal(result.rows.length, MLP_ROWS);
    const executions = stats() - before;
    // mlp's config sets no max_batch_size, so the SQL engine gives it DuckDB's chunk (2,048 rows):
    // one execution per chunk, fewer than the server's 64-row slices would take.
    assert.ok(executions >= 1, `${executions} executions`);
    assert.ok(executions < Math.ceil(MLP_ROWS / 64), `${executions} executions for ${MLP_ROWS} rows`);

    const input = (await db.runAndReadAll(`SELECT features FROM '${mlpParquet}' ORDER BY id`)).getRowsJS();
    for (let start = 0; start < MLP_ROWS; start += 64) {
      const rows = input.slice(start, start + 64).map((r) => r[0] as number[]);
      const rest = await restInfer(server, 'mlp', [rows.length, 256], rows.flat());
      const sql = result.rows.slice(start, start + 64).map((r) => r[1] as number[]);
      assertClose(sql.flat(), rest.data, `rows ${start}..`);
    }
  });

  it('concatenates scalar CSV columns into the feature row, and predict_label takes the argmax label', async () => {
    const result = await engine.query(
      `SELECT id, predict('iris', sepal_length, sepal_width, petal_length, petal_width) AS p,
              predict_label('iris', sepal_length, sepal_width, petal_length, petal_width) AS species
       FROM read_csv('${irisCsv}') ORDER BY id`,
    );
    const input = (
      await db.runAndReadAll(
        `SELECT sepal_length, sepal_width, petal_length, petal_width FROM read_csv('${irisCsv}') ORDER BY id`,
      )
    ).getRowsJS() as number[][];
    const rest = await restInfer(server, 'iris', [IRIS_ROWS, 4], input.flat());
    const probabilities = result.rows.map((r) => r[1] as number[]);
    assertClose(probabilities.flat(), rest.data, 'probabilities');
    const labels = ['setosa', 'versicolor', 'virginica'];
    result.rows.forEach((r, i) => {
      const p = rest.data.slice(i * 3, i * 3 + 3);
      assert.equal(r[2], labels[p.indexOf(Math.max(...p))], `row ${i}`);
    });
    assert.ok(new Set(result.rows.map((r) => r[2])).size > 1, 'the data covers more than one class');
  });

  it('labels well-known flowers, from scalars or from one list', async () => {
    const result = await engine.query(
      `SELECT predict_label('iris', 5.1, 3.5, 1.4, 0.2), predict_label('iris', [6.4, 3.2, 4.5, 1.5]),
              predict_label('iris', [6.9, 3.1, 5.4, 2.1]::FLOAT[4])`,
    );
    assert.deepEqual(result.rows, [['setosa', 'versicolor', 'virginica']]);
  });

  it('predict_output names the output', async () => {
    const result = await engine.query(
      `SELECT predict_output('iris', 'probabilities', 5.1, 3.5, 1.4, 0.2) = predict('iris', 5.1, 3.5, 1.4, 0.2) AS same`,
    );
    assert.deepEqual(result.rows, [[true]]);
  });

  it('names unaliased columns after the call as written', async () => {
    const result = await engine.query(`SELECT predict_label('iris', 5.1, 3.5, 1.4, 0.2)`);
    assert.deepEqual(result.columns, [{ name: "predict_label('iris', 5.1, 3.5, 1.4, 0.2)", type: 'VARCHAR' }]);
  });

  it('feeds a model with two inputs one list argument each, and predict_output picks the second output', async () => {
    // simple: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1, INT32 [16]; max_batch_size 8.
    const result = await engine.query(
      `SELECT predict('simple', a, b) AS sum, predict_output('simple', 'OUTPUT1', a, b) AS diff
       FROM (SELECT list_transform(range(16), k -> i * k) AS a, list_transform(range(16), k -> k + 1) AS b
             FROM range(20) t(i)) ORDER BY a[2]`,
    );
    assert.deepEqual(
      result.columns.map((c) => c.type),
      ['INTEGER[]', 'INTEGER[]'],
    );
    result.rows.forEach((row, i) => {
      const a = Array.from({ length: 16 }, (_, k) => i * k);
      const b = Array.from({ length: 16 }, (_, k) => k + 1);
      assert.deepEqual(row, [a.map((x, k) => x + (b[k] ?? 0)), a.map((x, k) => x - (b[k] ?? 0))]);
    });
  });

  it('gives NULL for rows with a NULL argument and scores the others', async () => {
    const result = await engine.query(
      `SELECT predict_label('iris', a, 3.5, 1.4, 0.2) FROM (VALUES (5.1), (NULL), (5.0)) t(a)`,
    );
    assert.deepEqual(result.rows, [['setosa'], [null], ['setosa']]);
  });

  it('COPY ... TO writes the predictions to a Parquet file that reads back equal', async () => {
    const out = path.join(dir, 'scores.parquet');
    await engine.query(
      `COPY (SELECT id, predict('mlp', features) AS scores FROM '${mlpParquet}') TO '${out}' (FORMAT parquet)`,
    );
    const written = (await db.runAndReadAll(`SELECT id, scores FROM '${out}' ORDER BY id`)).getRowsJS();
    const direct = await engine.query(`SELECT id, predict('mlp', features) FROM '${mlpParquet}' ORDER BY id`);
    assert.equal(written.length, MLP_ROWS);
    written.forEach((row, i) => assertClose(row[1] as number[], direct.rows[i]?.[1] as number[], `row ${i}`));
  });
});
