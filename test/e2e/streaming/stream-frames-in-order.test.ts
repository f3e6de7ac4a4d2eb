// A stream of infer requests over one WebSocket: JSON and binary messages, ids echoed, replies in
// request order, binary replies when binary outputs are asked for, raw single-input frames.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { identityModel, simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { binaryMessage, openStream, splitBinary, streamUrl, type StreamClient } from './stream-client.js';

const FRAMES = 40;

/** Frame i of the simple model: INPUT0 = i..i+15, INPUT1 = 1. */
function simpleRequest(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: `frame-${i}`,
    inputs: [
      { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, k) => i + k) },
      { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(1) },
    ],
    ...extra,
  });
}

describe('WebSocket infer stream: frames in order', () => {
  let dir: string;
  let server: TestServer;
  const streams: StreamClient[] = [];
  const open = async (model: string, version?: string) => {
    const s = await openStream(streamUrl(server.url, model, version));
    streams.push(s);
    return s;
  };

  before(async () => {
    dir = await makeRepository([...simpleModel(), ...identityModel('FP32')]);
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    for (const s of streams) s.socket.close();
    await server.close();
    await removeRepository(dir);
  });

  it('answers a stream of JSON frames to simple in request order, ids echoed', async () => {
    const s = await open('simple');
    for (let i = 0; i < FRAMES; i++) s.socket.send(simpleRequest(i));
    for (let i = 0; i < FRAMES; i++) {
      const reply = await s.nextJson();
      assert.deepEqual(reply, {
        model_name: 'simple',
        model_version: '1',
        id: `frame-${i}`,
        outputs: [
          { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, k) => i + k + 1) },
          { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, k) => i + k - 1) },
        ],
      });
    }
  });

  it('serves the versioned path too', async () => {
    const s = await open('simple', '1');
    s.socket.send(simpleRequest(7));
    const reply = await s.nextJson();
    assert.equal(reply.id, 'frame-7');
    assert.equal(reply.model_version, '1');
  });

  it('answers binary frames with binary replies, tensor bytes exact, in order', async () => {
    const s = await open('identity_fp32');
    const frames = Array.from({ length: FRAMES }, (_, i) =>
      Float32Array.from({ length: 3 + (i % 5) }, (_, k) => Math.sin(i * 10 + k) * 1e3),
    );
    for (const [i, f] of frames.entries()) {
      s.socket.send(
        binaryMessage(
          {
            id: `b${i}`,
            inputs: [
              {
                name: 'INPUT0',
                shape: [1, f.length],
                datatype: 'FP32',
                parameters: { binary_data_size: f.byteLength },
              },
            ],
            outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
          },
          f,
        ),
      );
    }
    for (const [i, f] of frames.entries()) {
      const m = await s.next();
      assert.ok(m.binary !== undefined, `reply ${i} is a binary message`);
      const { header, data } = splitBinary(m.binary);
      assert.deepEqual(header, {
        model_name: 'identity_fp32',
        model_version: '1',
        id: `b${i}`,
        outputs: [
          { name: 'OUTPUT0', datatype: 'FP32', shape: [1, f.length], parameters: { binary_data_size: f.byteLength } },
        ],
      });
      assert.deepEqual(new Float32Array(Uint8Array.from(data).buffer), f);
    }
  });

  it('mixes JSON and binary messages on one connection, replying in the form the outputs ask for', async () => {
    const s = await open('simple');
    const in0 = Int32Array.from({ length: 16 }, (_, k) => k * 3);
    const in1 = Int32Array.from({ length: 16 }, (_, k) => -k);
    s.socket.send(simpleRequest(1)); // JSON in, JSON out
    s.socket.send(
      binaryMessage(
        {
          id: 'binary-in-json-out',
          inputs: [
            { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
            { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
          ],
        },
        in0,
        in1,
      ),
    );
    s.socket.send(simpleRequest(2, { parameters: { binary_data_output: true } })); // JSON in, binary out

    const first = await s.next();
    assert.equal(first.binary, undefined);
    assert.equal((JSON.parse(first.text ?? '') as { id: string }).id, 'frame-1');

    const second = await s.next();
    assert.ok(second.text !== undefined, 'JSON outputs come back as a text message');
    const json = JSON.parse(second.text) as { id: string; outputs: { data: number[] }[] };
    assert.equal(json.id, 'binary-in-json-out');
    assert.deepEqual(
      json.outputs[0]?.data,
      [...in0].map((v, k) => v + (in1[k] ?? 0)),
    );

    const third = await s.next();
    assert.ok(third.binary !== undefined, 'binary_data_output gives a binary message');
    const { header, data } = splitBinary(third.binary);
    assert.equal(header.id, 'frame-2');
    const ints = new Int32Array(Uint8Array.from(data).buffer);
    assert.deepEqual(
      [...ints.subarray(0, 16)],
      Array.from({ length: 16 }, (_, k) => k + 3),
    );
    assert.deepEqual(
      [...ints.subarray(16)],
      Array.from({ length: 16 }, (_, k) => k + 1),
    );
  });

  it('takes a raw frame (header length 0) as the only input, batch 1', async () => {
    const s = await open('identity_fp32');
    const f = Float32Array.of(0.5, -2, 1e-7, 3e38);
    s.socket.send(Buffer.concat([Buffer.alloc(4), Buffer.from(f.buffer)]));
    const m = await s.next();
    assert.ok(m.binary !== undefined, 'a raw request gets binary outputs');
    const { header, data } = splitBinary(m.binary);
    assert.deepEqual((header.outputs as { shape: number[] }[])[0]?.shape, [1, 4]);
    assert.deepEqual(new Float32Array(Uint8Array.from(data).buffer), f);
  });

  it('keeps each connection its own order when several stream at once', async () => {
    const clients = await Promise.all([open('simple'), open('simple'), open('simple')]);
    clients.forEach((c, n) => {
      for (let i = 0; i < FRAMES; i++) c.socket.send(simpleRequest(n * 1000 + i));
    });
    await Promise.all(
      clients.map(async (c, n) => {
        for (let i = 0; i < FRAMES; i++) assert.equal((await c.nextJson()).id, `frame-${n * 1000 + i}`);
      }),
    );
  });
});
