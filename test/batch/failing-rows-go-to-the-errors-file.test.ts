// Rows that cannot be read or run go to <output>.errors.jsonl with their row number, id and
// reason while the job goes on; past --max-errors the job stops with a clear error; a batch whose
// execution fails is retried in halves until the failing rows are alone.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TooManyErrors } from '../../src/batch/batch-job.js';
import { errorsPath } from '../../src/batch/output-files.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';
import {
  EXAMPLES,
  gatherModel,
  loadModel,
  query,
  readTable,
  removeScratch,
  runJob,
  scratch,
  writeJsonLines,
  type LoadedModel,
} from './batch-fixture.js';

async function errorLines(output: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(errorsPath(output), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('failing rows', () => {
  let dir = '';
  let repo = '';
  let iris: LoadedModel;
  let lookup: LoadedModel;

  before(async () => {
    dir = await scratch();
    repo = await makeRepository(gatherModel());
    iris = await loadModel(EXAMPLES, 'iris');
    lookup = await loadModel(repo, 'lookup');
  });
  after(async () => {
    await iris.close();
    await lookup.close();
    await removeRepository(repo);
    await removeScratch(dir);
  });

  it('records bad values, wrong lengths, missing columns and invalid lines with row, id and reason', async () => {
    const input = path.join(dir, 'mixed.jsonl');
    await writeJsonLines(input, [
      { id: 'ok1', input: [5.1, 3.5, 1.4, 0.2] },
      { id: 'short', input: [5.1, 3.5] },
      { id: 'text', input: [5.1, 'x', 1.4, 0.2] },
      { id: 'absent' },
      'this is not json',
      { id: 'ok2', input: [6.7, 3.0, 5.2, 2.3] },
    ]);
    const out = path.join(dir, 'mixed.jsonl.out.jsonl');
    const summary = await runJob(iris, input, out, { mapping: { id: 'id' } });
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.errors, 4);
    const rows = await readTable(out);
    assert.deepEqual(
      rows.map((r) => [Number(r.row), r.id]),
      [
        [0, 'ok1'],
        [5, 'ok2'],
      ],
    );
    const errors = await errorLines(out);
    assert.deepEqual(
      errors.map((e) => [e.row, e.id]),
      [
        [1, 'short'],
        [2, 'text'],
        [3, 'absent'],
        [4, null],
      ],
    );
    assert.match(String(errors[0]?.error), /column 'input' has 2 values; input 'input' takes 4/);
    assert.match(String(errors[1]?.error), /column 'input': a value is null or not a valid FP32/);
    assert.match(String(errors[2]?.error), /column 'input' is missing/);
    assert.match(String(errors[3]?.error), /not a JSON object: this is not json/);
  });

  it('checks Parquet FLOAT[] and FLOAT[4] columns (read without a cast) for nulls and lengths', async () => {
    for (const type of ['FLOAT[]', 'FLOAT[4]']) {
      const input = path.join(dir, `typed-${type.length}.parquet`);
      const rows =
        type === 'FLOAT[]'
          ? `(0, [5.1, 3.5, 1.4, 0.2]), (1, [5.1, NULL, 1.4, 0.2]), (2, NULL), (3, [5.1, 3.5]), (4, [6.7, 3.0, 5.2, 2.3])`
          : `(0, [5.1, 3.5, 1.4, 0.2]), (1, [5.1, NULL, 1.4, 0.2]), (2, NULL), (4, [6.7, 3.0, 5.2, 2.3])`;
      await query(
        `COPY (SELECT k::BIGINT AS k, v::${type} AS input FROM (VALUES ${rows}) t(k, v)) TO '${input}' (FORMAT parquet)`,
      );
      const out = path.join(dir, `typed-${type.length}.out.parquet`);
      await runJob(iris, input, out, { mapping: { id: 'k' } });
      assert.deepEqual(
        (await readTable(out)).map((r) => Number(r.k)),
        [0, 4],
      );
      const errors = await errorLines(out);
      assert.deepEqual(
        errors.map((e) => e.k),
        type === 'FLOAT[]' ? [1, 2, 3] : [1, 2],
      );
      assert.match(String(errors[0]?.error), /column 'input': a value is null \(input 'input' takes 4 FP32 values\)/);
      assert.match(String(errors[1]?.error), /column 'input' is missing or null/);
      if (type === 'FLOAT[]')
        assert.match(String(errors[2]?.error), /column 'input' has 2 values; input 'input' takes 4/);
    }
  });

  it('reports a non-numeric CSV value in a scalar column by column name and value', async () => {
    const input = path.join(dir, 'bad.csv');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(input, 'a,b,c,d\n5.1,3.5,1.4,0.2\n5.9,abc,4.2,1.5\n');
    const out = path.join(dir, 'bad.csv.out.jsonl');
    await runJob(iris, input, out, { mapping: { inputs: { input: ['a', 'b', 'c', 'd'] } } });
    const errors = await errorLines(out);
    assert.deepEqual(errors, [{ row: 1, error: "column 'b': abc is not a valid FP32" }]);
  });

  it('stops past --max-errors with a message naming the count and the errors file', async () => {
    const input = path.join(dir, 'many-bad.jsonl');
    await writeJsonLines(
      input,
      Array.from({ length: 20 }, (_, i) => ({ input: i % 2 === 0 ? [1, 2, 3, 4] : [1] })),
    );
    const out = path.join(dir, 'many-bad.jsonl.out.jsonl');
    await assert.rejects(
      runJob(iris, input, out, { maxErrors: 3, batchSize: 2 }),
      (err: unknown) =>
        err instanceof TooManyErrors &&
        /stopped: \d+ rows failed, more than --max-errors 3; the reasons are in .*many-bad\.jsonl\.out\.jsonl\.errors\.jsonl/.test(
          err.message,
        ),
    );
    const errors = await errorLines(out);
    assert.ok(errors.length >= 4, `the errors so far are in the errors file (got ${errors.length})`);
    assert.ok(errors.every((e) => Number(e.row) % 2 === 1));
  });

  it('isolates the rows that make a batch fail at execution and keeps the rest of the batch', async () => {
    const input = path.join(dir, 'lookup.jsonl');
    const indices = [0, 1, 7, 2, 3, 9, 1, 0, 2, 3];
    await writeJsonLines(
      input,
      indices.map((i) => ({ index: [i] })),
    );
    const out = path.join(dir, 'lookup.out.jsonl');
    const summary = await runJob(lookup, input, out, { batchSize: 8 });
    assert.equal(summary.errors, 2);
    const rows = await readTable(out);
    assert.deepEqual(
      rows.map((r) => [Number(r.row), Number((r.value as unknown[])[0])]),
      indices.flatMap((i, row) => (i < 4 ? [[row, (i + 1) * 10]] : [])),
    );
    const errors = await errorLines(out);
    assert.deepEqual(
      errors.map((e) => e.row),
      [2, 5],
    );
    assert.match(String(errors[0]?.error), /^execution failed: /);
  });
});
