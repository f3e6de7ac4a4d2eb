// `inferd sql` runs SQL with predict() from an argument, a file or stdin against the bundled
// example models (or --model-repository), prints CSV / JSON lines / a table, writes files with
// COPY, and fails with a clear message and exit code 1.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { BIN, ROOT, runCli } from './run-cli.js';

const IRIS_LABEL = "predict_label('iris', sepal_length, sepal_width, petal_length, petal_width)";

describe('inferd sql', { concurrency: true }, () => {
  let dir = '';
  let duck: DuckDBInstance;
  let db: DuckDBConnection;
  let flowers = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-sql-cli-'));
    flowers = path.join(dir, 'flowers.csv');
    await writeFile(
      flowers,
      'id,sepal_length,sepal_width,petal_length,petal_width\n1,5.1,3.5,1.4,0.2\n2,6.4,3.2,4.5,1.5\n3,6.9,3.1,5.4,2.1\n',
    );
    duck = await DuckDBInstance.create(':memory:');
    db = await duck.connect();
  });

  after(async () => {
    db?.closeSync();
    duck?.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints CSV when stdout is not a terminal, from the bundled example models', async () => {
    const r = await runCli(['sql', `SELECT id, ${IRIS_LABEL} AS species FROM '${flowers}' ORDER BY id`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'id,species\n1,setosa\n2,versicolor\n3,virginica\n');
  });

  it('prints JSON lines, with FLOAT lists as the shortest float32 text', async () => {
    const r = await runCli([
      'sql',
      '--format',
      'jsonl',
      "SELECT predict('iris', 5.1, 3.5, 1.4, 0.2) AS p, 42::BIGINT AS n",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout) as { p: number[]; n: number };
    assert.equal(row.n, 42);
    assert.equal(row.p.length, 3);
    assert.ok((row.p[0] ?? 0) > 0.9, r.stdout);
    // A float32 needs at most 9 significant digits; the widened double would print 16 or 17.
    for (const v of row.p) assert.ok(String(v).replace(/^0\.0*|e.*$|\./g, '').length <= 9, r.stdout);
  });

  it('reads the SQL from --file and from stdin, and prints a table on request', async () => {
    const file = path.join(dir, 'q.sql');
    await writeFile(
      file,
      `-- label the flowers\nSELECT count(*) AS n, min(${IRIS_LABEL}) AS first FROM '${flowers}';\n`,
    );
    const fromFile = await runCli(['sql', '--file', file, '--format', 'table']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stdout, /│ n +│ first +│/);
    assert.match(fromFile.stdout, /│ +3 │ setosa +│/);
    assert.match(fromFile.stdout, /1 row\n$/);
    const fromStdin = await runCli(['sql', '--format', 'json'], {
      input: `SELECT ${IRIS_LABEL} AS s FROM '${flowers}' ORDER BY id`,
    });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.deepEqual(JSON.parse(fromStdin.stdout), [{ s: 'setosa' }, { s: 'versicolor' }, { s: 'virginica' }]);
  });

  it('COPY ... TO writes a Parquet file of predictions', async () => {
    const input = path.join(dir, 'in.parquet');
    const out = path.join(dir, 'out.parquet');
    await db.run(
      `COPY (SELECT i AS id, list_transform(range(256), k -> cos(i + k * 0.01)::FLOAT)::FLOAT[256] AS features
             FROM range(500) t(i)) TO '${input}' (FORMAT parquet)`,
    );
    const r = await runCli(['sql', `COPY (SELECT id, predict('mlp', features) AS scores FROM '${input}') TO '${out}'`]);
    assert.equal(r.code, 0, r.stderr);
    const rows = (await db.runAndReadAll(`SELECT count(*), min(len(scores)), count(scores) FROM '${out}'`)).getRowsJS();
    assert.deepEqual(rows, [[500n, 10n, 500n]]);
  });

  it('fails with the reason and exit code 1', async () => {
    const unknown = await runCli(['sql', "SELECT predict('no_such_model', 1)"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^inferd: predict\('no_such_model'\): no model folder 'no_such_model'/);
    const syntax = await runCli(['sql', 'SELEC 1']);
    assert.equal(syntax.code, 1);
    assert.match(syntax.stderr, /syntax error at or near "SELEC"/);
    const format = await runCli(['sql', '--format', 'xml', 'SELECT 1']);
    assert.equal(format.code, 1);
    assert.match(format.stderr, /--format <format>' argument 'xml' is invalid/);
    const repo = await runCli(['sql', '-m', path.join(dir, 'missing'), 'SELECT 1']);
    assert.equal(repo.code, 1);
    assert.match(repo.stderr, /missing/);
  });

  it('stops quietly when the reader closes the pipe early (| head)', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'sql', "SELECT i, predict('iris', i, i, i, i) FROM range(2000000) t(i)"],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // The first rows arrive, then the reader goes away.
    child.stdout.once('data', () => child.stdout.destroy());
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('documents the functions and gives examples in --help', async () => {
    const r = await runCli(['sql', '--help']);
    assert.equal(r.code, 0);
    for (const text of [
      'Usage: inferd sql',
      '--file <path>',
      '--model-repository <path>',
      '--format <format>',
      'predict_label(model, args...)',
      'Examples:',
    ])
      assert.ok(r.stdout.includes(text), `help lacks ${text}`);
    // The default repository is named once, not also as this checkout's absolute path.
    assert.match(
      r.stdout.replace(/\s+/g, ' '),
      /--model-repository <path> model repository; models load on first use \(default: the bundled examples\/models\) --format/,
    );
    assert.ok(!r.stdout.includes(path.join(ROOT, 'examples', 'models')), 'no absolute path of this checkout');
  });
});
