// Dynamic batching merges compatible queued requests into one execution and gives every request
// exactly its own rows back; requests whose non-batch dimensions differ never share one. A batch
// short of its target waits up to the queue delay for company. The merges and the delays run on a
// scripted instance under mock timers; one merge runs on identity_fp32, for real split outputs.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';
import { ModelInstance } from '../../src/runtime/index.js';
import { DynamicBatcher, type BatchingOptions } from '../../src/scheduler/dynamic-batcher.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';
import { request, rowValues, schedulerFixture } from './scheduler-fixture.js';
import { flush, observe, type ScriptedRun } from './scripted-instance.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

/** A request to identity_fp32 of `rows` × `cols`, every element `rowBase + row`. */
function identityRequest(rowBase: number, rows: number, cols: number): InferRequest {
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) data.fill(rowBase + r, r * cols, (r + 1) * cols);
  return {
    requestId: `r${rowBase}`,
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [rows, cols], data }],
    outputNames: ['OUTPUT0'],
    batchSize: rows,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: process.hrtime.bigint(),
  };
}

function rowsOf(result: { outputs: { shape: readonly number[]; data: unknown }[] }): {
  shape: number[];
  firsts: number[];
} {
  const out = result.outputs[0];
  assert.ok(out !== undefined);
  const [rows = 0, cols = 0] = out.shape;
  const data = out.data as Float32Array;
  return { shape: [...out.shape], firsts: Array.from({ length: rows }, (_, r) => data[r * cols] ?? NaN) };
}

/** The value of each row of each run, run by run. */
function runRows(runs: readonly ScriptedRun[]): number[][] {
  return runs.map(rowValues);
}

describe('dynamic batching', () => {
  const batching = { maxBatchSize: 16, preferredBatchSizes: [] };

  it('merges requests that arrive together into one execution once the queue delay runs out', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxQueueDelayUs: 100_000 } });
    const sizes = [1, 3, 2, 4];
    const sent = sizes.map((rows, i) => ({
      value: i * 100,
      rows,
      result: f.scheduler.infer(request(i * 100, { batchSize: rows })),
    }));
    t.mock.timers.tick(99);
    await flush();
    assert.equal(f.instance.runs.length, 0, 'ten rows wait for company up to the 100 ms delay');
    t.mock.timers.tick(1);
    assert.deepEqual(runRows(f.instance.runs), [[0, 100, 100, 100, 200, 200, 300, 300, 300, 300]]);
    f.instance.next().complete();
    for (const { value, rows, result } of sent) {
      const out = (await result).outputs[0];
      assert.deepEqual(out?.shape, [rows, 2]);
      assert.deepEqual([...(out?.data as Float32Array)], new Array<number>(rows * 2).fill(value));
    }
    assert.equal(f.stats.executionCount, 1);
    assert.deepEqual([...f.stats.batchStats.keys()], [10]);
    assert.equal(f.stats.inferenceCount, 10);
    assert.equal(f.stats.success.count, 4);
  });

  it('counts the queue delay from the oldest waiting request', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxQueueDelayUs: 100_000 } });
    const a = f.scheduler.infer(request(1));
    t.mock.timers.tick(60);
    const b = f.scheduler.infer(request(2));
    t.mock.timers.tick(39);
    await flush();
    assert.equal(f.instance.runs.length, 0);
    t.mock.timers.tick(1);
    assert.deepEqual(runRows(f.instance.runs), [[1, 2]]);
    f.instance.next().complete();
    await Promise.all([a, b]);
  });

  it('never merges requests whose non-batch dimensions differ', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxQueueDelayUs: 50_000 } });
    const all = observe(
      Promise.all([
        f.scheduler.infer(request(0, {}, 4)),
        f.scheduler.infer(request(10, { batchSize: 2 }, 5)),
        f.scheduler.infer(request(20, { batchSize: 2 }, 4)),
      ]),
    );
    t.mock.timers.tick(50);
    f.instance.next().complete();
    await flush();
    f.instance.next().complete();
    const [a, b, c] = await all.promise;
    assert.deepEqual(
      f.instance.runs.map((r) => r.input('X').shape),
      [
        [3, 4],
        [2, 5],
      ],
    );
    assert.deepEqual(runRows(f.instance.runs), [
      [0, 20, 20],
      [10, 10],
    ]);
    assert.deepEqual(a.outputs[0]?.shape, [1, 4]);
    assert.deepEqual(b.outputs[0]?.shape, [2, 5]);
    assert.deepEqual(c.outputs[0]?.shape, [2, 4]);
    assert.deepEqual((c.outputs[0]?.data as Float32Array)[0], 20);
    assert.equal(f.stats.executionCount, 2);
    assert.deepEqual(
      [...f.stats.batchStats.keys()].sort((x, y) => x - y),
      [2, 3],
    );
  });

  it('keeps every batch within max_batch_size rows', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxBatchSize: 4, maxQueueDelayUs: 50_000 } });
    const results = [3, 3, 2, 1].map((rows, i) => f.scheduler.infer(request(i * 10, { batchSize: rows })));
    t.mock.timers.tick(50);
    for (let i = 0; i < 3; i++) {
      f.instance.next().complete();
      await flush();
    }
    // In arrival order: a request that would overflow the batch waits for the next one.
    assert.deepEqual(runRows(f.instance.runs), [
      [0, 0, 0],
      [10, 10, 10],
      [20, 20, 30],
    ]);
    (await Promise.all(results)).forEach((r, i) => assert.equal((r.outputs[0]?.data as Float32Array)[0], i * 10));
    assert.deepEqual([...f.stats.batchStats.keys()], [3]);
    assert.equal(f.stats.inferenceCount, 9);
  });

  it('dispatches a preferred batch size at once instead of waiting out the delay', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxQueueDelayUs: 5_000_000, preferredBatchSizes: [2] } });
    const first = f.scheduler.infer(request(0));
    assert.equal(f.instance.runs.length, 0, 'one row is not a preferred size: it waits');
    const second = f.scheduler.infer(request(1));
    assert.deepEqual(runRows(f.instance.runs), [[0, 1]], 'two rows go at once, with no time passed');
    f.instance.next().complete();
    await Promise.all([first, second]);
    assert.deepEqual([...f.stats.batchStats.keys()], [2]);
  });

  it('without a delay runs the first request at once and batches what queued behind it', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxQueueDelayUs: 0 } });
    const all = [0, 1, 2, 3, 4].map((i) => f.scheduler.infer(request(i * 10)));
    assert.deepEqual(runRows(f.instance.runs), [[0]], 'the first request did not wait');
    f.instance.next().complete();
    await flush();
    assert.deepEqual(runRows(f.instance.runs), [[0], [10, 20, 30, 40]]);
    f.instance.next().complete();
    (await Promise.all(all)).forEach((r, i) => assert.equal((r.outputs[0]?.data as Float32Array)[0], i * 10));
    assert.equal(f.stats.inferenceCount, 5);
    assert.equal(f.stats.executionCount, 2);
  });

  it('sends a batch waiting for company at once when draining begins', async (t) => {
    const f = schedulerFixture(t, { batching: { ...batching, maxQueueDelayUs: 100_000 } });
    const waiting = f.scheduler.infer(request(7));
    assert.equal(f.instance.runs.length, 0);
    const drained = f.scheduler.drain();
    assert.deepEqual(runRows(f.instance.runs), [[7]]);
    f.instance.next().complete();
    await waiting;
    await drained;
  });
});

