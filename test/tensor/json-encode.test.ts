import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Datatype, TensorData } from '../../src/tensor/datatype.js';
import { decodeJsonTensorData, encodeJsonTensorData, jsonTensorDataString } from '../../src/tensor/json-codec.js';
import { assertInferdError } from './expect-inferd-error.js';

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** One sample tensor per datatype, with its values as JSON should show them. */
const SAMPLES: { datatype: Datatype; data: TensorData; json: unknown[] }[] = [
  { datatype: 'BOOL', data: new Uint8Array([1, 0, 1]), json: [true, false, true] },
  { datatype: 'UINT8', data: new Uint8Array([0, 255]), json: [0, 255] },
  { datatype: 'UINT16', data: new Uint16Array([0, 65535]), json: [0, 65535] },
  { datatype: 'UINT32', data: new Uint32Array([0, 4294967295]), json: [0, 4294967295] },
  { datatype: 'UINT64', data: new BigUint64Array([0n, 2n ** 53n - 1n]), json: [0, 2 ** 53 - 1] },
  { datatype: 'INT8', data: new Int8Array([-128, 127]), json: [-128, 127] },
  { datatype: 'INT16', data: new Int16Array([-32768, 32767]), json: [-32768, 32767] },
  { datatype: 'INT32', data: new Int32Array([-2147483648, 2147483647]), json: [-2147483648, 2147483647] },
  { datatype: 'INT64', data: new BigInt64Array([-(2n ** 53n) + 1n, -1n, 42n]), json: [-(2 ** 53) + 1, -1, 42] },
  { datatype: 'FP16', data: new Uint16Array([0x3c00, 0xc000, 0x3555]), json: [1, -2, 0.333251953125] },
  { datatype: 'FP32', data: new Float32Array([1.5, -0.25, 0.1]), json: [1.5, -0.25, Math.fround(0.1)] },
  { datatype: 'FP64', data: new Float64Array([0.1, 1e300, -5]), json: [0.1, 1e300, -5] },
  { datatype: 'BF16', data: new Uint16Array([0x3f80, 0xc000, 0x3e80]), json: [1, -2, 0.25] },
  { datatype: 'BYTES', data: [utf8('abc'), utf8(''), utf8('é"\n😀')], json: ['abc', '', 'é"\n😀'] },
];

describe('encodeJsonTensorData and jsonTensorDataString', () => {
  for (const { datatype, data, json } of SAMPLES) {
    it(`${datatype}: writes the expected values and reads back to the same data`, () => {
      assert.deepEqual(encodeJsonTensorData(datatype, data), json);
      const textValue = jsonTensorDataString(datatype, data);
      assert.deepEqual(JSON.parse(textValue), json);
      const shape = [data.length];
      const back = decodeJsonTensorData('OUT', datatype, shape, JSON.parse(textValue), 1 << 20);
      if (datatype === 'BYTES') {
        assert.deepEqual(
          (back as Uint8Array[]).map((b) => Array.from(b)),
          (data as Uint8Array[]).map((b) => Array.from(b)),
        );
      } else {
        assert.deepEqual(back, data);
      }
    });
  }

  it('writes empty tensors as []', () => {
    for (const { datatype, data } of SAMPLES) {
      const empty = datatype === 'BYTES' ? [] : (data as Uint8Array).subarray(0, 0);
      assert.equal(jsonTensorDataString(datatype, empty), '[]', datatype);
      assert.deepEqual(encodeJsonTensorData(datatype, empty), [], datatype);
    }
  });

  it('prints float32 values as the double they are, as Triton does', () => {
    assert.equal(jsonTensorDataString('FP32', new Float32Array([0.1, 2])), '[0.10000000149011612,2]');
    assert.equal(jsonTensorDataString('FP64', new Float64Array([-0, 1e21])), '[0,1e+21]');
  });

  it('writes BOOL as true/false text', () => {
    assert.equal(jsonTensorDataString('BOOL', new Uint8Array([1, 0, 1])), '[true,false,true]');
    assert.equal(jsonTensorDataString('BOOL', new Uint8Array([0])), '[false]');
  });
});

describe('64-bit integers', () => {
  const extremes = new BigInt64Array([9223372036854775807n, -9223372036854775808n, 9007199254740993n, 7n]);

  it('keeps every digit in JSON text', () => {
    assert.equal(
      jsonTensorDataString('INT64', extremes),
      '[9223372036854775807,-9223372036854775808,9007199254740993,7]',
    );
    assert.equal(
      jsonTensorDataString('UINT64', new BigUint64Array([18446744073709551615n, 1n])),
      '[18446744073709551615,1]',
    );
  });

  it('become Numbers as JS values, exact only up to 2^53', () => {
    assert.deepEqual(encodeJsonTensorData('INT64', extremes), [2 ** 63, -(2 ** 63), 2 ** 53, 7]);
    assert.deepEqual(encodeJsonTensorData('UINT64', new BigUint64Array([18446744073709551615n])), [2 ** 64]);
  });
});

describe('NaN and Infinity', () => {
  const special = new Float32Array([1, NaN, Infinity, -Infinity]);

  it("are written as Triton's bare tokens by default", () => {
    assert.equal(jsonTensorDataString('FP32', special), '[1,NaN,Infinity,-Infinity]');
    assert.equal(jsonTensorDataString('FP64', new Float64Array([NaN])), '[NaN]');
    assert.equal(jsonTensorDataString('FP16', new Uint16Array([0x7c00, 0x7e00])), '[Infinity,NaN]');
    assert.equal(jsonTensorDataString('BF16', new Uint16Array([0xff80])), '[-Infinity]');
  });

  it("are written as null with nonFinite: 'null', giving strict JSON", () => {
    const textValue = jsonTensorDataString('FP32', special, { nonFinite: 'null' });
    assert.equal(textValue, '[1,null,null,null]');
    assert.deepEqual(JSON.parse(textValue), [1, null, null, null]);
  });

  it('stay numbers in encodeJsonTensorData', () => {
    assert.deepEqual(encodeJsonTensorData('FP32', special), [1, NaN, Infinity, -Infinity]);
  });

  it('read back through the string forms the decoder accepts', () => {
    const back = decodeJsonTensorData('X', 'FP32', [4], [1, 'NaN', 'Infinity', '-Infinity'], 64);
    assert.deepEqual(back, special);
  });
});

describe('BYTES that are not valid UTF-8', () => {
  const bad = [utf8('ok'), new Uint8Array([0x66, 0xff, 0x6f])];

  it('are refused by default, naming the output and element', () => {
    for (const encode of [encodeJsonTensorData, jsonTensorDataString]) {
      assertInferdError(
        () => encode('BYTES', bad, { name: 'OUTPUT0' }),
        'INF_ERR_INVALID_ARGUMENT',
        "output 'OUTPUT0': BYTES element 1 is not valid UTF-8, so it cannot be written as a JSON string; " +
          'request this output as binary data',
      );
    }
  });

  it("become U+FFFD with invalidUtf8: 'replace'", () => {
    assert.deepEqual(encodeJsonTensorData('BYTES', bad, { invalidUtf8: 'replace' }), ['ok', 'f\uFFFDo']);
    assert.equal(jsonTensorDataString('BYTES', bad, { invalidUtf8: 'replace' }), '["ok","f\uFFFDo"]');
  });

  it('keep a leading byte order mark as data', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
    assert.deepEqual(encodeJsonTensorData('BYTES', [bom]), ['\uFEFFa']);
  });
});
