// predict() on a model with one string (BYTES) input and output; a query whose receiver gives up
// is stopped, not run to its end; and an engine whose DuckDB worker thread has died: queries fail
// with a clear message and close() still returns.

import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { SqlEngine } from '../../src/sql/sql-engine.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';
import { requireKind } from '../../src/model-kinds/serving-kinds.js';

describe('SQL engine: string models and a dead worker', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-sql-strings-'));
    // The example identity_bytes model, declared with one string per row.
    await cp(path.join(EXAMPLES_DIR, 'identity_bytes', '1'), path.join(dir, 'echo', '1'), { recursive: true });
    await writeFile(
      path.join(dir, 'echo', 'config.yaml'),
      'max_batch_size: 64\ninput:\n  - { name: INPUT0, data_type: TYPE_STRING, dims: [1] }\n' +
        'output:\n  - { name: OUTPUT0, data_type: TYPE_STRING, dims: [1] }\n',
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('feeds one VARCHAR column to a one-string input and returns VARCHAR', async () => {
    const engine = await SqlEngine.open({ modelRepository: dir, cpuCores: 1 });
    try {
      const r = await engine.query(
        "SELECT s, predict('echo', s) AS p FROM (VALUES ('a'), (NULL), ('naïve'), ('')) t(s) ORDER BY s NULLS LAST",
      );
      assert.deepEqual(r.columns, [
        { name: 's', type: 'VARCHAR' },
        { name: 'p', type: 'VARCHAR' },
      ]);
      assert.deepEqual(r.rows, [
        ['', ''],
        ['a', 'a'],
        ['naïve', 'naïve'],
        [null, null],
      ]);
    } finally {
      await engine.close();
    }
  });

  it('stops a query whose row handler throws, and runs the next one', { timeout: 60_000 }, async () => {
    const engine = await SqlEngine.open({ modelRepository: dir, cpuCores: 1 });
    try {
      let batches = 0;
      // Without the interrupt this query would score 50 million rows before the next could start.
      const sql = "SELECT predict('echo', i::VARCHAR) FROM range(50000000) t(i)";
      await assert.rejects(
        engine.run(sql, {
          columns: () => undefined,
          rows: () => {
            batches++;
            throw new Error('the reader went away');
          },
        }),
        /the reader went away/,
      );
      assert.equal(batches, 1);
      const next = await engine.query("SELECT predict('echo', 'x') AS p");
      assert.deepEqual(next.rows, [['x']]);
    } finally {
      await engine.close();
    }
  });

  it('closes while a chunk waits on a scheduler that never answers', { timeout: 60_000 }, async () => {
    const engine = await SqlEngine.open({ modelRepository: dir, cpuCores: 1 });
    await engine.query("SELECT predict('echo', 'load')");
    const scheduler = requireKind(engine.repository.resolve('echo'), 'v2 infer').scheduler;
    let called!: () => void;
    const waiting = new Promise<void>((resolve) => (called = resolve));
    scheduler.infer = () => {
      called();
      return new Promise(() => undefined);
    };
    const query = engine.query("SELECT predict('echo', i::VARCHAR) FROM range(10) t(i)");
    // The callback stops waiting and fails the query (rather than the worker being terminated).
    const failed = assert.rejects(query, /the SQL engine is closing/);
    await waiting;
    // Before, the worker stayed blocked in the DuckDB callback until close() terminated it.
    await engine.close();
    await failed;
  });

  it('fails queries and still closes when the worker thread has exited', async () => {
    const engine = await SqlEngine.open({ modelRepository: dir, cpuCores: 1 });
    const worker = (engine as unknown as { worker: Worker }).worker;
    await worker.terminate();
    await assert.rejects(engine.query('SELECT 1'), /the SQL worker exited/);
    // close() used to wait for an 'exit' event that had already been emitted.
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hung'), 20_000)));
    assert.equal(await Promise.race([engine.close().then(() => 'closed'), hung]), 'closed');
    clearTimeout(timer);
  });
});
