import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Datatype, TensorData } from '../../src/tensor/datatype.js';
import { decodeNpy, encodeNpy } from '../../src/tensor/npy.js';
import { assertInferdError } from './expect-inferd-error.js';

/** Builds a .npy file the way numpy.lib.format writes one, independently of encodeNpy. */
function npyFile(dict: string, body: Uint8Array, major = 1): Uint8Array {
  const preamble = major === 1 ? 10 : 12;
  const total = Math.ceil((preamble + dict.length + 1) / 64) * 64;
  const header = Buffer.from(dict.padEnd(total - preamble - 1, ' ') + '\n', major === 3 ? 'utf8' : 'latin1');
  const out = new Uint8Array(preamble + header.byteLength + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.byteLength, true);
  else view.setUint32(8, header.byteLength, true);
  out.set(header, preamble);
  out.set(body, preamble + header.byteLength);
  return out;
}

const dict = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
const bytesOf = (typed: ArrayBufferView) => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('decodeNpy', () => {
  const numeric: [string, Datatype, ArrayBufferView & ArrayLike<number | bigint>][] = [
    ['<f4', 'FP32', new Float32Array([0, 1.5, -2, 0.25, 8, 1e-3])],
    ['<f8', 'FP64', new Float64Array([0.1, 1e300, -0, 5, 6, 7])],
    ['<f2', 'FP16', new Uint16Array([0x3c00, 0xc000, 0x7c00, 0, 1, 2])],
    ['|i1', 'INT8', new Int8Array([-128, 127, 0, 1, 2, 3])],
    ['<i2', 'INT16', new Int16Array([-32768, 32767, 0, 1, 2, 3])],
    ['<i4', 'INT32', new Int32Array([-2147483648, 2147483647, 0, 1, 2, 3])],
    ['<i8', 'INT64', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n, 2n, 3n])],
    ['|u1', 'UINT8', new Uint8Array([0, 255, 1, 2, 3, 4])],
    ['<u2', 'UINT16', new Uint16Array([0, 65535, 1, 2, 3, 4])],
    ['<u4', 'UINT32', new Uint32Array([0, 4294967295, 1, 2, 3, 4])],
    ['<u8', 'UINT64', new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n, 3n, 4n])],
    ['|b1', 'BOOL', new Uint8Array([1, 0, 0, 1, 1, 1])],
  ];
  for (const [descr, datatype, values] of numeric) {
    it(`reads '${descr}' as ${datatype}`, () => {
      const array = decodeNpy(npyFile(dict(descr, '(2, 3)'), bytesOf(values)));
      assert.equal(array.datatype, datatype);
      assert.deepEqual(array.shape, [2, 3]);
      assert.deepEqual(Array.from(array.data as ArrayLike<number | bigint>), Array.from(values));
    });
  }

  it('reads unicode arrays as UTF-8 BYTES, dropping the NUL padding', () => {
    const codePoints = new Uint32Array([0x61, 0x62, 0, 0x68, 0xe9, 0xe9, 0, 0, 0, 0x1f600, 0x78, 0]);
    const array = decodeNpy(npyFile(dict('<U3', '(4,)'), bytesOf(codePoints)));
    assert.equal(array.datatype, 'BYTES');
    assert.deepEqual(array.shape, [4]);
    assert.deepEqual(array.data.map(text), ['ab', 'héé', '', '😀x']);
  });

  it('reads bytes arrays as BYTES, dropping trailing NULs only', () => {
    const body = new Uint8Array([0x61, 0x62, 0x00, 0x78, 0x00, 0x00]);
    const array = decodeNpy(npyFile(dict('|S2', '(3,)'), body));
    assert.deepEqual(
      (array.data as Uint8Array[]).map((b) => Array.from(b)),
      [[0x61, 0x62], [0x00, 0x78], []],
    );
  });

  it('reads scalars, empty arrays and Python 2 style long dimensions', () => {
    const scalar = decodeNpy(npyFile(dict('<f8', '()'), bytesOf(new Float64Array([2.5]))));
    assert.deepEqual(scalar.shape, []);
    assert.deepEqual(Array.from(scalar.data as Float64Array), [2.5]);
    assert.deepEqual(decodeNpy(npyFile(dict('<f4', '(0, 3)'), new Uint8Array(0))).shape, [0, 3]);
    assert.deepEqual(decodeNpy(npyFile(dict('<i4', '(2L,)'), new Uint8Array(8))).shape, [2]);
  });

  it('reads format versions 2.0 and 3.0', () => {
    const body = bytesOf(new Int32Array([1, 2, 3]));
    for (const major of [2, 3]) {
      const array = decodeNpy(npyFile(dict('<i4', '(3,)'), body, major));
      assert.deepEqual(Array.from(array.data as Int32Array), [1, 2, 3]);
    }
  });

  it('returns data that owns its memory even when the file buffer is unaligned', () => {
    const file = npyFile(dict('<f4', '(2,)'), bytesOf(new Float32Array([1, 2])));
    const shifted = new Uint8Array(file.byteLength + 1);
    shifted.set(file, 1);
    const array = decodeNpy(shifted.subarray(1));
    assert.deepEqual(Array.from(array.data as Float32Array), [1, 2]);
    assert.notEqual((array.data as Float32Array).buffer, shifted.buffer);
  });

  it('refuses Fortran-ordered arrays', () => {
    assertInferdError(
      () => decodeNpy(npyFile(dict('<f4', '(2, 3)', 'True'), new Uint8Array(24)), 'x.npy'),
      'INF_ERR_UNSUPPORTED',
      "npy 'x.npy': fortran_order True is not supported; save a C-ordered array (np.ascontiguousarray)",
    );
  });

  it('refuses big-endian, object and structured dtypes', () => {
    assertInferdError(
      () => decodeNpy(npyFile(dict('>f4', '(1,)'), new Uint8Array(4)), 'be.npy'),
      'INF_ERR_UNSUPPORTED',
      "npy 'be.npy': big-endian dtype '>f4' is not supported; save it as '<f4'",
    );
    assertInferdError(
      () => decodeNpy(npyFile(dict('|O', '(1,)'), new Uint8Array(8))),
      'INF_ERR_UNSUPPORTED',
      /dtype '\|O' is not supported$/,
    );
    const structured = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
    assertInferdError(
      () => decodeNpy(npyFile(structured, new Uint8Array(4))),
      'INF_ERR_UNSUPPORTED',
      /structured dtypes/,
    );
  });

  it('refuses files that are not .npy or are cut short', () => {
    assertInferdError(
      () => decodeNpy(new Uint8Array([1, 2, 3]), 'a.txt'),
      'INF_ERR_INVALID_ARGUMENT',
      /npy 'a\.txt': not a \.npy file/,
    );
    const file = npyFile(dict('<f4', '(4,)'), new Uint8Array(12));
    assertInferdError(
      () => decodeNpy(file, 'short.npy'),
      'INF_ERR_INVALID_ARGUMENT',
      /expected 16 bytes of FP32 data for shape \[4\] but got 12$/,
    );
    assertInferdError(
      () => decodeNpy(file.subarray(0, 40), 'cut.npy'),
      'INF_ERR_INVALID_ARGUMENT',
      /file ends inside the header/,
    );
    assertInferdError(
      () => decodeNpy(npyFile(dict('<U2', '(2,)'), new Uint8Array(12))),
      'INF_ERR_INVALID_ARGUMENT',
      /expected 16 bytes of data for shape \[2\] but got 12$/,
    );
    assertInferdError(
      () => decodeNpy(npyFile(dict('<f4', '(-1,)'), new Uint8Array(0))),
      'INF_ERR_INVALID_ARGUMENT',
      /shape entry "-1" is not a non-negative integer/,
    );
  });

  it('refuses an unknown format version', () => {
    const file = npyFile(dict('<f4', '(1,)'), new Uint8Array(4));
    file[6] = 4;
    assertInferdError(() => decodeNpy(file), 'INF_ERR_UNSUPPORTED', /format version 4\.0 is not supported/);
  });
});

