import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  byteSizeOf,
  checkTensorLimits,
  formatShape,
  MAX_RANK,
  safeElementCount,
  validateShape,
} from '../../src/tensor/shape.js';
import { assertInferdError } from './expect-inferd-error.js';

describe('validateShape', () => {
  it('accepts arrays of non-negative integers, including the scalar shape []', () => {
    assert.deepEqual(validateShape('IN', [2, 16]), [2, 16]);
    assert.deepEqual(validateShape('IN', []), []);
    assert.deepEqual(validateShape('IN', [0, 3]), [0, 3]);
  });

  it('returns the same array without copying', () => {
    const shape = [1, 2, 3];
    assert.equal(validateShape('IN', shape), shape);
  });

  it('refuses a non-array and echoes it', () => {
    assertInferdError(
      () => validateShape('INPUT0', '2,16'),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': shape must be an array of non-negative integers but got "2,16"`,
    );
    assertInferdError(() => validateShape('INPUT0', null), 'INF_ERR_INVALID_ARGUMENT', /but got null$/);
    assertInferdError(() => validateShape('INPUT0', { 0: 2 }), 'INF_ERR_INVALID_ARGUMENT', /but got an object$/);
  });

  it('refuses negative dimensions, naming the position and value', () => {
    assertInferdError(
      () => validateShape('INPUT0', [2, -1]),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': shape[1] must be a non-negative integer but got -1`,
    );
  });

  it('refuses non-integers, strings, NaN and unsafe integers', () => {
    assertInferdError(() => validateShape('X', [1.5]), 'INF_ERR_INVALID_ARGUMENT', /shape\[0\] .* but got 1\.5$/);
    assertInferdError(() => validateShape('X', [1, '2']), 'INF_ERR_INVALID_ARGUMENT', /shape\[1\] .* but got "2"$/);
    assertInferdError(() => validateShape('X', [NaN]), 'INF_ERR_INVALID_ARGUMENT', /but got NaN$/);
    assertInferdError(() => validateShape('X', [2 ** 53]), 'INF_ERR_INVALID_ARGUMENT', /but got 9007199254740992$/);
    assertInferdError(() => validateShape('X', [[2]]), 'INF_ERR_INVALID_ARGUMENT', /but got an array of 1$/);
  });

  it(`refuses a rank above ${MAX_RANK}`, () => {
    validateShape('X', new Array<number>(MAX_RANK).fill(1));
    assertInferdError(
      () => validateShape('X', new Array<number>(MAX_RANK + 1).fill(1)),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'X': shape has rank ${MAX_RANK + 1}, more than the maximum of ${MAX_RANK}`,
    );
  });
});

describe('byteSizeOf', () => {
  it('multiplies element count by element size', () => {
    assert.equal(byteSizeOf('FP32', [2, 16]), 128);
    assert.equal(byteSizeOf('BOOL', [3]), 3);
    assert.equal(byteSizeOf('INT64', []), 8);
    assert.equal(byteSizeOf('FP16', [0, 5]), 0);
  });

  it('treats a zero dimension as zero elements however large the others are', () => {
    assert.equal(byteSizeOf('FP64', [2 ** 52, 2 ** 52, 0]), 0);
    assert.equal(safeElementCount([2 ** 52, 2 ** 52, 0]), 0);
  });

  it('counts elements exactly up to 2^53 - 1 and reports anything larger as Infinity', () => {
    assert.equal(safeElementCount([]), 1);
    assert.equal(safeElementCount([2 ** 53 - 1]), 2 ** 53 - 1);
    assert.equal(safeElementCount([2 ** 26, 2 ** 27]), Infinity);
    assert.equal(safeElementCount([2 ** 30, 2 ** 30]), Infinity);
  });

  it('refuses sizes beyond 2^53 instead of returning an inexact number', () => {
    assertInferdError(
      () => byteSizeOf('FP32', [1e6, 1e6, 1e6], 'BIG'),
      'INF_ERR_TENSOR_TOO_LARGE',
      `input 'BIG': FP32 tensor of shape [1000000,1000000,1000000] needs about 4.00e+18 bytes (more than 2^53), ` +
        'more than can be counted exactly',
    );
    assertInferdError(() => byteSizeOf('INT64', [2 ** 51]), 'INF_ERR_TENSOR_TOO_LARGE', /2\^53/);
    assert.equal(byteSizeOf('UINT8', [2 ** 52]), 2 ** 52);
  });
});

describe('checkTensorLimits', () => {
  const MB64 = 64 * 1024 * 1024;

  it('returns the byte size when it is within the limit', () => {
    assert.equal(checkTensorLimits('X', 'FP32', [4, 4], 64), 64);
    assert.equal(checkTensorLimits('X', 'BYTES', [3], 100), 12);
  });

  it('refuses a tensor one byte over the limit, naming size and limit', () => {
    assertInferdError(
      () => checkTensorLimits('INPUT0', 'FP32', [4, 4], 63),
      'INF_ERR_TENSOR_TOO_LARGE',
      `input 'INPUT0': FP32 tensor of shape [4,4] needs 64 bytes, over the limit of 63 bytes`,
    );
  });

  it('refuses a [1e6,1e6,1e6] FP32 shape quickly, by arithmetic alone', () => {
    const start = process.hrtime.bigint();
    assertInferdError(
      () => checkTensorLimits('HUGE', 'FP32', [1e6, 1e6, 1e6], MB64),
      'INF_ERR_TENSOR_TOO_LARGE',
      `input 'HUGE': FP32 tensor of shape [1000000,1000000,1000000] needs about 4.00e+18 bytes (more than 2^53), ` +
        'over the limit of 67108864 bytes',
    );
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 50, `took ${ms} ms`);
  });

  it('reports shapes whose size cannot be counted exactly', () => {
    assertInferdError(
      () => checkTensorLimits('X', 'FP64', new Array<number>(16).fill(2 ** 52), MB64),
      'INF_ERR_TENSOR_TOO_LARGE',
      /needs about 2\.29e\+251 bytes \(more than 2\^53\), over the limit of 67108864 bytes$/,
    );
    // Past double range (only reachable with an unvalidated rank), the message still holds.
    assertInferdError(
      () => checkTensorLimits('X', 'FP64', new Array<number>(24).fill(2 ** 52), MB64),
      'INF_ERR_TENSOR_TOO_LARGE',
      /needs more than 2\^53 bytes, over the limit of 67108864 bytes$/,
    );
  });

  it('bounds BYTES by the 4-byte length prefix of each element', () => {
    assertInferdError(
      () => checkTensorLimits('S', 'BYTES', [100], 399),
      'INF_ERR_TENSOR_TOO_LARGE',
      `input 'S': BYTES tensor of shape [100] needs at least 400 bytes, over the limit of 399 bytes`,
    );
  });
});

describe('formatShape', () => {
  it('renders shapes without spaces', () => {
    assert.equal(formatShape([2, 16]), '[2,16]');
    assert.equal(formatShape([]), '[]');
  });
});
