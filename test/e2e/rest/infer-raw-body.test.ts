// Raw binary requests (Inference-Header-Content-Length: 0): the body is the only input's bytes,
// taken as batch 1, and every output comes back binary; models with two inputs refuse them.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import {
  assertError,
  assertStillServing,
  output,
  parseJson,
  postInfer,
  readFloat32,
  splitBinaryReply,
  startExamplesServer,
} from './rest-wire.js';

const RAW = { 'content-type': 'application/octet-stream', 'inference-header-content-length': '0' };

function f32(values: readonly number[]): Buffer {
  return Buffer.from(Float32Array.from(values).buffer);
}

describe('raw single-input request bodies', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', 'identity_fp32', 'iris']);
  });
  after(async () => {
    await server.close();
  });

  it('identity_fp32: the dynamic dimension comes from the body length, batch 1, binary output', async () => {
    const values = [1.5, -2.25, 1e-3, 3.4028234663852886e38, 0];
    const reply = await postInfer(server, 'identity_fp32', f32(values), RAW);
    const { header, blobs } = splitBinaryReply(reply);
    assert.deepEqual(header, {
      model_name: 'identity_fp32',
      model_version: '1',
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [1, 5], parameters: { binary_data_size: 20 } }],
    });
    assert.deepEqual(blobs.get('OUTPUT0'), f32(values));
  });

  it('iris: 16 raw bytes are one sample, and the probabilities match the JSON request bit for bit', async () => {
    const sample = [6.7, 3.0, 5.2, 2.3];
    const reply = await postInfer(server, 'iris', f32(sample), RAW);
    const { header, blobs } = splitBinaryReply(reply);
    assert.deepEqual(output(header, 'probabilities'), {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [1, 3],
      parameters: { binary_data_size: 12 },
    });
    const raw = readFloat32(blobs.get('probabilities') ?? Buffer.alloc(0));

    const json = parseJson(
      await postInfer(server, 'iris', {
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: sample }],
      }),
    );
    assert.deepEqual(raw, output(json, 'probabilities').data);
    // A virginica sample (the last class) scores highest, and the softmax sums to 1.
    assert.equal(raw.indexOf(Math.max(...raw)), 2);
    assert.ok(Math.abs(raw.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  });

  it('iris: a raw body of two samples does not fit batch 1 and is refused', async () => {
    const reply = await postInfer(server, 'iris', f32([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]), RAW);
    assertError(reply, 400, "'input'", '16 bytes', '32');
    await assertStillServing(server);
  });

  it('a raw body that is not a whole number of elements is refused', async () => {
    const reply = await postInfer(server, 'identity_fp32', Buffer.alloc(6), RAW);
    assertError(reply, 400, '6 bytes', 'FP32', "'INPUT0'");
  });

  it('the two-input simple model refuses a raw body, naming the reason', async () => {
    const reply = await postInfer(server, 'simple', Buffer.alloc(64), RAW);
    const message = assertError(reply, 400, 'Inference-Header-Content-Length: 0', 'one input', "'simple' has 2");
    assert.match(message, /raw/);
    await assertStillServing(server);
  });
});
