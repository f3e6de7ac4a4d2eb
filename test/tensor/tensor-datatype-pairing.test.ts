// A tensor's datatype decides the type of its data. Statically: the @ts-expect-error lines below
// must fail to compile (`npx tsc -p tsconfig.json --noEmit` reports any that compile). At run
// time: makeTensor and the helpers refuse pairings the checker cannot see.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Datatype, TensorData } from '../../src/tensor/datatype.js';
import {
  allocData,
  copyElements,
  makeTensor,
  tensorContent,
  type Tensor,
  type TensorContent,
} from '../../src/tensor/tensor.js';
import { assertInferdError } from './expect-inferd-error.js';

/** Bytes of the data, written once per kind of storage: each branch sees its own array type. */
function dataBytes(t: TensorContent): number {
  if (t.datatype === 'BYTES') {
    const elements: Uint8Array[] = t.data;
    return elements.reduce((n, e) => n + e.byteLength, 0);
  }
  // @ts-expect-error fixed-width data is a typed array, not an array of elements
  const elements: Uint8Array[] = t.data;
  void elements;
  return t.data.byteLength;
}

/** The first element as a number, per datatype. */
function first(t: Tensor): number {
  switch (t.datatype) {
    case 'FP32': {
      const values: Float32Array = t.data;
      return values[0] ?? NaN;
    }
    case 'INT64': {
      const values: BigInt64Array = t.data;
      return Number(values[0] ?? 0n);
    }
    case 'FP16':
    case 'BF16': {
      const bits: Uint16Array = t.data;
      // @ts-expect-error FP16 and BF16 keep 16-bit patterns, not float32 values
      const floats: Float32Array = t.data;
      void floats;
      return bits[0] ?? NaN;
    }
    default:
      return NaN;
  }
}

describe('Tensor, discriminated by datatype', () => {
  it('does not compile a BYTES tensor carrying a Float32Array, nor other mismatched pairs', () => {
    const mismatched = (): Tensor[] => [
      // @ts-expect-error BYTES data is one Uint8Array per element
      { name: 'T', datatype: 'BYTES', shape: [1], data: new Float32Array(1) },
      // @ts-expect-error FP32 data is a Float32Array
      { name: 'X', datatype: 'FP32', shape: [1], data: new Float64Array(1) },
      // @ts-expect-error makeTensor pairs a literal datatype with its storage type too
      makeTensor('T', 'BYTES', [1], new Float32Array(1)),
    ];
    // @ts-expect-error Tensor<'FP32'> is an FP32 tensor only
    const fp32: Tensor<'FP32'> = makeTensor('I', 'INT32', [1], new Int32Array(1));
    void mismatched;
    void fp32;
  });

  it('types data once the datatype is checked', () => {
    const text = makeTensor('T', 'BYTES', [2], [new Uint8Array([1]), new Uint8Array([2, 3])]);
    assert.equal(dataBytes(text), 3);
    assert.equal(dataBytes(makeTensor('X', 'INT32', [2], new Int32Array(2))), 8);
    assert.equal(first(makeTensor('X', 'FP32', [1], Float32Array.of(1.5))), 1.5);
    assert.equal(first(makeTensor('X', 'INT64', [1], BigInt64Array.of(-7n))), -7);
    assert.equal(first(makeTensor('X', 'FP16', [1], Uint16Array.of(0x3c00))), 0x3c00);
    const fp32: Tensor<'FP32'> = makeTensor('X', 'FP32', [1], new Float32Array(1));
    assert.ok(fp32.data instanceof Float32Array);
  });
});

describe('makeTensor', () => {
  it('keeps name, datatype, shape and the very data it is given', () => {
    const data = Float32Array.of(1, 2, 3, 4);
    const t = makeTensor('X', 'FP32', [2, 2], data);
    assert.deepEqual({ ...t }, { name: 'X', datatype: 'FP32', shape: [2, 2], data });
    assert.equal(t.data, data);
  });

  it('accepts every datatype with its storage, Node Buffers as Uint8Array', () => {
    const pairs: { datatype: Datatype; data: TensorData }[] = [
      { datatype: 'BOOL', data: Buffer.from([1, 0]) },
      { datatype: 'UINT8', data: new Uint8Array(1) },
      { datatype: 'INT8', data: new Int8Array(1) },
      { datatype: 'UINT64', data: new BigUint64Array(1) },
      { datatype: 'BF16', data: new Uint16Array(1) },
      { datatype: 'FP64', data: new Float64Array(1) },
      { datatype: 'BYTES', data: [Buffer.from('a')] },
    ];
    for (const { datatype, data } of pairs) assert.equal(makeTensor('X', datatype, [1], data).data, data);
  });

  it('refuses data that is not the storage of its datatype, naming the tensor and both types', () => {
    // Datatypes and data typed as wide as a config or a model gives them: only a run-time check sees these.
    const pair = (datatype: Datatype, data: TensorData) => () => makeTensor('INPUT0', datatype, [1], data);
    assertInferdError(
      pair('BYTES', new Float32Array(1)),
      'INF_ERR_INTERNAL',
      "tensor 'INPUT0': BYTES data must be an array of Uint8Array, not a Float32Array",
    );
    assertInferdError(
      pair('FP32', [new Uint8Array(4)]),
      'INF_ERR_INTERNAL',
      "tensor 'INPUT0': FP32 data must be a Float32Array, not an array",
    );
    assertInferdError(
      pair('INT8', new Uint8Array(1)),
      'INF_ERR_INTERNAL',
      "tensor 'INPUT0': INT8 data must be an Int8Array, not a Uint8Array",
    );
    assertInferdError(pair('FP16', new Float32Array(1)), 'INF_ERR_INTERNAL', /FP16 data must be a Uint16Array/);
  });

  it('is what tensorContent checks too', () => {
    const content = (datatype: Datatype, data: TensorData) => tensorContent(datatype, data);
    assertInferdError(
      () => content('INT64', new Int32Array(1)),
      'INF_ERR_INTERNAL',
      'INT64 data must be a BigInt64Array, not an Int32Array',
    );
  });
});

describe('copyElements', () => {
  it('copies a range between arrays of one kind, as set(subarray) does', () => {
    const target = allocData('INT64', 4);
    copyElements(target, 1, BigInt64Array.of(5n, 6n, 7n), 1, 3);
    assert.deepEqual([...target], [0n, 6n, 7n, 0n]);
    const floats = allocData('FP32', 3);
    copyElements(floats, 0, Float32Array.of(1, 2, 3));
    assert.deepEqual([...floats], [1, 2, 3]);
  });

  it('refuses to mix bigint and number elements', () => {
    assertInferdError(
      () => copyElements(new Float32Array(2), 0, new BigInt64Array(2)),
      'INF_ERR_INTERNAL',
      'cannot copy BigInt64Array elements into a Float32Array',
    );
  });
});
