// The binary tensor data extension in both directions: binary inputs after a JSON header,
// binary outputs asked for per request or per output, BYTES framing, and mixed requests.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import {
  SIMPLE_DIFF,
  SIMPLE_IN0,
  SIMPLE_IN1,
  SIMPLE_JSON_REQUEST,
  SIMPLE_SUM,
  binaryBody,
  frameBytes,
  int32Bytes,
  output,
  parseJson,
  postInfer,
  readFloat32,
  readInt32,
  splitBinaryReply,
  startExamplesServer,
  unframeBytes,
} from './rest-wire.js';

describe('binary tensor data extension', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', 'identity_fp32', 'identity_bytes']);
  });
  after(async () => {
    await server.close();
  });

  const postBinary = (model: string, header: unknown, blobs: Uint8Array[]) => {
    const { body, headerLength } = binaryBody(header, blobs);
    return postInfer(server, model, body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headerLength),
    });
  };

  it('binary inputs with JSON outputs: the response is plain JSON', async () => {
    const reply = await postBinary(
      'simple',
      {
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
        ],
      },
      [int32Bytes(SIMPLE_IN0), int32Bytes(SIMPLE_IN1)],
    );
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(reply.headers.get('inference-header-content-length'), null);
    assert.deepEqual(parseJson(reply), {
      model_name: 'simple',
      model_version: '1',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], data: SIMPLE_SUM },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: SIMPLE_DIFF },
      ],
    });
  });

  it('binary_data_output: true returns every output as binary after the JSON header', async () => {
    const reply = await postInfer(server, 'simple', {
      ...SIMPLE_JSON_REQUEST,
      parameters: { binary_data_output: true },
    });
    const { header, blobs } = splitBinaryReply(reply);
    assert.equal(Number(reply.headers.get('inference-header-content-length')), JSON.stringify(header).length);
    assert.deepEqual(header, {
      model_name: 'simple',
      model_version: '1',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
      ],
    });
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SIMPLE_SUM);
    assert.deepEqual(readInt32(blobs.get('OUTPUT1') ?? Buffer.alloc(0)), SIMPLE_DIFF);
  });

  it('per-output binary_data: true makes only that output binary', async () => {
    const reply = await postInfer(server, 'simple', {
      ...SIMPLE_JSON_REQUEST,
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }, { name: 'OUTPUT1' }],
    });
    const { header, blobs } = splitBinaryReply(reply);
    assert.deepEqual(output(header, 'OUTPUT0'), {
      name: 'OUTPUT0',
      datatype: 'INT32',
      shape: [1, 16],
      parameters: { binary_data_size: 64 },
    });
    assert.deepEqual(output(header, 'OUTPUT1'), {
      name: 'OUTPUT1',
      datatype: 'INT32',
      shape: [1, 16],
      data: SIMPLE_DIFF,
    });
    assert.deepEqual([...blobs.keys()], ['OUTPUT0']);
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SIMPLE_SUM);
  });

  it('per-output binary_data: false wins over binary_data_output: true', async () => {
    const reply = await postInfer(server, 'simple', {
      ...SIMPLE_JSON_REQUEST,
      parameters: { binary_data_output: true },
      outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT1', parameters: { binary_data: false } }],
    });
    const { header, blobs } = splitBinaryReply(reply);
    assert.deepEqual([...blobs.keys()], ['OUTPUT0']);
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SIMPLE_SUM);
    assert.deepEqual(output(header, 'OUTPUT1').data, SIMPLE_DIFF);
  });

  it('mixes a JSON input and a binary input in one request', async () => {
    const reply = await postBinary(
      'simple',
      {
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: SIMPLE_IN0 },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
        ],
        outputs: [
          { name: 'OUTPUT0', parameters: { binary_data: true } },
          { name: 'OUTPUT1', parameters: { binary_data: false } },
        ],
      },
      [int32Bytes(SIMPLE_IN1)],
    );
    const { header, blobs } = splitBinaryReply(reply);
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SIMPLE_SUM);
    assert.deepEqual(output(header, 'OUTPUT1').data, SIMPLE_DIFF);
  });

  it('reads binary blobs at unaligned offsets exactly, in a batch of two', async () => {
    const values = [1.5, -0.25, 3.4028234663852886e38, 1e-45, 0.1, -7, 65504, 2 ** -20];
    // An id of chosen length puts the first blob at an odd byte offset.
    for (const id of ['a', 'ab', 'abc', 'abcd']) {
      const header = {
        id,
        inputs: [{ name: 'INPUT0', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
        parameters: { binary_data_output: true },
      };
      const reply = await postBinary('identity_fp32', header, [Buffer.from(Float32Array.from(values).buffer)]);
      const { header: out, blobs } = splitBinaryReply(reply);
      assert.equal(out.id, id);
      assert.deepEqual(output(out, 'OUTPUT0').shape, [2, 4]);
      assert.deepEqual(
        readFloat32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)),
        values.map((v) => Math.fround(v)),
      );
    }
  });

  it('BYTES binary input (4-byte little-endian lengths) comes back with the same framing', async () => {
    const elements = ['', 'a', 'héllo wörld', '日本語', 'x'.repeat(300)];
    const framed = frameBytes(elements);
    // The 300-byte element's length prefix is 0x2C 0x01 0x00 0x00: the high byte matters.
    assert.deepEqual([...framed.subarray(framed.length - 304, framed.length - 300)], [0x2c, 0x01, 0, 0]);
    const reply = await postBinary(
      'identity_bytes',
      {
        inputs: [{ name: 'INPUT0', shape: [1, 5], datatype: 'BYTES', parameters: { binary_data_size: framed.length } }],
        parameters: { binary_data_output: true },
      },
      [framed],
    );
    const { header, blobs } = splitBinaryReply(reply);
    assert.deepEqual(output(header, 'OUTPUT0'), {
      name: 'OUTPUT0',
      datatype: 'BYTES',
      shape: [1, 5],
      parameters: { binary_data_size: framed.length },
    });
    const blob = blobs.get('OUTPUT0') ?? Buffer.alloc(0);
    assert.deepEqual(blob, framed);
    assert.deepEqual(
      unframeBytes(blob).map((b) => b.toString('utf8')),
      elements,
    );
  });

  it('BYTES binary input with a JSON output decodes to the same strings', async () => {
    const elements = ['one', 'zwei', 'трі'];
    const framed = frameBytes(elements);
    const reply = await postBinary(
      'identity_bytes',
      {
        inputs: [{ name: 'INPUT0', shape: [3, 1], datatype: 'BYTES', parameters: { binary_data_size: framed.length } }],
      },
      [framed],
    );
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(output(parseJson(reply), 'OUTPUT0'), {
      name: 'OUTPUT0',
      datatype: 'BYTES',
      shape: [3, 1],
      data: elements,
    });
  });

  // onnxruntime string tensors are UTF-8 text ending at a NUL: such bytes would come back changed,
  // so they are refused up front instead.
  for (const [what, element, reason] of [
    ['not UTF-8', Buffer.from([0xff, 0x41, 0x80]), 'BYTES element 1 is not valid UTF-8'],
    ['holding a NUL', Buffer.from('a\u0000b', 'utf8'), 'BYTES element 1 contains a NUL byte'],
  ] as const) {
    it(`a BYTES element ${what} is refused with 400 naming the element, not silently changed`, async () => {
      const framed = frameBytes([Buffer.from('ok'), element]);
      const reply = await postBinary(
        'identity_bytes',
        {
          inputs: [
            { name: 'INPUT0', shape: [1, 2], datatype: 'BYTES', parameters: { binary_data_size: framed.length } },
          ],
          parameters: { binary_data_output: true },
        },
        [framed],
      );
      assert.equal(reply.status, 400, reply.text);
      assert.match(reply.text, new RegExp(`input 'INPUT0': ${reason}`));
    });
  }
});
