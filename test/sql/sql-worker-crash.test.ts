// A SQL worker that dies fails the query in flight with a clear error and is replaced: the next
// query runs on a fresh worker and a new, empty in-memory database, with the predict functions it
// calls registered again. A crash while no query runs is told to the next query instead.
//
// The worker is ended while idle, never inside DuckDB: terminating it during a fetch or a predict
// callback can abort the whole process. For a query in flight, the query is posted to a worker
// already told to stop.

import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { SqlEngine } from '../../src/sql/sql-engine.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

const PREDICT = "SELECT predict('iris', 5.1, 3.5, 1.4, 0.2) AS p";

function workerOf(engine: SqlEngine): Worker {
  return (engine as unknown as { worker: Worker }).worker;
}

describe('SQL engine after its worker dies', () => {
  it('fails the query in flight, and runs the next one on a fresh worker', async () => {
    const engine = await SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 1 });
    try {
      await engine.query('CREATE TABLE kept AS SELECT 1 AS x');
      const expected = await engine.query(PREDICT);
      const first = workerOf(engine);
      void first.terminate();
      const inFlight = engine.query('SELECT 42');
      await assert.rejects(inFlight, (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INF_ERR_INTERNAL');
        assert.equal(err.message, 'the SQL worker exited with code 1');
        return true;
      });
      // The predict function is registered again in the new worker's DuckDB.
      assert.deepEqual(await engine.query(PREDICT), expected);
      assert.notEqual(workerOf(engine), first);
      // The new database is empty: what earlier statements made is gone.
      await assert.rejects(engine.query('SELECT x FROM kept'), /Table with name kept does not exist/);
    } finally {
      await engine.close();
    }
  });

  it('tells a crash while idle to the next query, and runs the one after', async () => {
    const engine = await SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 1 });
    try {
      const expected = await engine.query(PREDICT);
      await workerOf(engine).terminate();
      await assert.rejects(engine.query(PREDICT), { message: 'the SQL worker exited with code 1' });
      assert.deepEqual(await engine.query(PREDICT), expected);
    } finally {
      await engine.close();
    }
  });
});
