// An inline instance runs the session on the calling thread with the same results, timings and
// error mapping as a worker instance.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InlineInstance } from '../../src/runtime/index.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

describe('InlineInstance', () => {
  it('computes exact outputs and reports per-phase timings', async () => {
    const { instance, metadata } = await InlineInstance.load(
      'simple',
      path.join(EXAMPLES_DIR, 'simple/1/model.onnx'),
      OPTIONS,
    );
    try {
      assert.deepEqual(
        metadata.outputs.map((m) => m.name),
        ['OUTPUT0', 'OUTPUT1'],
      );
      const a = Int32Array.from({ length: 16 }, (_, i) => i * 10);
      const b = Int32Array.from({ length: 16 }, (_, i) => i);
      const r = await instance.run(
        [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: b },
        ],
        ['OUTPUT0', 'OUTPUT1'],
      );
      assert.deepEqual(
        Array.from(r.outputs[0]?.data as Int32Array),
        Array.from({ length: 16 }, (_, i) => i * 11),
      );
      assert.deepEqual(
        Array.from(r.outputs[1]?.data as Int32Array),
        Array.from({ length: 16 }, (_, i) => i * 9),
      );
      // Nothing is transferred: the caller's arrays stay usable.
      assert.equal(a.length, 16);
      assert.ok(r.timings.computeInferNs > 0);
    } finally {
      await instance.close();
    }
    assert.equal(instance.alive, false);
    await assert.rejects(
      instance.run([], ['OUTPUT0']),
      (err: Error & { code?: string }) => err.code === 'INF_ERR_UNAVAILABLE',
    );
  });

  it('maps refused inputs to INF_ERR_INVALID_ARGUMENT and load failures to INF_ERR_MODEL_LOAD', async () => {
    const { instance } = await InlineInstance.load('simple', path.join(EXAMPLES_DIR, 'simple/1/model.onnx'), OPTIONS);
    try {
      await assert.rejects(
        instance.run(
          [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16) },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 15], data: new Int32Array(15) },
          ],
          ['OUTPUT0'],
        ),
        (err: Error & { code?: string }) =>
          err.code === 'INF_ERR_INVALID_ARGUMENT' && /refused the inputs/.test(err.message),
      );
    } finally {
      await instance.close();
    }
    await assert.rejects(
      InlineInstance.load('bad', path.join(EXAMPLES_DIR, 'iris/labels.txt'), OPTIONS),
      (err: Error & { code?: string }) => err.code === 'INF_ERR_MODEL_LOAD',
    );
  });
});
