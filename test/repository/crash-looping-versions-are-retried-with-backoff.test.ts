// A version whose worker threads keep dying is taken out of service: UNAVAILABLE in the index with
// the failure, not ready, 503 with Retry-After; the repository loads it again after 1 s, 2 s, 4 s
// ... (driven here by a manual timer) and it is READY once a load runs. A single crash followed by
// a successful restart leaves it READY. Real worker threads and onnxruntime sessions throughout.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { InferdError } from '../../src/errors/index.js';
import { requireKind } from '../../src/model-kinds/serving-kinds.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { MAX_RETRY_MS, ModelRepository, retryDelayMs } from '../../src/repository/model-repository.js';
import { ManualTimer } from '../helpers/manual-timer.js';
import type { Instance } from '../../src/runtime/index.js';
import { simpleModel } from '../../tools/examples/example-models.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const inputs = () => [
  { name: 'INPUT0', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16).fill(5) },
  { name: 'INPUT1', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16).fill(2) },
];

/** Ends the instance's worker thread between runs, as a thread that died would. */
async function killWorker(instance: Instance): Promise<void> {
  const worker = (instance as unknown as { worker: Worker | undefined }).worker;
  assert.ok(worker !== undefined, `${instance.label} has no worker to end`);
  await worker.terminate();
}

describe('a version whose instances keep dying', () => {
  let repo = '';
  let timer: ManualTimer;
  let metrics: Metrics;
  let repository: ModelRepository;

  beforeEach(async () => {
    repo = await makeRepository(simpleModel());
    timer = new ManualTimer();
    metrics = new Metrics();
    repository = new ModelRepository({
      path: repo,
      controlMode: 'none',
      loadModels: [],
      pollSeconds: 60,
      cpuCores: 2,
      metrics,
      logger: createLogger('silent'),
      retryTimer: timer,
    });
    await repository.start();
  });

  afterEach(async () => {
    await repository.close();
    await removeRepository(repo);
  });

  const instanceOf = (): Instance => {
    const instance = requireKind(repository.resolve('simple'), 'v2 infer').instances[0];
    assert.ok(instance !== undefined);
    return instance;
  };

  const stateOf = async (): Promise<{ state: string; reason: string; version: string }> => {
    const row = (await repository.index(false)).find((r) => r.name === 'simple');
    assert.ok(row !== undefined);
    return row;
  };

  /** Three crashes are restarted in place (each restart proven by a run); the fourth is one too many. */
  async function crashLoop(): Promise<void> {
    const instance = instanceOf();
    for (let i = 0; i < 3; i++) {
      await killWorker(instance);
      await instance.run(inputs(), ['OUTPUT0']);
    }
    await killWorker(instance);
    await until(async () => (await stateOf()).state === 'UNAVAILABLE', 'the version to turn UNAVAILABLE');
  }

  it('turns UNAVAILABLE with the failure as its reason and is not ready', async () => {
    await crashLoop();
    const row = await stateOf();
    assert.equal(row.version, '1');
    assert.match(row.reason, /^version 1 no running instance: instance simple\/1#0 failed: worker exited/);
    assert.match(row.reason, /keeps crashing and is not restarted again \(3 restarts\); next load attempt in 1 s$/);
    assert.equal(repository.isReady('simple'), false);
    assert.equal(repository.isReady('simple', '1'), false);
    assert.deepEqual(await repository.index(true), []);
    const text = await metrics.registry.metrics();
    assert.match(text, /inferd_model_version_failures_total\{model="simple",version="1"\} 1/);
  });

  it('refuses requests with 503 and a Retry-After that says when the next load runs', async () => {
    await crashLoop();
    assert.throws(
      () => repository.resolve('simple'),
      (err: unknown) =>
        err instanceof InferdError &&
        err.code === 'INF_ERR_MODEL_UNAVAILABLE' &&
        err.httpStatus === 503 &&
        err.headers?.['retry-after'] === '1' &&
        /no running instance/.test(err.message),
    );
  });

  it('loads again after 1 s, 2 s, 4 s, 8 s while loads fail, and is READY once one runs', async () => {
    await crashLoop();
    assert.deepEqual(timer.delays, [1000]);
    // The model file breaks meanwhile: every retry load fails and waits twice as long.
    const modelFile = path.join(repo, 'simple/1/model.onnx');
    const good = await readFile(modelFile);
    await writeFile(modelFile, 'not onnx');
    for (const [i, delay] of [1000, 2000, 4000].entries()) {
      timer.advance(delay);
      await until(() => timer.delays.length === i + 2, `retry ${i + 1} to fail`);
      const row = await stateOf();
      assert.equal(row.state, 'UNAVAILABLE');
      assert.match(row.reason, new RegExp(`next load attempt in ${(delay * 2) / 1000} s$`));
      assert.equal(repository.isReady('simple'), false);
    }
    assert.deepEqual(timer.delays, [1000, 2000, 4000, 8000]);
    await writeFile(modelFile, good);
    timer.advance(7999);
    assert.equal(timer.delays.length, 4, 'no retry before its time');
    assert.equal((await stateOf()).state, 'UNAVAILABLE');
    timer.advance(1);
    await until(() => repository.isReady('simple'), 'the model to be ready again');
    const row = await stateOf();
    assert.deepEqual([row.version, row.state, row.reason], ['1', 'READY', '']);
    const result = await instanceOf().run(inputs(), ['OUTPUT0']);
    assert.deepEqual(Array.from(result.outputs[0]?.data as Int32Array), new Array<number>(16).fill(7));
    assert.equal(timer.armed, 0, 'no retry is left armed');
  });

  it('keeps a single crash that restarts in place READY, with no retry armed', async () => {
    const instance = instanceOf();
    await killWorker(instance);
    const result = await instance.run(inputs(), ['OUTPUT1']);
    assert.deepEqual(Array.from(result.outputs[0]?.data as Int32Array), new Array<number>(16).fill(3));
    assert.equal(instanceOf(), instance, 'the same version and instance serve');
    assert.equal(repository.isReady('simple'), true);
    assert.equal((await stateOf()).state, 'READY');
    assert.deepEqual(timer.delays, []);
  });

  it('stops retrying once the model is unloaded', async () => {
    await crashLoop();
    assert.equal(timer.armed, 1);
    await repository.close();
    assert.equal(timer.armed, 0);
  });
});

describe('the retry delay', () => {
  it('doubles from 1 s and stays at 60 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map(retryDelayMs),
      [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000],
    );
    assert.equal(MAX_RETRY_MS, 60_000);
  });
});
