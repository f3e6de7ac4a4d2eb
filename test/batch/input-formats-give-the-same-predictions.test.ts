// The same rows as JSON lines, CSV, Parquet, and a folder of files give the same predictions.

import assert from 'node:assert/strict';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EXAMPLES,
  FLOWERS,
  flowerRows,
  loadModel,
  MEASUREMENTS,
  readTable,
  removeScratch,
  runJob,
  scratch,
  writeFlowers,
  writeJsonLines,
  type LoadedModel,
} from './batch-fixture.js';

describe('batch run reads every input format', () => {
  let dir = '';
  let iris: LoadedModel;
  let files: { jsonl: string; csv: string; parquet: string };
  const mapping = { id: 'id', inputs: { input: [...MEASUREMENTS] }, outputs: ['probabilities:label'] };

  before(async () => {
    dir = await scratch();
    iris = await loadModel(EXAMPLES, 'iris');
    files = await writeFlowers(dir);
  });
  after(async () => {
    await iris.close();
    await removeScratch(dir);
  });

  for (const format of ['jsonl', 'csv', 'parquet'] as const) {
    it(`labels every flower from ${format}`, async () => {
      const out = path.join(dir, `from-${format}.jsonl`);
      const summary = await runJob(iris, files[format], out, { mapping });
      assert.equal(summary.succeeded, FLOWERS.length);
      assert.equal(summary.errors, 0);
      const rows = await readTable(out);
      assert.deepEqual(
        rows.map((r) => [Number(r.row), r.id, r.probabilities_label]),
        FLOWERS.map((f, i) => [i, f.id, f.species]),
      );
    });
  }

  it('reads a folder of files in sorted name order, numbering rows across files', async () => {
    const folder = path.join(dir, 'parts');
    await mkdir(folder);
    const rows = flowerRows();
    // Written out of order: b before a; the reader sorts names.
    await writeJsonLines(path.join(folder, 'b.jsonl'), rows.slice(2));
    await writeJsonLines(path.join(folder, 'a.jsonl.tmp'), rows.slice(0, 2));
    await rename(path.join(folder, 'a.jsonl.tmp'), path.join(folder, 'a.jsonl'));
    const out = path.join(dir, 'from-folder.jsonl');
    const summary = await runJob(iris, folder, out, { mapping });
    assert.equal(summary.input.length, 2);
    assert.match(summary.input[0] ?? '', /a\.jsonl$/);
    const got = await readTable(out);
    assert.deepEqual(
      got.map((r) => r.id),
      FLOWERS.map((f) => f.id),
    );
  });

  it('feeds a list column named like the input to it without a mapping', async () => {
    const input = path.join(dir, 'lists.jsonl');
    await writeJsonLines(
      input,
      FLOWERS.map((f) => ({ input: f.m })),
    );
    const out = path.join(dir, 'from-lists.jsonl');
    await runJob(iris, input, out, { mapping: { outputs: ['probabilities:label'] } });
    const rows = await readTable(out);
    assert.deepEqual(
      rows.map((r) => r.probabilities_label),
      FLOWERS.map((f) => f.species),
    );
  });
});
