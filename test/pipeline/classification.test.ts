// Classification returns the top k per batch row as "value:index[:label]", formatted as Triton
// formats it (C++ std::to_string), in a consistent order even with NaN and infinities.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../src/pipeline/classification.js';

const text = (data: Uint8Array[]) => data.map((d) => Buffer.from(d).toString('utf8'));

describe('classify', () => {
  it('takes the top k of each batch row, highest first, ties to the lower index, with labels', () => {
    const out = classify(
      { name: 'p', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]) },
      2,
      true,
      ['a', 'b', 'c'],
    );
    assert.deepEqual(out.shape, [2, 2]);
    assert.deepEqual(text(out.data), ['0.700000:1:b', '0.200000:2:c', '0.500000:0:a', '0.250000:1:b']);
  });

  it('writes inf, -inf and nan as std::to_string does, and ranks NaN last', () => {
    const out = classify(
      { name: 'p', datatype: 'FP64', shape: [4], data: Float64Array.from([NaN, -Infinity, Infinity, 1]) },
      4,
      false,
      undefined,
    );
    assert.deepEqual(out.shape, [4]);
    assert.deepEqual(text(out.data), ['inf:2', '1.000000:3', '-inf:1', 'nan:0']);
  });

  it('refuses BYTES outputs and a count below 1', () => {
    assert.throws(
      () => classify({ name: 's', datatype: 'BYTES', shape: [1], data: [new Uint8Array(1)] }, 1, false, undefined),
      /cannot be classified/,
    );
    assert.throws(
      () => classify({ name: 'p', datatype: 'FP32', shape: [1], data: new Float32Array(1) }, 0, false, undefined),
      /positive integer/,
    );
  });
});
