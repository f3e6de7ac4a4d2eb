import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Datatype, TensorDataMap } from '../../src/tensor/datatype.js';
import { decodeJsonTensorData, MAX_JSON_NESTING } from '../../src/tensor/json-codec.js';
import { assertInferdError } from './expect-inferd-error.js';

const LIMIT = 1 << 20;
const decode = <D extends Datatype>(datatype: D, shape: number[], data: unknown, maxBytes = LIMIT): TensorDataMap[D] =>
  decodeJsonTensorData('INPUT0', datatype, shape, data, maxBytes);
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('decodeJsonTensorData: every datatype', () => {
  it('BOOL from true/false into 0/1 bytes', () => {
    const out = decode('BOOL', [3], [true, false, true]);
    assert.ok(out instanceof Uint8Array);
    assert.deepEqual(Array.from(out), [1, 0, 1]);
  });

  const ints: [Datatype, new (n: number) => ArrayLike<number>, number, number][] = [
    ['UINT8', Uint8Array, 0, 255],
    ['UINT16', Uint16Array, 0, 65535],
    ['UINT32', Uint32Array, 0, 4294967295],
    ['INT8', Int8Array, -128, 127],
    ['INT16', Int16Array, -32768, 32767],
    ['INT32', Int32Array, -2147483648, 2147483647],
  ];
  for (const [datatype, ctor, min, max] of ints) {
    it(`${datatype} accepts its whole range and refuses one past each end`, () => {
      const out = decode(datatype, [4], [min, max, 7, 1.0]);
      assert.ok(out instanceof ctor);
      assert.deepEqual(Array.from(out as ArrayLike<number>), [min, max, 7, 1]);
      assertInferdError(
        () => decode(datatype, [2], [0, max + 1]),
        'INF_ERR_INVALID_ARGUMENT',
        `input 'INPUT0': ${datatype} element 1 is ${max + 1}, out of range [${min}, ${max}]`,
      );
      assertInferdError(
        () => decode(datatype, [1], [min - 1]),
        'INF_ERR_INVALID_ARGUMENT',
        /element 0 is -?\d+, out of range/,
      );
    });

    it(`${datatype} refuses non-integers and non-numbers, naming index and value`, () => {
      assertInferdError(
        () => decode(datatype, [3], [1, 2, 2.5]),
        'INF_ERR_INVALID_ARGUMENT',
        `input 'INPUT0': ${datatype} element 2 must be an integer but got 2.5`,
      );
      assertInferdError(
        () => decode(datatype, [1], ['3']),
        'INF_ERR_INVALID_ARGUMENT',
        /element 0 must be an integer but got "3"$/,
      );
      assertInferdError(() => decode(datatype, [1], [true]), 'INF_ERR_INVALID_ARGUMENT', /but got true$/);
      assertInferdError(() => decode(datatype, [1], [null]), 'INF_ERR_INVALID_ARGUMENT', /but got null$/);
    });
  }

  it('INT64 from numbers, decimal strings and bigints, exact across the whole range', () => {
    const out = decode(
      'INT64',
      [7],
      [
        -1,
        2 ** 40 + 3,
        -(2 ** 52) - 5,
        '9223372036854775807',
        '-9223372036854775808',
        '-9007199254740993',
        12345678901234567890n - 12345678901234567000n,
      ],
    );
    assert.ok(out instanceof BigInt64Array);
    assert.deepEqual(Array.from(out), [
      -1n,
      2n ** 40n + 3n,
      -(2n ** 52n) - 5n,
      9223372036854775807n,
      -9223372036854775808n,
      -9007199254740993n,
      890n,
    ]);
  });

  it('INT64 numbers past 2^53 are taken as the double they are', () => {
    const out = decode('INT64', [2], [2 ** 60, -(2 ** 63)]);
    assert.deepEqual(Array.from(out), [2n ** 60n, -(2n ** 63n)]);
  });

  it('INT64 refuses values past its range, fractional numbers and malformed strings', () => {
    assertInferdError(
      () => decode('INT64', [1], ['9223372036854775808']),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': INT64 element 0 is "9223372036854775808", out of range [-9223372036854775808, 9223372036854775807]`,
    );
    assertInferdError(
      () => decode('INT64', [1], [2 ** 63]),
      'INF_ERR_INVALID_ARGUMENT',
      /element 0 is 9223372036854776000, out of range/,
    );
    assertInferdError(
      () => decode('INT64', [2], [1, 0.5]),
      'INF_ERR_INVALID_ARGUMENT',
      /element 1 must be an integer but got 0\.5$/,
    );
    assertInferdError(
      () => decode('INT64', [1], ['1.5']),
      'INF_ERR_INVALID_ARGUMENT',
      /element 0 must be an integer or a decimal integer string but got "1\.5"$/,
    );
    assertInferdError(() => decode('INT64', [1], [' 1']), 'INF_ERR_INVALID_ARGUMENT', /but got " 1"$/);
    assertInferdError(() => decode('INT64', [1], ['1'.repeat(30)]), 'INF_ERR_INVALID_ARGUMENT', /out of range/);
    assertInferdError(
      () => decode('INT64', [1], [2n ** 63n]),
      'INF_ERR_INVALID_ARGUMENT',
      /element 0 is 9223372036854775808n, out of range/,
    );
  });

  it('UINT64 covers [0, 2^64 - 1] and refuses negatives', () => {
    const out = decode('UINT64', [3], [0, '18446744073709551615', 2 ** 63]);
    assert.ok(out instanceof BigUint64Array);
    assert.deepEqual(Array.from(out), [0n, 18446744073709551615n, 2n ** 63n]);
    assertInferdError(
      () => decode('UINT64', [1], [-1]),
      'INF_ERR_INVALID_ARGUMENT',
      /UINT64 element 0 is -1, out of range \[0, 18446744073709551615\]$/,
    );
    assertInferdError(() => decode('UINT64', [1], [2 ** 64]), 'INF_ERR_INVALID_ARGUMENT', /out of range/);
    assertInferdError(
      () => decode('UINT64', [1], ['18446744073709551616']),
      'INF_ERR_INVALID_ARGUMENT',
      /out of range/,
    );
  });

  it('FP32 rounds to float32 and accepts the non-finite strings', () => {
    const out = decode('FP32', [5], [0.1, -3, 'NaN', 'Infinity', '-Infinity']);
    assert.ok(out instanceof Float32Array);
    assert.equal(out[0], Math.fround(0.1));
    assert.equal(out[1], -3);
    assert.ok(Number.isNaN(out[2]));
    assert.equal(out[3], Infinity);
    assert.equal(out[4], -Infinity);
  });

  it('FP32 refuses finite values that would overflow to Infinity, and non-numbers', () => {
    decode('FP32', [1], [3.4028234663852886e38]);
    assertInferdError(
      () => decode('FP32', [2], [1, 1e39]),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': FP32 element 1 is 1e+39, out of range for FP32 (largest finite 3.4028234663852886e38)`,
    );
    assertInferdError(
      () => decode('FP32', [1], ['1.5']),
      'INF_ERR_INVALID_ARGUMENT',
      /FP32 element 0 must be a number but got "1\.5"$/,
    );
    assertInferdError(() => decode('FP32', [1], [null]), 'INF_ERR_INVALID_ARGUMENT', /must be a number but got null$/);
  });

  it('FP64 keeps doubles exactly', () => {
    const out = decode('FP64', [3], [0.1, 1e300, '-Infinity']);
    assert.ok(out instanceof Float64Array);
    assert.deepEqual(Array.from(out), [0.1, 1e300, -Infinity]);
    assertInferdError(
      () => decode('FP64', [1], [false]),
      'INF_ERR_INVALID_ARGUMENT',
      /FP64 element 0 must be a number but got false$/,
    );
  });

  it('FP16 stores round-to-nearest-even bit patterns', () => {
    const out = decode('FP16', [5], [1, -2, 0.1, 65504, 'NaN']);
    assert.ok(out instanceof Uint16Array);
    assert.deepEqual(Array.from(out.subarray(0, 4)), [0x3c00, 0xc000, 0x2e66, 0x7bff]);
    assert.equal(out[4]! & 0x7c00, 0x7c00);
    assert.notEqual(out[4]! & 0x3ff, 0);
    assertInferdError(
      () => decode('FP16', [1], [70000]),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': FP16 element 0 is 70000, out of range for FP16 (largest finite 65504)`,
    );
    assert.deepEqual(Array.from(decode('FP16', [1], ['-Infinity'])), [0xfc00]);
  });

  it('BF16 stores round-to-nearest-even bit patterns', () => {
    const out = decode('BF16', [3], [1, -2, 1 + 3 * 2 ** -8]);
    assert.deepEqual(Array.from(out), [0x3f80, 0xc000, 0x3f82]);
    assertInferdError(
      () => decode('BF16', [1], [3.4e38]),
      'INF_ERR_INVALID_ARGUMENT',
      /BF16 element 0 is 3\.4e\+38, out of range for BF16/,
    );
  });

  it('BYTES from strings, UTF-8 encoded', () => {
    const out = decode('BYTES', [4], ['abc', '', 'héllo', '😀']);
    assert.equal(out.length, 4);
    assert.deepEqual(out.map(text), ['abc', '', 'héllo', '😀']);
    assert.deepEqual(Array.from(out[3]!), [0xf0, 0x9f, 0x98, 0x80]);
    assert.equal(out[2]!.byteLength, 6);
  });

  it('BYTES refuses non-strings', () => {
    assertInferdError(
      () => decode('BYTES', [2], ['a', 5]),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': BYTES element 1 must be a string but got 5`,
    );
  });

  it('BOOL accepts only true and false, as the spec writes them', () => {
    assertInferdError(
      () => decode('BOOL', [2], [true, 1]),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': BOOL element 1 must be true or false but got 1`,
    );
    assertInferdError(() => decode('BOOL', [1], ['true']), 'INF_ERR_INVALID_ARGUMENT', /but got "true"$/);
  });
});

