// Merging along the batch dimension and splitting back: every request's rows, in order, for
// multi-dimensional and BYTES tensors, and a clear error when a model drops the batch dimension.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { batchKey, mergeInputs, splitOutputs } from '../../src/scheduler/batch-formation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

function req(inputs: Tensor[], outputNames = ['Y']): InferRequest {
  return {
    requestId: 'r',
    inputs,
    outputNames,
    batchSize: inputs[0]?.shape[0] ?? 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: 0n,
  };
}
const enc = (s: string) => new TextEncoder().encode(s);

describe('batch formation', () => {
  it('keys requests by everything but the batch dimension', () => {
    const a = req([{ name: 'X', datatype: 'FP32', shape: [1, 2, 3], data: new Float32Array(6) }]);
    const b = req([{ name: 'X', datatype: 'FP32', shape: [5, 2, 3], data: new Float32Array(30) }]);
    const c = req([{ name: 'X', datatype: 'FP32', shape: [1, 3, 2], data: new Float32Array(6) }]);
    const d = req([{ name: 'X', datatype: 'FP64', shape: [1, 2, 3], data: new Float64Array(6) }]);
    const e = req([{ name: 'X', datatype: 'FP32', shape: [1, 2, 3], data: new Float32Array(6) }], ['Y', 'Z']);
    assert.equal(batchKey(a), batchKey(b));
    assert.notEqual(batchKey(a), batchKey(c));
    assert.notEqual(batchKey(a), batchKey(d));
    assert.notEqual(batchKey(a), batchKey(e));
  });

  it('merges rank-3 inputs and splits rank-3 outputs back row for row', () => {
    const a = Int16Array.from({ length: 6 }, (_, i) => i);
    const b = Int16Array.from({ length: 12 }, (_, i) => 100 + i);
    const [merged] = mergeInputs([
      req([{ name: 'X', datatype: 'INT16', shape: [1, 2, 3], data: a }]),
      req([{ name: 'X', datatype: 'INT16', shape: [2, 2, 3], data: b }]),
    ]);
    assert.deepEqual(merged?.shape, [3, 2, 3]);
    assert.deepEqual(Array.from(merged?.data as Int16Array), [...a, ...b]);
    const parts = splitOutputs(
      [{ name: 'Y', datatype: 'INT16', shape: [3, 2, 3], data: merged.data as Int16Array }],
      [1, 2],
    );
    assert.deepEqual(parts[0]?.[0]?.shape, [1, 2, 3]);
    assert.deepEqual(Array.from(parts[0]?.[0]?.data as Int16Array), [...a]);
    assert.deepEqual(parts[1]?.[0]?.shape, [2, 2, 3]);
    assert.deepEqual(Array.from(parts[1]?.[0]?.data as Int16Array), [...b]);
  });

  it('merges and splits BYTES elements', () => {
    const [merged] = mergeInputs([
      req([{ name: 'S', datatype: 'BYTES', shape: [1, 2], data: [enc('a'), enc('b')] }]),
      req([{ name: 'S', datatype: 'BYTES', shape: [1, 2], data: [enc('c'), enc('d')] }]),
    ]);
    assert.deepEqual(merged?.shape, [2, 2]);
    const parts = splitOutputs([{ ...merged, name: 'Y' }], [1, 1]);
    assert.deepEqual(
      parts.map((p) => (p[0]?.data as Uint8Array[]).map((x) => new TextDecoder().decode(x))),
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    );
  });

  it('refuses to split an output whose first dimension is not the batch', () => {
    assert.throws(
      () => splitOutputs([{ name: 'Y', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }], [1, 2]),
      /output 'Y' has shape \[1,5\]; a batched model must return the batch of 3 first/,
    );
  });
});
