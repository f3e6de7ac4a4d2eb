// The SQL engine runs its models' sessions on the main thread: the DuckDB worker waits for every
// chunk it sends, so a model worker thread would only add two thread hops per execution. The
// repository option that does it leaves other repositories' models in worker threads. A model
// whose config sets no max_batch_size scores a whole DuckDB chunk in one execution.

import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelRepository } from '../../src/repository/model-repository.js';
import { InlineInstance } from '../../src/runtime/inline-instance.js';
import { ModelInstance } from '../../src/runtime/model-instance.js';
import { requireKind } from '../../src/model-kinds/serving-kinds.js';
import { SqlEngine } from '../../src/sql/sql-engine.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

async function instancesOf(inlineExecution: boolean | undefined): Promise<string[]> {
  const repository = new ModelRepository({
    path: EXAMPLES_DIR,
    controlMode: 'explicit',
    loadModels: ['simple'],
    pollSeconds: 0,
    cpuCores: 1,
    metrics: new Metrics(),
    logger: createLogger('silent'),
    ...(inlineExecution === undefined ? {} : { inlineExecution }),
  });
  await repository.start();
  try {
    const mv = requireKind(repository.resolve('simple'), 'v2 infer');
    return mv.instances.map((i) =>
      i instanceof InlineInstance ? 'inline' : i instanceof ModelInstance ? 'worker' : '?',
    );
  } finally {
    await repository.close();
  }
}

describe('SQL engine: models on the main thread', () => {
  it('scores predict() with inline instances and gives the model its executions', async () => {
    const engine = await SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 1 });
    try {
      const r = await engine.query(
        "SELECT sum(list_sum(predict('mlp', list_transform(range(256), k -> (i * k % 7)::FLOAT)))) IS NOT NULL FROM range(300) t(i)",
      );
      assert.deepEqual(r.rows, [[true]]);
      const mv = requireKind(engine.repository.resolve('mlp'), 'v2 infer');
      assert.ok(mv.instances.length > 0);
      for (const instance of mv.instances) assert.ok(instance instanceof InlineInstance, instance.label);
      assert.ok(mv.stats.executionCount >= 1, 'the rows went through the scheduler');
    } finally {
      await engine.close();
    }
  });

  it('runs a repository that does not ask for it in worker threads', async () => {
    assert.deepEqual(new Set(await instancesOf(undefined)), new Set(['worker']));
    assert.deepEqual(new Set(await instancesOf(false)), new Set(['worker']));
    assert.deepEqual(new Set(await instancesOf(true)), new Set(['inline']));
  });
});

describe('SQL engine: a chunk in one execution', () => {
  it('gives a model without max_batch_size a DuckDB chunk (2,048 rows) per execution', async () => {
    const engine = await SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 1 });
    try {
      await engine.query("SELECT predict('mlp', list_transform(range(256), k -> 0.5::FLOAT))");
      const mv = requireKind(engine.repository.resolve('mlp'), 'v2 infer');
      assert.equal(mv.config.maxBatchSize, 2048);
      const before = mv.stats.executionCount;
      const r = await engine.query(
        "SELECT count(predict('mlp', list_transform(range(256), k -> ((i + k) % 5)::FLOAT))) FROM range(4096) t(i)",
      );
      assert.deepEqual(r.rows, [[4096n]]);
      assert.equal(mv.stats.executionCount - before, 2);
    } finally {
      await engine.close();
    }
  });

  it('keeps the max_batch_size a config sets', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-sql-batch-'));
    try {
      await cp(path.join(EXAMPLES_DIR, 'mlp', '1'), path.join(dir, 'mlp', '1'), { recursive: true });
      await writeFile(path.join(dir, 'mlp', 'config.yaml'), 'max_batch_size: 100\n');
      const engine = await SqlEngine.open({ modelRepository: dir, cpuCores: 1 });
      try {
        const r = await engine.query(
          "SELECT count(predict('mlp', list_transform(range(256), k -> ((i + k) % 5)::FLOAT))) FROM range(1000) t(i)",
        );
        assert.deepEqual(r.rows, [[1000n]]);
        const mv = requireKind(engine.repository.resolve('mlp'), 'v2 infer');
        assert.equal(mv.config.maxBatchSize, 100);
        assert.equal(mv.stats.executionCount, 10);
      } finally {
        await engine.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SQL engine: list arguments read in runs', () => {
  it('scores each row of a chunk with NULL rows and NULL elements between them as it scores it alone', async () => {
    const engine = await SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 1 });
    try {
      // One list expression, so a row with a NULL element lies between its neighbours' lists in
      // DuckDB's child vector and breaks the run of rows copied at once.
      const rows = `SELECT i, CASE WHEN i % 7 = 3 THEN NULL
                                 ELSE list_transform(range(256), k -> CASE WHEN i % 11 = 5 AND k = 9 THEN NULL
                                                                           ELSE (k * i % 13)::FLOAT END) END AS f
                    FROM range(200) t(i)`;
      const all = await engine.query(`SELECT i, predict('mlp', f) FROM (${rows}) ORDER BY i`);
      assert.equal(all.rows.length, 200);
      for (let i = 0; i < 40; i++) {
        const alone = await engine.query(`SELECT predict('mlp', f) FROM (${rows}) WHERE i = ${i}`);
        const got = all.rows[i]?.[1];
        if (i % 7 === 3 || i % 11 === 5) assert.equal(got, null, `row ${i}`);
        else {
          assert.ok(Array.isArray(got) && got.length === 10, `row ${i}`);
          assert.deepEqual(got, alone.rows[0]?.[0], `row ${i}`);
        }
      }
    } finally {
      await engine.close();
    }
  });
});
