import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  binaryByteSize,
  decodeBinaryTensorData,
  encodeBinaryTensorData,
  writeBinaryTensorData,
} from '../../src/tensor/binary-codec.js';
import type { Datatype, TensorData } from '../../src/tensor/datatype.js';
import { assertInferdError } from './expect-inferd-error.js';

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

const FIXED: { datatype: Datatype; data: TensorData }[] = [
  { datatype: 'BOOL', data: new Uint8Array([1, 0, 1]) },
  { datatype: 'UINT8', data: new Uint8Array([0, 255, 7]) },
  { datatype: 'UINT16', data: new Uint16Array([0, 65535, 258]) },
  { datatype: 'UINT32', data: new Uint32Array([0, 4294967295, 7]) },
  { datatype: 'UINT64', data: new BigUint64Array([0n, 18446744073709551615n, 7n]) },
  { datatype: 'INT8', data: new Int8Array([-128, 127, 0]) },
  { datatype: 'INT16', data: new Int16Array([-32768, 32767, 0]) },
  { datatype: 'INT32', data: new Int32Array([-2147483648, 2147483647, 0]) },
  { datatype: 'INT64', data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n]) },
  { datatype: 'FP16', data: new Uint16Array([0x3c00, 0x7e00, 0x0001]) },
  { datatype: 'FP32', data: new Float32Array([1.5, NaN, -Infinity]) },
  { datatype: 'FP64', data: new Float64Array([0.1, -0, 1e-310]) },
  { datatype: 'BF16', data: new Uint16Array([0x3f80, 0xff80, 0x0001]) },
];

describe('fixed-width binary tensors', () => {
  for (const { datatype, data } of FIXED) {
    it(`${datatype}: round-trips, also from an odd offset`, () => {
      const bytes = encodeBinaryTensorData(datatype, data);
      assert.equal(bytes.byteLength, binaryByteSize(datatype, data));
      assert.deepEqual(decodeBinaryTensorData('IN', datatype, [3], bytes), data);
      // The same bytes one past the start of a larger buffer, as inside a request body.
      const body = new Uint8Array(bytes.byteLength + 1);
      body.set(bytes, 1);
      const decoded = decodeBinaryTensorData('IN', datatype, [3], body.subarray(1)) as Exclude<
        TensorData,
        Uint8Array[]
      >;
      assert.deepEqual(decoded, data);
      const size = bytes.byteLength / 3;
      assert.equal(decoded.byteOffset % size, 0);
    });
  }

  it('is little-endian, row-major, without padding', () => {
    assert.deepEqual(Array.from(encodeBinaryTensorData('FP32', new Float32Array([1]))), [0, 0, 0x80, 0x3f]);
    assert.deepEqual(Array.from(encodeBinaryTensorData('UINT16', new Uint16Array([0x0102, 3]))), [2, 1, 3, 0]);
    assert.deepEqual(
      Array.from(decodeBinaryTensorData('IN', 'INT32', [2], new Uint8Array([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]))),
      [1, -2],
    );
  });

  it('refuses data that is not exactly the byte size of the shape', () => {
    assertInferdError(
      () => decodeBinaryTensorData('INPUT0', 'FP32', [4, 4], new Uint8Array(60)),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'INPUT0': expected 64 bytes of FP32 data for shape [4,4] but got 60`,
    );
    assertInferdError(
      () => decodeBinaryTensorData('X', 'INT64', [1], new Uint8Array(9)),
      'INF_ERR_INVALID_ARGUMENT',
      /expected 8 bytes .* but got 9$/,
    );
  });

  it('refuses a huge shape by arithmetic, without allocating', () => {
    const start = process.hrtime.bigint();
    assertInferdError(
      () => decodeBinaryTensorData('X', 'FP32', [1e6, 1e6, 1e6], new Uint8Array(16)),
      'INF_ERR_TENSOR_TOO_LARGE',
      /input 'X': FP32 tensor of shape \[1000000,1000000,1000000\]/,
    );
    assertInferdError(
      () => decodeBinaryTensorData('X', 'FP32', [2 ** 40], new Uint8Array(16)),
      'INF_ERR_INVALID_ARGUMENT',
      /expected 4398046511104 bytes/,
    );
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 50);
  });

  it('returns a view of aligned input and a copy of unaligned input', () => {
    const body = new Uint8Array(9);
    const aligned = decodeBinaryTensorData('X', 'FP32', [2], body.subarray(0, 8));
    const unaligned = decodeBinaryTensorData('X', 'FP32', [2], body.subarray(1, 9));
    body.set([0, 0, 0x80, 0x3f], 0);
    assert.equal(aligned[0], 1, 'the view sees later writes to the body');
    assert.equal(aligned.buffer, body.buffer);
    assert.notEqual(unaligned.buffer, body.buffer);
    assert.equal(unaligned[0], 0);
  });

  it('copies into memory of its own when asked', () => {
    const body = new Float32Array([1, 2]);
    const copy = decodeBinaryTensorData('X', 'FP32', [2], new Uint8Array(body.buffer), { copy: true });
    body[0] = 9;
    assert.equal(copy[0], 1);
    assert.equal(copy.buffer.byteLength, 8);
  });

  it('refuses BOOL bytes other than 0 and 1', () => {
    assertInferdError(
      () => decodeBinaryTensorData('MASK', 'BOOL', [3], new Uint8Array([1, 0, 2])),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'MASK': BOOL element 2 must be 0 or 1 but got 2`,
    );
  });

  it('encodes fixed-width data as a view of the same memory', () => {
    const data = new Int32Array(new ArrayBuffer(16), 4, 2);
    const bytes = encodeBinaryTensorData('INT32', data);
    assert.equal(bytes.buffer, data.buffer);
    assert.equal(bytes.byteOffset, 4);
    assert.equal(bytes.byteLength, 8);
  });
});

