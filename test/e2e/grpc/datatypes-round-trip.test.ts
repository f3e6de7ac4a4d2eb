// Every datatype round-trips through the example identity models over gRPC, sent as typed contents
// (each type's InferTensorContents field) and as raw_input_contents, and comes back byte-exact in
// raw_output_contents. FP16 has no typed field and goes raw only; BYTES elements are UTF-8 text
// (what ONNX string tensors carry).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IDENTITY_TYPES, identityModelName } from '../../../tools/examples/example-models.js';
import type { TestServer } from '../../helpers/test-server.js';
import { frameBytes, startExamplesServer } from '../rest/rest-wire.js';
import { connect, output, unary, type Clients, type Message } from './grpc-client.js';

interface Case {
  /** The InferTensorContents field, or undefined for raw-only types. */
  readonly field: string | undefined;
  /** Six values as the typed field takes them. */
  readonly values: readonly unknown[];
  /** The same values in the binary tensor format. */
  readonly bytes: Buffer;
}

const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const BYTES_VALUES = [
  Buffer.from('hello'),
  Buffer.alloc(0),
  Buffer.from('tab\tnew\nline'),
  Buffer.from('ünï'),
  Buffer.from('x'),
  Buffer.from('end'),
];

const CASES: Readonly<Record<(typeof IDENTITY_TYPES)[number], Case>> = {
  BOOL: {
    field: 'bool_contents',
    values: [true, false, true, true, false, false],
    bytes: Buffer.from([1, 0, 1, 1, 0, 0]),
  },
  UINT8: { field: 'uint_contents', values: [0, 1, 127, 128, 254, 255], bytes: Buffer.from([0, 1, 127, 128, 254, 255]) },
  UINT16: {
    field: 'uint_contents',
    values: [0, 1, 300, 32768, 65534, 65535],
    bytes: view(Uint16Array.of(0, 1, 300, 32768, 65534, 65535)),
  },
  UINT32: {
    field: 'uint_contents',
    values: [0, 1, 70000, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1],
    bytes: view(Uint32Array.of(0, 1, 70000, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1)),
  },
  UINT64: {
    field: 'uint64_contents',
    values: ['0', '1', '9007199254740993', '9223372036854775808', '18446744073709551614', '18446744073709551615'],
    bytes: view(
      BigUint64Array.of(0n, 1n, 9007199254740993n, 9223372036854775808n, 18446744073709551614n, 18446744073709551615n),
    ),
  },
  INT8: {
    field: 'int_contents',
    values: [-128, -1, 0, 1, 100, 127],
    bytes: view(Int8Array.of(-128, -1, 0, 1, 100, 127)),
  },
  INT16: {
    field: 'int_contents',
    values: [-32768, -1, 0, 1, 1000, 32767],
    bytes: view(Int16Array.of(-32768, -1, 0, 1, 1000, 32767)),
  },
  INT32: {
    field: 'int_contents',
    values: [-(2 ** 31), -1, 0, 1, 123456, 2 ** 31 - 1],
    bytes: view(Int32Array.of(-(2 ** 31), -1, 0, 1, 123456, 2 ** 31 - 1)),
  },
  INT64: {
    field: 'int64_contents',
    values: ['-9223372036854775808', '-9007199254740993', '-1', '0', '9007199254740993', '9223372036854775807'],
    bytes: view(
      BigInt64Array.of(-9223372036854775808n, -9007199254740993n, -1n, 0n, 9007199254740993n, 9223372036854775807n),
    ),
  },
  FP16: { field: undefined, values: [], bytes: view(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000)) },
  FP32: {
    field: 'fp32_contents',
    values: [1.5, -2.25, 0, 3.4028234663852886e38, 1e-45, -0],
    bytes: view(Float32Array.of(1.5, -2.25, 0, 3.4028234663852886e38, 1e-45, -0)),
  },
  FP64: {
    field: 'fp64_contents',
    values: [Math.PI, -1e300, 0, 5e-324, Number.MAX_VALUE, -0],
    bytes: view(Float64Array.of(Math.PI, -1e300, 0, 5e-324, Number.MAX_VALUE, -0)),
  },
  BYTES: { field: 'bytes_contents', values: BYTES_VALUES, bytes: frameBytes(BYTES_VALUES) },
};

describe('every datatype round-trips through the identity models', () => {
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    server = await startExamplesServer(IDENTITY_TYPES.map((t) => identityModelName(t)));
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
  });

  const request = (type: string, input: Message, raw?: Buffer): Message => ({
    model_name: identityModelName(type as (typeof IDENTITY_TYPES)[number]),
    inputs: [{ name: 'INPUT0', datatype: type, shape: [2, 3], ...input }],
    ...(raw === undefined ? {} : { raw_input_contents: [raw] }),
  });

  for (const type of IDENTITY_TYPES) {
    const c = CASES[type];
    it(`${type} as raw_input_contents`, async () => {
      const response = await unary(clients.inference, 'ModelInfer', request(type, {}, c.bytes));
      const o = output(response, 'OUTPUT0');
      assert.equal(o.datatype, type);
      assert.deepEqual(o.shape, [2, 3]);
      assert.ok(o.raw.equals(c.bytes), `${type} bytes come back unchanged`);
    });
    if (c.field !== undefined) {
      const field = c.field;
      it(`${type} as contents.${field}`, async () => {
        const response = await unary(
          clients.inference,
          'ModelInfer',
          request(type, { contents: { [field]: c.values } }),
        );
        const o = output(response, 'OUTPUT0');
        assert.equal(o.datatype, type);
        assert.deepEqual(o.shape, [2, 3]);
        assert.ok(o.raw.equals(c.bytes), `${type} values come back as their exact binary form`);
      });
    }
  }
});
