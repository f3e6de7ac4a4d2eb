// A model instance runs its session in a worker thread: exact results, metadata, errors that
// leave the instance usable, and an event loop that keeps turning while a run is in progress.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelInstance } from '../../src/runtime/index.js';
import { slowModel } from '../fixtures/slow-model.js';
import { EXAMPLES_DIR, makeRepository, removeRepository } from '../helpers/repository-files.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

describe('ModelInstance', () => {
  let simple: ModelInstance;
  let slowDir: string;

  before(async () => {
    ({ instance: simple } = await ModelInstance.load(
      'simple#0',
      path.join(EXAMPLES_DIR, 'simple/1/model.onnx'),
      OPTIONS,
    ));
    slowDir = await makeRepository(slowModel('slow', 384, 40));
  });
  after(async () => {
    await simple.close();
    await removeRepository(slowDir);
  });

  it('reports the graph inputs and outputs with dynamic dimensions as -1', async () => {
    const { instance, metadata } = await ModelInstance.load(
      'meta',
      path.join(EXAMPLES_DIR, 'simple/1/model.onnx'),
      OPTIONS,
    );
    await instance.close();
    assert.deepEqual(
      metadata.inputs.map((m) => [m.name, m.elementType, m.shape]),
      [
        ['INPUT0', 'int32', [-1, 16]],
        ['INPUT1', 'int32', [-1, 16]],
      ],
    );
    assert.deepEqual(metadata.providers, ['cpu']);
  });

  it('returns exact outputs for the requested names only', async () => {
    const a = Int32Array.from({ length: 32 }, (_, i) => i);
    const b = Int32Array.from({ length: 32 }, () => 3);
    const expected = Array.from(a, (v) => v - 3);
    const result = await simple.run(
      [
        { name: 'INPUT0', datatype: 'INT32', shape: [2, 16], data: a },
        { name: 'INPUT1', datatype: 'INT32', shape: [2, 16], data: b },
      ],
      ['OUTPUT1'],
    );
    assert.equal(result.outputs.length, 1);
    const [out] = result.outputs;
    assert.equal(out?.name, 'OUTPUT1');
    assert.deepEqual(out?.shape, [2, 16]);
    assert.deepEqual(Array.from(out?.data as Int32Array), expected);
    // Inputs that own their whole buffer are transferred to the worker, not copied.
    assert.equal(a.length, 0);
    assert.ok(result.timings.computeInferNs > 0);
  });

  it('does not detach memory shared with other views (pooled Buffers are copied, not transferred)', async () => {
    const pool = Buffer.alloc(256);
    const view = new Int32Array(pool.buffer, pool.byteOffset, 16).fill(7);
    const other = new Int32Array(pool.buffer, pool.byteOffset + 64, 16).fill(1);
    await simple.run(
      [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: view },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: other },
      ],
      ['OUTPUT0'],
    );
    assert.equal(pool.buffer.byteLength > 0, true);
    assert.equal(view[0], 7);
    assert.equal(other[15], 1);
  });

  it('maps inputs the graph refuses to INF_ERR_INVALID_ARGUMENT and kernel failures to INF_ERR_RUNTIME, and keeps working', async () => {
    await assert.rejects(
      simple.run(
        [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16) },
          // The graph declares [-1, 16]; onnxruntime refuses 15 columns before running anything.
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 15], data: new Int32Array(15) },
        ],
        ['OUTPUT0'],
      ),
      (err: Error & { code?: string }) =>
        err.code === 'INF_ERR_INVALID_ARGUMENT' &&
        /^the model refused the inputs: Got invalid dimensions/.test(err.message),
    );
    await assert.rejects(
      simple.run(
        [
          // Batch 2 against batch 3: the graph's Add kernel cannot broadcast them.
          { name: 'INPUT0', datatype: 'INT32', shape: [2, 16], data: new Int32Array(32) },
          { name: 'INPUT1', datatype: 'INT32', shape: [3, 16], data: new Int32Array(48) },
        ],
        ['OUTPUT0'],
      ),
      (err: Error & { code?: string }) =>
        err.code === 'INF_ERR_RUNTIME' && /^onnxruntime failed: Non-zero status/.test(err.message),
    );
    const ok = await simple.run(
      [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(2) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(2) },
      ],
      ['OUTPUT0'],
    );
    assert.equal((ok.outputs[0]?.data as Int32Array)[0], 4);
  });

  it('keeps the event loop responsive while a long run is in progress', async () => {
    const { instance } = await ModelInstance.load('slow', path.join(slowDir, 'slow/1/model.onnx'), OPTIONS);
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const started = performance.now();
      const result = await instance.run(
        [{ name: 'X', datatype: 'FP32', shape: [384, 384], data: new Float32Array(384 * 384).fill(0.5) }],
        ['Y'],
      );
      const elapsed = performance.now() - started;
      clearInterval(timer);
      assert.equal((result.outputs[0]?.data as Float32Array)[1000], 0.5);
      // A blocked loop would record ~0 ticks; a free one ticks most milliseconds of the run.
      assert.ok(elapsed > 20, `the run should take a while (took ${elapsed.toFixed(1)} ms)`);
      assert.ok(ticks >= elapsed / 4, `only ${ticks} timer ticks in ${elapsed.toFixed(1)} ms`);
    } finally {
      await instance.close();
    }
  });

  it('refuses a model file that is not ONNX with the loader reason', async () => {
    await assert.rejects(
      ModelInstance.load('bad', path.join(EXAMPLES_DIR, 'iris/labels.txt'), OPTIONS),
      (err: Error & { code?: string }) => err.code === 'INF_ERR_MODEL_LOAD' && err.message.length > 0,
    );
  });
});

describe('ModelInstance after its worker exits', () => {
  it('replaces the worker with a fresh one holding the same model and serves the next run', async () => {
    const { instance } = await ModelInstance.load('simple', path.join(EXAMPLES_DIR, 'simple/1/model.onnx'), OPTIONS);
    try {
      const inputs = () => [
        { name: 'INPUT0', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16).fill(5) },
        { name: 'INPUT1', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16).fill(2) },
      ];
      // Stands in for a worker that dies between requests (an uncaught error, a resource limit).
      // Terminating it in the middle of session.run would abort the whole process: onnxruntime's
      // native code does not survive its isolate going away, and no test can recover from that.
      await (instance as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      const next = await instance.run(inputs(), ['OUTPUT1']);
      assert.deepEqual(Array.from(next.outputs[0]?.data as Int32Array), new Array<number>(16).fill(3));
      assert.equal(instance.restartCount, 1);
      assert.equal(instance.alive, true);
    } finally {
      await instance.close();
    }
    assert.equal(instance.alive, false);
  });
});