describe('BYTES binary framing', () => {
  const elements = [utf8('a'), utf8(''), utf8('héllo')];
  const framed = [1, 0, 0, 0, 0x61, 0, 0, 0, 0, 6, 0, 0, 0, ...utf8('héllo')];

  it('writes each element as a 4-byte little-endian length and its bytes', () => {
    assert.deepEqual(Array.from(encodeBinaryTensorData('BYTES', elements)), framed);
    assert.equal(binaryByteSize('BYTES', elements), framed.length);
  });

  it('reads the framing back, also from an odd offset', () => {
    const body = new Uint8Array(framed.length + 3);
    body.set(framed, 3);
    const decoded = decodeBinaryTensorData('IN', 'BYTES', [3], body.subarray(3));
    assert.deepEqual(
      decoded.map((b) => Buffer.from(b).toString()),
      ['a', '', 'héllo'],
    );
  });

  it('returns views of the input unless asked to copy', () => {
    const bytes = new Uint8Array(framed);
    const views = decodeBinaryTensorData('IN', 'BYTES', [3], bytes);
    const copies = decodeBinaryTensorData('IN', 'BYTES', [3], bytes, { copy: true });
    bytes[4] = 0x62;
    assert.equal(Buffer.from(views[0]!).toString(), 'b');
    assert.equal(Buffer.from(copies[0]!).toString(), 'a');
  });

  it('refuses a length that runs past the end', () => {
    const bytes = new Uint8Array([1, 0, 0, 0, 0x61, 100, 0, 0, 0, 0x62]);
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [2], bytes),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'TEXT': BYTES element 1 declares length 100 at byte offset 5, past the end of the 10-byte data`,
    );
    const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0]);
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [1], huge),
      'INF_ERR_INVALID_ARGUMENT',
      /declares length 4294967295 at byte offset 0/,
    );
  });

  it('refuses a length that overruns the end by a single byte', () => {
    decodeBinaryTensorData('TEXT', 'BYTES', [1], new Uint8Array([2, 0, 0, 0, 0x61, 0x62]));
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [1], new Uint8Array([3, 0, 0, 0, 0x61, 0x62])),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'TEXT': BYTES element 0 declares length 3 at byte offset 0, past the end of the 6-byte data`,
    );
  });

  it('refuses a truncated length prefix', () => {
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [2], new Uint8Array([1, 0, 0, 0, 0x61, 1, 0])),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'TEXT': BYTES element 1 has a truncated length prefix at byte offset 5 of 7-byte data`,
    );
  });

  it('refuses fewer elements than the shape holds', () => {
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [2, 2], new Uint8Array(framed)),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'TEXT': expected 4 BYTES elements for shape [2,2] but got 3`,
    );
  });

  it('refuses bytes left over after the last element', () => {
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [2], new Uint8Array(framed)),
      'INF_ERR_INVALID_ARGUMENT',
      `input 'TEXT': expected 2 BYTES elements for shape [2] but 10 bytes remain after them`,
    );
  });

  it('does not size anything by a huge shape', () => {
    assertInferdError(
      () => decodeBinaryTensorData('TEXT', 'BYTES', [2 ** 50], new Uint8Array(framed)),
      'INF_ERR_INVALID_ARGUMENT',
      /expected 1125899906842624 BYTES elements for shape \[1125899906842624\] but got 3$/,
    );
  });

  it('handles empty tensors', () => {
    assert.deepEqual(decodeBinaryTensorData('E', 'BYTES', [0], new Uint8Array(0)), []);
    assert.equal(encodeBinaryTensorData('BYTES', []).byteLength, 0);
  });
});

describe('writeBinaryTensorData', () => {
  it('writes tensors one after another into one body and returns the next offset', () => {
    const a = new Uint16Array([0x0102]);
    const b = [utf8('hi')];
    const body = new Uint8Array(1 + binaryByteSize('UINT16', a) + binaryByteSize('BYTES', b));
    let offset = writeBinaryTensorData('UINT16', a, body, 1);
    assert.equal(offset, 3);
    offset = writeBinaryTensorData('BYTES', b, body, offset);
    assert.equal(offset, body.byteLength);
    assert.deepEqual(Array.from(body), [0, 2, 1, 2, 0, 0, 0, 0x68, 0x69]);
  });
});