describe('dynamic batching on identity_fp32', () => {
  let instance: ModelInstance;
  before(async () => {
    ({ instance } = await ModelInstance.load(
      'identity',
      path.join(EXAMPLES_DIR, 'identity_fp32/1/model.onnx'),
      OPTIONS,
    ));
  });
  after(async () => instance.close());

  function scheduler(batching: BatchingOptions): { s: DynamicBatcher; stats: ModelStats } {
    const stats = new ModelStats('identity_fp32', '1', new Metrics());
    return { s: new DynamicBatcher([instance], stats, { maxQueueSize: 64, defaultTimeoutUs: 0, batching }), stats };
  }

  it('merges requests that arrive together into one execution, each getting exactly its own rows', async () => {
    const { s, stats } = scheduler({ maxBatchSize: 16, maxQueueDelayUs: 100_000, preferredBatchSizes: [] });
    const sizes = [1, 3, 2, 4];
    let base = 0;
    const sent = sizes.map((rows) => {
      const b = base;
      base += 100;
      return { b, rows, result: s.infer(identityRequest(b, rows, 4)) };
    });
    for (const { b, rows, result } of sent) {
      const got = rowsOf(await result);
      assert.deepEqual(got.shape, [rows, 4]);
      assert.deepEqual(
        got.firsts,
        Array.from({ length: rows }, (_, r) => b + r),
      );
    }
    // Ten rows waited for company up to the 100 ms delay and ran as one execution.
    assert.equal(stats.executionCount, 1);
    assert.deepEqual([...stats.batchStats.keys()], [10]);
    assert.equal(stats.inferenceCount, 10);
    assert.equal(stats.success.count, 4);
  });
});
