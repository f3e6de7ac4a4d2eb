// Dynamic batching merges compatible queued requests into one execution and gives every request
// exactly its own rows back; requests whose non-batch dimensions differ never share one.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';
import { ModelInstance } from '../../src/runtime/index.js';
import { DynamicBatcher, type BatchingOptions } from '../../src/scheduler/dynamic-batcher.js';
import { EXAMPLES_DIR } from '../helpers/test-server.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

/** A request to identity_fp32 of `rows` × `cols`, every element `rowBase + row`. */
function request(rowBase: number, rows: number, cols: number): InferRequest {
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

describe('dynamic batching', () => {
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
      return { b, rows, result: s.infer(request(b, rows, 4)) };
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

  it('never merges requests whose non-batch dimensions differ', async () => {
    const { s, stats } = scheduler({ maxBatchSize: 16, maxQueueDelayUs: 50_000, preferredBatchSizes: [] });
    const [a, b, c] = await Promise.all([
      s.infer(request(0, 1, 4)),
      s.infer(request(10, 2, 5)),
      s.infer(request(20, 2, 4)),
    ]);
    assert.deepEqual(rowsOf(a).shape, [1, 4]);
    assert.deepEqual(rowsOf(b), { shape: [2, 5], firsts: [10, 11] });
    assert.deepEqual(rowsOf(c), { shape: [2, 4], firsts: [20, 21] });
    assert.equal(stats.executionCount, 2);
    assert.deepEqual(
      [...stats.batchStats.keys()].sort((x, y) => x - y),
      [2, 3],
    );
  });

  it('keeps every batch within max_batch_size rows', async () => {
    const { s, stats } = scheduler({ maxBatchSize: 4, maxQueueDelayUs: 50_000, preferredBatchSizes: [] });
    const results = await Promise.all([3, 3, 2, 1].map((rows, i) => s.infer(request(i * 10, rows, 2))));
    results.forEach((r, i) => assert.equal(rowsOf(r).firsts[0], i * 10));
    for (const size of stats.batchStats.keys()) assert.ok(size <= 4, `batch of ${size} rows`);
    assert.equal(stats.inferenceCount, 9);
  });

  it('dispatches a preferred batch size at once instead of waiting out the delay', async () => {
    const { s, stats } = scheduler({ maxBatchSize: 16, maxQueueDelayUs: 5_000_000, preferredBatchSizes: [2] });
    const started = performance.now();
    await Promise.all([s.infer(request(0, 1, 3)), s.infer(request(1, 1, 3))]);
    assert.ok(performance.now() - started < 2000, 'did not wait for the 5 s delay');
    assert.deepEqual([...stats.batchStats.keys()], [2]);
  });

  it('without a delay runs the first request at once and batches what queued behind it', async () => {
    const { s, stats } = scheduler({ maxBatchSize: 16, maxQueueDelayUs: 0, preferredBatchSizes: [] });
    const all = await Promise.all([0, 1, 2, 3, 4].map((i) => s.infer(request(i * 10, 1, 8))));
    all.forEach((r, i) => assert.deepEqual(rowsOf(r).firsts, [i * 10]));
    assert.equal(stats.inferenceCount, 5);
    assert.ok(stats.executionCount >= 2 && stats.executionCount <= 5);
    assert.ok(stats.batchStats.has(1), 'the first request did not wait');
  });
});