describe('encodeNpy', () => {
  it('writes the header exactly as numpy does, data on a 64-byte boundary', () => {
    const file = encodeNpy('FP32', [2, 3], new Float32Array(6));
    const expected = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117, ' ') + '\n';
    assert.deepEqual(Array.from(file.subarray(0, 10)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    assert.equal(Buffer.from(file.subarray(10, 128)).toString('latin1'), expected);
    assert.equal(file.byteLength, 128 + 24);
    assert.match(Buffer.from(encodeNpy('INT8', [3], new Int8Array(3))).toString('latin1'), /'shape': \(3,\), }/);
    assert.match(Buffer.from(encodeNpy('FP64', [], new Float64Array(1))).toString('latin1'), /'shape': \(\), }/);
  });

  const samples: [Datatype, number[], TensorData][] = [
    ['BOOL', [2], new Uint8Array([1, 0])],
    ['UINT8', [2], new Uint8Array([0, 255])],
    ['UINT16', [2], new Uint16Array([0, 65535])],
    ['UINT32', [2], new Uint32Array([0, 4294967295])],
    ['UINT64', [2], new BigUint64Array([0n, 2n ** 64n - 1n])],
    ['INT8', [2], new Int8Array([-128, 127])],
    ['INT16', [2], new Int16Array([-32768, 32767])],
    ['INT32', [1, 2], new Int32Array([-2147483648, 2147483647])],
    ['INT64', [2, 1], new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
    ['FP16', [2], new Uint16Array([0x3c00, 0x7e00])],
    ['FP32', [2], new Float32Array([1.5, -Infinity])],
    ['FP64', [], new Float64Array([0.1])],
  ];
  for (const [datatype, shape, data] of samples) {
    it(`round-trips ${datatype}`, () => {
      const back = decodeNpy(encodeNpy(datatype, shape, data));
      assert.equal(back.datatype, datatype);
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(back.data, data);
    });
  }

  it('widens BF16 to float32, exactly', () => {
    const back = decodeNpy(encodeNpy('BF16', [3], new Uint16Array([0x3f80, 0xc000, 0x3e80])));
    assert.equal(back.datatype, 'FP32');
    assert.deepEqual(Array.from(back.data), [1, -2, 0.25]);
  });

  it('writes UTF-8 BYTES as a unicode array and other BYTES as a bytes array', () => {
    const utf8 = [Buffer.from('héé'), Buffer.from(''), Buffer.from('😀')].map((b) => new Uint8Array(b));
    const textFile = encodeNpy('BYTES', [3], utf8);
    assert.match(Buffer.from(textFile).toString('latin1'), /'descr': '<U3'/);
    assert.deepEqual((decodeNpy(textFile).data as Uint8Array[]).map(text), ['héé', '', '😀']);

    const binary = [new Uint8Array([0xff, 0x01]), new Uint8Array([0x61])];
    const binaryFile = encodeNpy('BYTES', [2], binary);
    assert.match(Buffer.from(binaryFile).toString('latin1'), /'descr': '\|S2'/);
    assert.deepEqual(
      (decodeNpy(binaryFile).data as Uint8Array[]).map((b) => Array.from(b)),
      [[0xff, 0x01], [0x61]],
    );
  });

  it('refuses data whose length does not match the shape', () => {
    assertInferdError(
      () => encodeNpy('FP32', [2, 2], new Float32Array(3)),
      'INF_ERR_INVALID_ARGUMENT',
      'npy: shape [2,2] holds 4 elements but the FP32 data has 3',
    );
  });
});
