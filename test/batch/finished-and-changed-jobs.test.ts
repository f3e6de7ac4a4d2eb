// A finished job run again does nothing and says so; resuming with other arguments is refused
// naming what changed; --overwrite starts over; an interrupted job resumes at its checkpoint and
// the output holds every row exactly once.

import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workDir } from '../../src/batch/output-files.js';
import {
  EXAMPLES,
  loadModel,
  readTable,
  removeScratch,
  runJob,
  scratch,
  writeJsonLines,
  type LoadedModel,
} from './batch-fixture.js';

describe('finished, changed and interrupted jobs', () => {
  let dir = '';
  let iris: LoadedModel;
  let input = '';
  const rows = Array.from({ length: 40 }, (_, i) => ({
    id: `r${i}`,
    input: [5 + (i % 3), 3, 1 + (i % 5), 0.2 * (i % 4)],
  }));

  before(async () => {
    dir = await scratch();
    iris = await loadModel(EXAMPLES, 'iris');
    input = path.join(dir, 'in.jsonl');
    await writeJsonLines(input, rows);
  });
  after(async () => {
    await iris.close();
    await removeScratch(dir);
  });

  it('says a finished job is complete and leaves its output alone', async () => {
    const out = path.join(dir, 'done.parquet');
    const first = await runJob(iris, input, out, { mapping: { id: 'id' } });
    assert.equal(first.status, 'complete');
    const before = await stat(out);
    const again = await runJob(iris, input, out, { mapping: { id: 'id' } });
    assert.equal(again.status, 'already-complete');
    assert.equal(again.succeeded, rows.length);
    assert.equal((await stat(out)).mtimeMs, before.mtimeMs);
    // A finished job whose output was removed is not reported complete.
    await rm(out);
    await assert.rejects(
      runJob(iris, input, out, { mapping: { id: 'id' } }),
      /done\.parquet is missing, but its job finished .*add --overwrite/,
    );
    const over = await runJob(iris, input, out, { mapping: { id: 'id' }, overwrite: true });
    assert.equal(over.status, 'complete');
    assert.equal((await readTable(out)).length, rows.length);
  });

  it('refuses to resume with another mapping or model, naming what changed', async () => {
    const out = path.join(dir, 'changed.jsonl');
    await runJob(iris, input, out, { mapping: { id: 'id' } });
    await assert.rejects(
      runJob(iris, input, out, { mapping: { id: 'id', outputs: ['probabilities:label'] } }),
      /belongs to a job with other arguments; changed: column mapping or kept outputs .*--overwrite/,
    );
    const other = path.join(dir, 'other.jsonl');
    await writeJsonLines(other, rows.slice(1));
    await assert.rejects(
      runJob(iris, other, out, { mapping: { id: 'id' } }),
      /changed: input files \(names, sizes or modification times\).*; input row count \(was 40, now 39\)/,
    );
  });

  it('resumes an interrupted job at its checkpoint with every row exactly once', async () => {
    const out = path.join(dir, 'resumed.jsonl');
    const clean = path.join(dir, 'clean.jsonl');
    await runJob(iris, input, clean, { mapping: { id: 'id' } });
    // A job stopped by --max-errors is an interrupted job: its checkpoint is kept.
    const bad = path.join(dir, 'bad-tail.jsonl');
    await writeJsonLines(bad, [...rows.slice(0, 30), ...rows.slice(30).map((r) => ({ id: r.id, input: [1] }))]);
    await assert.rejects(
      runJob(iris, bad, out, { mapping: { id: 'id' }, maxErrors: 0, batchSize: 4, checkpointRows: 4 }),
    );
    const checkpoint = JSON.parse(await readFile(path.join(workDir(out), 'checkpoint.json'), 'utf8')) as {
      nextRow: number;
      complete: boolean;
    };
    assert.equal(checkpoint.complete, false);
    assert.ok(checkpoint.nextRow >= 30, `checkpoint at ${checkpoint.nextRow}`);
    const resumed = await runJob(iris, bad, out, {
      mapping: { id: 'id' },
      maxErrors: 100,
      batchSize: 4,
      checkpointRows: 4,
    });
    assert.equal(resumed.resumedAtRow, checkpoint.nextRow);
    assert.equal(resumed.succeeded, 30);
    assert.equal(resumed.errors, 10);
    const got = await readTable(out);
    const want = (await readTable(clean)).slice(0, 30);
    assert.deepEqual(got, want);
  });
});
