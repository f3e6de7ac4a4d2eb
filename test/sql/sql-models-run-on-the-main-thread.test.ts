// The SQL engine runs its models' sessions on the main thread: the DuckDB worker waits for every
// chunk it sends, so a model worker thread would only add two thread hops per execution. The
// repository option that does it leaves other repositories' models in worker threads.

import assert from 'node:assert/strict';
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
