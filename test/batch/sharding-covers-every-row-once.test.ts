// Sharding by row number puts every row in exactly one shard; sharded runs merged give the same
// output as one run; merge refuses missing and duplicated shards.

import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mergeShards, listParts } from '../../src/batch/merge-shards.js';
import { errorsPath, summaryPath } from '../../src/batch/output-files.js';
import { resolveShard, shardOutputPath, shardRange } from '../../src/batch/sharding.js';
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

describe('shard ranges', () => {
  it('cover 0..total exactly once for any total and count', () => {
    for (const total of [0, 1, 2, 7, 100, 1001]) {
      for (const count of [1, 2, 3, 8, 13]) {
        const seen = new Array<number>(total).fill(0);
        for (let index = 0; index < count; index++) {
          const { start, end } = shardRange({ index, count }, total);
          for (let r = start; r < end; r++) seen[r] = (seen[r] ?? 0) + 1;
        }
        assert.ok(
          seen.every((n) => n === 1),
          `total ${total}, count ${count}`,
        );
      }
    }
  });

  it('default the index from JOB_COMPLETION_INDEX and require --shard-count then', () => {
    assert.deepEqual(resolveShard(undefined, 4, { JOB_COMPLETION_INDEX: '2' }), { index: 2, count: 4 });
    assert.throws(() => resolveShard(undefined, undefined, { JOB_COMPLETION_INDEX: '2' }), /give --shard-count/);
    assert.throws(() => resolveShard(4, 4, {}), /--shard-index 4 is out of range for --shard-count 4/);
    assert.throws(() => resolveShard(undefined, 3, {}), /--shard-count needs --shard-index/);
    assert.equal(resolveShard(undefined, undefined, {}), undefined);
    assert.equal(shardOutputPath('/d/p.parquet', { index: 2, count: 4 }), '/d/p-00002-of-00004.parquet');
  });
});

describe('sharded runs and merge', () => {
  let dir = '';
  let iris: LoadedModel;
  let input = '';
  const rows = Array.from({ length: 23 }, (_, i) =>
    i === 11 ? { id: `r${i}`, input: [1] } : { id: `r${i}`, input: [4 + (i % 4), 3, 1 + (i % 6), 0.3 * (i % 3)] },
  );
  const mapping = { id: 'id', outputs: ['probabilities', 'probabilities:label'] };

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

  for (const ext of ['parquet', 'jsonl', 'csv']) {
    it(`merges ${ext} shards into the single-run output, verified row by row`, async () => {
      const whole = path.join(dir, `whole.${ext}`);
      await runJob(iris, input, whole, { mapping });
      const count = 3;
      const parts: string[] = [];
      for (let index = 0; index < count; index++) {
        const out = shardOutputPath(path.join(dir, ext, `pred.${ext}`), { index, count });
        const { mkdir } = await import('node:fs/promises');
        await mkdir(path.dirname(out), { recursive: true });
        const s = await runJob(iris, input, out, { mapping, shard: { index, count } });
        assert.equal(s.shard?.index, index);
        parts.push(out);
      }
      const merged = path.join(dir, `merged.${ext}`);
      const summary = await mergeShards({
        parts: await listParts([path.join(dir, ext)], merged),
        output: merged,
        outputFormat: ext as 'parquet',
      });
      assert.equal(summary.verified, true);
      assert.equal(summary.rows, 22);
      assert.equal(summary.errors, 1);
      // Values are compared as float32: JSON lines may spell the same float32 with other digits.
      const asFloat32 = (rows: Record<string, unknown>[]): Record<string, unknown>[] =>
        rows.map((r) => ({
          ...r,
          probabilities: (typeof r.probabilities === 'string'
            ? (JSON.parse(r.probabilities) as number[])
            : (r.probabilities as number[])
          ).map((v) => Math.fround(v)),
        }));
      assert.deepEqual(asFloat32(await readTable(merged)), asFloat32(await readTable(whole)));
      const errors = (await readFile(errorsPath(merged), 'utf8')).trim().split('\n');
      assert.equal(errors.length, 1);
      assert.equal((JSON.parse(errors[0] ?? '{}') as { row: number }).row, 11);
      const merged2 = JSON.parse(await readFile(summaryPath(merged), 'utf8')) as { totalRows: number };
      assert.equal(merged2.totalRows, 23);
    });
  }

  it('refuses a merge with a shard missing or given twice', async () => {
    const count = 3;
    const parts: string[] = [];
    for (let index = 0; index < count; index++) {
      const out = shardOutputPath(path.join(dir, 'm.parquet'), { index, count });
      await runJob(iris, input, out, { mapping, shard: { index, count } });
      parts.push(out);
    }
    const merged = path.join(dir, 'bad-merge.parquet');
    await assert.rejects(
      mergeShards({ parts: [parts[0] ?? '', parts[2] ?? ''], output: merged, outputFormat: 'parquet' }),
      /shard\(s\) 1 of 3 missing/,
    );
    const copy = path.join(dir, 'copy-of-0.parquet');
    await copyFile(parts[0] ?? '', copy);
    await copyFile(summaryPath(parts[0] ?? ''), summaryPath(copy));
    await assert.rejects(
      mergeShards({ parts: [...parts, copy], output: merged, outputFormat: 'parquet' }),
      /are both shard 0/,
    );
    // Without summaries only duplicates can be checked, and they are.
    const bare = path.join(dir, 'bare-copy.parquet');
    await copyFile(parts[1] ?? '', bare);
    const bare2 = path.join(dir, 'bare-copy2.parquet');
    await copyFile(parts[1] ?? '', bare2);
    await assert.rejects(
      mergeShards({ parts: [bare, bare2], output: merged, outputFormat: 'parquet' }),
      /row\(s\) appear more than once/,
    );
  });

  it('refuses a part without its summary among parts with theirs, and an earlier merged output', async () => {
    const count = 2;
    const folder = path.join(dir, 'mixed');
    const parts: string[] = [];
    for (let index = 0; index < count; index++) {
      const out = shardOutputPath(path.join(folder, 'p.parquet'), { index, count });
      await runJob(iris, input, out, { mapping, shard: { index, count } });
      parts.push(out);
    }
    // A stray table without summary: shard 1's rows would go unchecked (and shard 1 is missing).
    const stray = path.join(dir, 'stray.parquet');
    const { rm } = await import('node:fs/promises');
    await copyFile(parts[1] ?? '', stray);
    await assert.rejects(
      mergeShards({ parts: [parts[0] ?? '', stray], output: path.join(dir, 'x.parquet'), outputFormat: 'parquet' }),
      /stray\.parquet has no summary .* while the other parts do/,
    );
    // A merged output left in the parts' folder (sorted after them) is named, not a TypeError.
    const merged = path.join(folder, 'z-merged.parquet');
    await mergeShards({ parts: await listParts([folder], merged), output: merged, outputFormat: 'parquet' });
    const again = path.join(dir, 'again.parquet');
    await assert.rejects(
      mergeShards({ parts: await listParts([folder], again), output: again, outputFormat: 'parquet' }),
      /z-merged\.parquet is not shard of 2/,
    );
    await rm(folder, { recursive: true });
  });
});
