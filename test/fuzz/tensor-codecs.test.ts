// Fuzzing of the tensor codecs: .npy files, the binary tensor data extension and JSON tensor data.
// Valid tensors round-trip; mutated and arbitrary inputs give a value or a 4xx InferdError.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBinaryTensorData, encodeBinaryTensorData } from '../../src/tensor/binary-codec.js';
import { DATATYPES, type Datatype, type TensorData } from '../../src/tensor/datatype.js';
import { decodeJsonTensorData, encodeJsonTensorData } from '../../src/tensor/json-codec.js';
import { decodeNpy, encodeNpy } from '../../src/tensor/npy.js';
import {
  CaseCounter,
  edgeNumber,
  fuzzTensor,
  hostileJson,
  mutatedBytes,
  mutatedJson,
  params,
  valueOr4xx,
} from './fuzz-support.js';

const counter = new CaseCounter();
const MAX_BYTES = 1 << 20;

/** Elements as comparable JSON values (NaN equals NaN under deepStrictEqual). */
function plain(datatype: Datatype, data: TensorData): unknown[] {
  return encodeJsonTensorData(datatype, data);
}

const datatype = fc.constantFrom(...DATATYPES);
const anyShape = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
  fc.array(fc.oneof(edgeNumber, fc.integer({ min: -3, max: 3 })), { maxLength: 20 }),
);

describe('.npy decoding', () => {
  it('round-trips every tensor that encodes', () => {
    fc.assert(
      fc.property(fuzzTensor, (t) => {
        counter.add('npy round-trip');
        const encoded = valueOr4xx(() => encodeNpy(t.datatype, t.shape, t.data));
        assert.ok('value' in encoded, 'every fuzz tensor encodes');
        const decoded = decodeNpy(encoded.value);
        assert.deepEqual(decoded.shape, t.shape);
        if (t.datatype === 'BF16') assert.equal(decoded.datatype, 'FP32');
        else {
          assert.equal(decoded.datatype, t.datatype);
          assert.deepEqual(plain(decoded.datatype, decoded.data), plain(t.datatype, t.data));
        }
      }),
      params(),
    );
  });

  it('answers mutated files with a value or a 4xx', () => {
    const valid = fuzzTensor.map((t) => encodeNpy(t.datatype, t.shape, t.data));
    fc.assert(
      fc.property(mutatedBytes(valid), (bytes) => {
        counter.add('npy mutated');
        valueOr4xx(() => decodeNpy(bytes), { unsupported: true });
      }),
      params(),
    );
  });

  it('answers hand-made headers and random bytes with a value or a 4xx', () => {
    const header = fc
      .record({
        descr: fc.oneof(
          fc.constantFrom('<f4', '<i8', '|b1', '<U3', '|S0', '>f8', '<U99999999999999999999', '|O', '<c8', ''),
          fc.string({ maxLength: 8 }),
        ),
        order: fc.constantFrom('False', 'True', 'None', '1'),
        shape: fc.array(fc.oneof(fc.nat(10), fc.constantFrom('9007199254740993', '-1', '3L', 'x', '')), {
          maxLength: 20,
        }),
        version: fc.constantFrom(1, 2, 3, 0),
        body: fc.uint8Array({ maxLength: 64 }),
      })
      .map(({ descr, order, shape, version, body }) => {
        const text = `{'descr': '${descr}', 'fortran_order': ${order}, 'shape': (${shape.join(', ')}), }\n`;
        const head = Buffer.from(text, 'latin1');
        const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
        const len = Buffer.alloc(version === 1 ? 2 : 4);
        if (version === 1) len.writeUInt16LE(head.length & 0xffff);
        else len.writeUInt32LE(head.length);
        return Buffer.concat([prefix, len, head, body]);
      });
    fc.assert(
      fc.property(fc.oneof(header, fc.uint8Array({ maxLength: 200 })), (bytes) => {
        counter.add('npy header');
        valueOr4xx(() => decodeNpy(bytes), { unsupported: true });
      }),
      params(),
    );
  });
});

describe('binary tensor data', () => {
  it('round-trips every tensor', () => {
    fc.assert(
      fc.property(fuzzTensor, fc.boolean(), (t, copy) => {
        counter.add('binary round-trip');
        const bytes = encodeBinaryTensorData(t.datatype, t.data);
        const decoded = decodeBinaryTensorData('x', t.datatype, t.shape, bytes, { copy });
        assert.deepEqual(plain(t.datatype, decoded), plain(t.datatype, t.data));
      }),
      params(),
    );
  });

  it('answers mutated bytes, other datatypes and other shapes with a value or a 4xx', () => {
    const valid = fuzzTensor.map((t) => encodeBinaryTensorData(t.datatype, t.data));
    fc.assert(
      fc.property(mutatedBytes(valid), datatype, anyShape, (bytes, dt, shape) => {
        counter.add('binary mutated');
        // The shape reaches this decoder validated; arbitrary ones must still be refused cleanly.
        valueOr4xx(() => decodeBinaryTensorData('x', dt, shape, bytes));
      }),
      params(),
    );
  });
});

describe('JSON tensor data', () => {
  it('round-trips every tensor', () => {
    fc.assert(
      fc.property(fuzzTensor, (t) => {
        counter.add('json round-trip');
        const values = JSON.parse(JSON.stringify(encodeJsonTensorData(t.datatype, t.data))) as unknown;
        const nan = plain(t.datatype, t.data).some((v) => typeof v === 'number' && !Number.isFinite(v));
        fc.pre(!nan); // JSON.stringify writes NaN and the infinities as null
        const decoded = decodeJsonTensorData('x', t.datatype, t.shape, values, MAX_BYTES);
        assert.deepEqual(plain(t.datatype, decoded), plain(t.datatype, t.data));
      }),
      params(),
    );
  });

  it('answers mutated and arbitrary data with a value or a 4xx', () => {
    const valid = fuzzTensor.map((t) => encodeJsonTensorData(t.datatype, t.data) as unknown);
    fc.assert(
      fc.property(fc.oneof(mutatedJson(valid), hostileJson), datatype, anyShape, (data, dt, shape) => {
        counter.add('json mutated');
        valueOr4xx(() => decodeJsonTensorData('x', dt, shape, data, MAX_BYTES));
      }),
      params(),
    );
  });
});

it('reports the cases run', (t) => {
  assert.ok(counter.total > 0);
  counter.report(t, 'tensor-codecs');
});

it('refuses a .npy file that ends before its version as malformed (400), not unsupported', () => {
  const magicOnly = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  for (const bytes of [magicOnly, Buffer.concat([magicOnly, Buffer.from([1])])]) {
    const outcome = valueOr4xx(() => decodeNpy(bytes));
    assert.ok('error' in outcome);
    assert.match(outcome.error.message, /file ends inside the header/);
  }
});