describe('decodeJsonTensorData: layout', () => {
  it('reads nested data row-major, giving the same result as flat data', () => {
    const flat = decode('INT32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const nested = decode(
      'INT32',
      [2, 3],
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    );
    assert.deepEqual(Array.from(nested), Array.from(flat));
    assert.deepEqual(Array.from(flat), [1, 2, 3, 4, 5, 6]);
  });

  it('accepts any nesting whose leaf count matches the shape', () => {
    const out = decode('FP32', [2, 2], [1, [2, [3]], [[4]]]);
    assert.deepEqual(Array.from(out), [1, 2, 3, 4]);
    const bytes = decode('BYTES', [3], [['a'], [], ['b', ['c']]]);
    assert.deepEqual(bytes.map(text), ['a', 'b', 'c']);
  });

  it('handles the scalar shape [] and empty tensors', () => {
    assert.deepEqual(Array.from(decode('FP64', [], [2.5])), [2.5]);
    assert.equal(decode('FP32', [0, 4], []).length, 0);
    assert.equal(decode('BYTES', [0], []).length, 0);
  });

  it('refuses a flat array with the wrong element count', () => {
    assertInferdError(
      () => decode('FP32', [2, 16], new Array<number>(31).fill(0)),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': expected 32 elements for shape [2,16] but got 31`,
    );
    assertInferdError(
      () => decode('FP32', [2], [1, 2, 3]),
      'INF_ERR_INVALID_ARGUMENT',
      /expected 2 elements for shape \[2\] but got 3$/,
    );
  });

  it('refuses nested data with too few or too many leaves, counting them all', () => {
    assertInferdError(
      () => decode('INT8', [2, 2], [[1, 2], [3]]),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': expected 4 elements for shape [2,2] but got 3`,
    );
    assertInferdError(
      () =>
        decode(
          'INT8',
          [2, 2],
          [
            [1, 2],
            [3, 4],
            [5, 6, 7],
          ],
        ),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': expected 4 elements for shape [2,2] but got 7`,
    );
  });

  it('requires data to be an array, even for a scalar', () => {
    assertInferdError(
      () => decode('FP32', [], 1.5),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': data must be an array but got 1.5`,
    );
    assertInferdError(
      () => decode('FP32', [1], { 0: 1 }),
      'INF_ERR_INVALID_ARGUMENT',
      /data must be an array but got an object$/,
    );
    assertInferdError(() => decode('FP32', [1], undefined), 'INF_ERR_INVALID_ARGUMENT', /but got undefined$/);
  });

  it(`refuses data nested deeper than ${MAX_JSON_NESTING} levels`, () => {
    let deep: unknown = [1];
    for (let i = 0; i < MAX_JSON_NESTING; i++) deep = [deep];
    assertInferdError(
      () => decode('FP32', [1], deep),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': data is nested more than ${MAX_JSON_NESTING} levels deep`,
    );
    let ok: unknown = [1];
    for (let i = 0; i < MAX_JSON_NESTING - 2; i++) ok = [ok];
    assert.deepEqual(Array.from(decode('FP32', [1], ok)), [1]);
  });

  it('gives fixed-width results their own ArrayBuffer, so they can be transferred', () => {
    const out = decode('FP32', [3], [1, 2, 3]);
    assert.equal(out.byteOffset, 0);
    assert.equal(out.buffer.byteLength, out.byteLength);
  });
});

