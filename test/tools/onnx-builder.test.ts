// Builds small graphs with the ONNX builder and runs them in onnxruntime-node, checking outputs
// exactly and that the runtime sees the declared names, types and shapes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { GraphBuilder, attr, onnxDataType } from '../../tools/onnx/onnx-builder.js';
import { ONNX_DATA_TYPE, decodeModel } from '../../tools/onnx/onnx-proto.js';

const OPTIONS = { opset: 17, irVersion: 8 } as const;

async function session(graph: GraphBuilder): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(graph.toBytes(OPTIONS));
}

describe('GraphBuilder', () => {
  it('runs Add with symbolic dimensions and reports them as declared', async () => {
    const s = await session(
      new GraphBuilder()
        .input('A', 'FP32', ['batch', 3])
        .input('B', 'FP32', ['batch', 3])
        .node('Add', ['A', 'B'], ['C'])
        .output('C', 'FP32', ['batch', 3]),
    );
    assert.deepEqual(s.inputMetadata, [
      { name: 'A', isTensor: true, type: 'float32', shape: ['batch', 3] },
      { name: 'B', isTensor: true, type: 'float32', shape: ['batch', 3] },
    ]);
    assert.deepEqual(s.outputMetadata, [{ name: 'C', isTensor: true, type: 'float32', shape: ['batch', 3] }]);
    const a = new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    const b = new ort.Tensor('float32', Float32Array.of(0.5, -2, 10, 0, 0.25, -6), [2, 3]);
    const { C } = await s.run({ A: a, B: b });
    assert.deepEqual(C?.dims, [2, 3]);
    assert.deepEqual(C?.data, Float32Array.of(1.5, 0, 13, 4, 5.25, 0));
  });

  it('adds a broadcast initializer to a fixed-shape input', async () => {
    const s = await session(
      new GraphBuilder()
        .input('X', 'INT32', [2, 3])
        .initializer('bias', 'INT32', [3], Int32Array.of(100, -2147483648, 7))
        .node('Add', ['X', 'bias'], ['Y'])
        .output('Y', 'INT32', [2, 3]),
    );
    // Initializers are constants, not inputs: the runtime must not ask for them.
    assert.deepEqual(s.inputNames, ['X']);
    assert.deepEqual(s.inputMetadata, [{ name: 'X', isTensor: true, type: 'int32', shape: [2, 3] }]);
    const x = new ort.Tensor('int32', Int32Array.of(1, 2, 3, -1, 0, 2147483640), [2, 3]);
    const { Y } = await s.run({ X: x });
    assert.deepEqual(Y?.data, Int32Array.of(101, -2147483646, 10, 99, -2147483648, 2147483647));
  });

  it('writes -1 as an unknown dimension, named "" by onnxruntime-node', async () => {
    const graph = new GraphBuilder()
      .input('X', 'FP64', [-1, 2])
      .node('Identity', ['X'], ['Y'])
      .output('Y', 'FP64', [-1, 2]);
    const dims = decodeModel(graph.toBytes(OPTIONS)).graph.input[0]?.type.tensor_type.shape?.dim;
    assert.equal(dims?.length, 2);
    assert.equal(dims?.[0]?.dim_param ?? '', '');
    assert.ok(!dims?.[0]?.dim_value, 'an unknown dimension carries no value');
    assert.equal(dims?.[1]?.dim_value, 2);
    const s = await session(graph);
    assert.deepEqual(s.inputMetadata, [{ name: 'X', isTensor: true, type: 'float64', shape: ['', 2] }]);
    const { Y } = await s.run({
      X: new ort.Tensor('float64', Float64Array.of(0.1, -1e300, 3, 4), [2, 2]),
    });
    assert.deepEqual(Y?.dims, [2, 2]);
    assert.deepEqual(Y?.data, Float64Array.of(0.1, -1e300, 3, 4));
  });

  it('stores 64-bit initializers little-endian without losing precision', async () => {
    const s = await session(
      new GraphBuilder()
        .input('X', 'INT64', [-1])
        .initializer('C', 'INT64', [3], [2n ** 62n, -(2n ** 63n) + 1n, 9007199254740993n])
        .node('Add', ['X', 'C'], ['Y'])
        .output('Y', 'INT64', [-1]),
    );
    const { Y } = await s.run({ X: new ort.Tensor('int64', BigInt64Array.of(1n, -1n, 0n), [3]) });
    assert.deepEqual(Y?.data, BigInt64Array.of(2n ** 62n + 1n, -(2n ** 63n), 9007199254740993n));
  });

  it('concatenates string tensors, including non-ASCII and empty strings', async () => {
    const s = await session(
      new GraphBuilder()
        .input('X', 'BYTES', ['n'])
        .initializer('suffix', 'BYTES', [2], ['héllo, wörld', ''])
        .node('Concat', ['X', 'suffix'], ['Y'], { axis: 0 })
        .output('Y', 'BYTES', [-1]),
    );
    assert.deepEqual(s.inputMetadata, [{ name: 'X', isTensor: true, type: 'string', shape: ['n'] }]);
    const { Y } = await s.run({ X: new ort.Tensor('string', ['a', '日本'], [2]) });
    assert.deepEqual(Y?.data, ['a', '日本', 'héllo, wörld', '']);
  });

  it('encodes float, int and tensor attributes', async () => {
    const s = await session(
      new GraphBuilder()
        .input('X', 'FP32', [4])
        .node('Constant', [], ['offset'], { value: attr.tensor('FP32', [4], [1.5, -2, 0, 8]) })
        .node('Add', ['X', 'offset'], ['shifted'])
        .node('LeakyRelu', ['shifted'], ['leaky'], { alpha: attr.float(0.25) })
        .node('Cast', ['leaky'], ['Y'], { to: onnxDataType('FP64') })
        .output('Y', 'FP64', [4]),
    );
    const { Y } = await s.run({
      X: new ort.Tensor('float32', Float32Array.of(0.5, -2, -4, 1), [4]),
    });
    assert.equal(Y?.type, 'float64');
    assert.deepEqual(Y?.data, Float64Array.of(2, -1, -1, 9));
  });

  it('stores FP16 and BOOL values as their bit patterns', async () => {
    const s = await session(
      new GraphBuilder()
        .input('X', 'FP16', [3])
        .initializer('one', 'FP16', [1], Uint16Array.of(0x3c00))
        .initializer('mask', 'BOOL', [3], [true, false, true])
        .node('Add', ['X', 'one'], ['sum'])
        .node('Where', ['mask', 'sum', 'X'], ['Y'])
        .output('Y', 'FP16', [3]),
    );
    // Where takes X + 1 where the mask is set and X elsewhere: 2+1 = 3 (0x4200), -0.5 kept as is
    // (0xb800), -0.5+1 = 0.5 (0x3800).
    const x = new ort.Tensor('float16', Uint16Array.of(0x4000, 0xb800, 0xb800), [3]);
    const { Y } = await s.run({ X: x });
    assert.deepEqual(Y?.data, Uint16Array.of(0x4200, 0xb800, 0x3800));
  });

  it('gives identical bytes for identical recipes and records the opset and IR version', () => {
    const build = (): Uint8Array =>
      new GraphBuilder('g')
        .input('X', 'FP32', ['n', 2])
        .initializer('W', 'FP32', [2, 2], [1, 2, 3, 4])
        .node('MatMul', ['X', 'W'], ['Y'])
        .output('Y', 'FP32', ['n', 2])
        .toBytes({ opset: 13, irVersion: 7, producerName: 'test' });
    const bytes = build();
    assert.deepEqual(bytes, build());
    const model = decodeModel(bytes);
    assert.equal(model.ir_version, 7);
    assert.equal(model.producer_name, 'test');
    assert.deepEqual(
      model.opset_import.map((o) => [o.domain, o.version]),
      [['', 13]],
    );
    assert.equal(model.graph.initializer[0]?.data_type, ONNX_DATA_TYPE.FLOAT);
    assert.deepEqual(model.graph.initializer[0]?.dims, [2, 2]);
    assert.deepEqual(model.graph.node[0]?.name, 'MatMul_0');
  });

  it('rejects inconsistent graphs before they reach the runtime', () => {
    assert.throws(() => new GraphBuilder().node('Relu', ['missing'], ['Y']), /not defined yet/);
    assert.throws(() => new GraphBuilder().initializer('W', 'FP32', [2, 2], [1, 2, 3]), /needs 4 values, got 3/);
    assert.throws(() => new GraphBuilder().input('X', 'FP32', [1]).input('X', 'FP32', [1]), /already defined/);
    assert.throws(
      () => new GraphBuilder().input('X', 'FP32', [1]).node('LeakyRelu', ['X'], ['Y'], { alpha: 0.1 }),
      /not an integer/,
    );
    assert.throws(() => new GraphBuilder().initializer('B', 'UINT8', [1], [256]), /not an integer in/);
    assert.throws(
      () => new GraphBuilder().input('X', 'FP32', [1]).output('Y', 'FP32', [1]).toBytes(OPTIONS),
      /not produced/,
    );
    assert.throws(() => new GraphBuilder().input('X', 'FP32', [-2]), /invalid dimension/);
  });
});