describe('decodeJsonTensorData: limits', () => {
  it('refuses a [1e6,1e6,1e6] FP32 tensor against 64 MB at once, before looking at the data', () => {
    const start = process.hrtime.bigint();
    assertInferdError(
      () => decode('FP32', [1e6, 1e6, 1e6], [1, 2, 3], 64 * 1024 * 1024),
      'INF_ERR_TENSOR_TOO_LARGE',
      /^input 'INPUT0': FP32 tensor of shape \[1000000,1000000,1000000\] needs about 4\.00e\+18 bytes/,
    );
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 50);
  });

  it('checks the limit before the element count', () => {
    assertInferdError(
      () => decode('FP64', [4], [1], 31),
      'INF_ERR_TENSOR_TOO_LARGE',
      /needs 32 bytes, over the limit of 31 bytes$/,
    );
  });

  it('refuses BYTES whose UTF-8 size plus length prefixes exceeds the limit', () => {
    decode('BYTES', [2], ['abc', 'é'], 13); // 4 + 3 + 4 + 2
    assertInferdError(
      () => decode('BYTES', [2], ['abc', 'é'], 12),
      'INF_ERR_TENSOR_TOO_LARGE',
      `input 'INPUT0': BYTES tensor of shape [2] needs 13 bytes, over the limit of 12 bytes`,
    );
  });
});
