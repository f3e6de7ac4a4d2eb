// The server-wide budget of request bytes in flight, against the real server: while one client
// holds most of the budget with a JSON body it is still sending (charged twelve times its length:
// the bytes, their text and the parsed values), a request that would pass the budget is a 503
// with Retry-After before its body is read, a small one is served, and once the first is
// answered the budget is free again; the gauge and the refusal counter say so.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

const KiB = 1024;
const SIMPLE = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
});

/** Reads from a raw socket until the full HTTP response (by Content-Length) has arrived. */
function readResponse(socket: net.Socket): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers = text.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? '0');
      if (text.length - end - 4 < length) return;
      socket.off('data', onData);
      resolve({ status: Number(headers.slice(9, 12)), headers, body: text.slice(end + 4, end + 4 + length) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('request bytes in flight', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      maxBodyBytes: 400 * KiB,
      maxBatchFileBytes: 400 * KiB,
      maxInflightRequestBytes: 6144 * KiB,
    });
  });
  after(() => server.close());

  it('refuses past the budget before reading the body, serves what fits, and frees the budget', async () => {
    // A client that declares 300 KiB of JSON and sends only its headers holds 3,600 KiB of the budget.
    const slow = await connect(server.httpPort);
    const declared = 300 * KiB;
    slow.write(
      `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    slow.write(' '.repeat(1000));
    // Another 3,600 KiB would pass 6,144 KiB: a 503 at once, though its body never comes.
    const second = await connect(server.httpPort);
    const refused = readResponse(second);
    second.write(`POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
    const reply = await refused;
    assert.equal(reply.status, 503);
    assert.match(reply.headers, /retry-after: 1/i);
    assert.match(reply.body, /this one needs 3686400 .*budget of 6291456 \(--max-inflight-request-size\)/);
    second.destroy();
    // A small request fits beside the slow one.
    const small = await fetch(`${server.url}/v2/models/simple/infer`, { method: 'POST', body: SIMPLE });
    assert.equal(small.status, 200);
    const gauge = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(gauge, new RegExp(`^inferd_inflight_request_bytes ${12 * declared}$`, 'm'));
    assert.match(gauge, /^inferd_request_bytes_refusals_total 1$/m);
    // The slow client finishes its body (padding the JSON): answered, and its bytes are released.
    const answered = readResponse(slow);
    slow.write(SIMPLE + ' '.repeat(declared - 1000 - SIMPLE.length));
    assert.equal((await answered).status, 200);
    slow.destroy();
    const after = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(after, /^inferd_inflight_request_bytes 0$/m);
  });

  it('refuses for good, with 413 and the remedy, a JSON body whose decoding could never fit the budget', async () => {
    // 100 KiB of JSON would hold 1,200 KiB while decoded, over a 1,024 KiB budget.
    const small = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      maxBodyBytes: 400 * KiB,
      maxBatchFileBytes: 400 * KiB,
      maxInflightRequestBytes: 1024 * KiB,
    });
    try {
      const socket = await connect(small.httpPort);
      const refused = readResponse(socket);
      socket.write(
        `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * KiB}\r\n\r\n`,
      );
      const reply = await refused;
      assert.equal(reply.status, 413);
      assert.match(reply.body, /JSON body would hold about 1228800 bytes, more than the server's budget of 1048576/);
      assert.match(reply.body, /binary format \(Inference-Header-Content-Length\)/);
      socket.destroy();
      // The same tensor bytes in the binary format are charged once, and served.
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
          ],
        }),
      );
      const served = await fetch(`${small.url}/v2/models/simple/infer`, {
        method: 'POST',
        headers: { 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, Buffer.alloc(128)]),
      });
      assert.equal(served.status, 200);
    } finally {
      await small.close();
    }
  });

  it('charges a chunked body its route limit while it arrives, then its decoding once its size is known', async () => {
    const chunked = (body: string): string =>
      `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    // A small chunked JSON body is served, and its charge is released.
    const socket = await connect(server.httpPort);
    const answered = readResponse(socket);
    socket.write(chunked(SIMPLE));
    assert.equal((await answered).status, 200);
    socket.destroy();
    const gauge = async (): Promise<string> => await (await fetch(`${server.url}/metrics`)).text();
    assert.match(await gauge(), /^inferd_inflight_request_bytes 0$/m);
    // While one arrives, it holds its route's body limit (400 KiB here), not 12 times it.
    const slow = await connect(server.httpPort);
    slow.write(
      `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    slow.write('10\r\n{"inputs": [    \r\n');
    for (let i = 0; i < 100 && !/^inferd_inflight_request_bytes 409600$/m.test(await gauge()); i++);
    assert.match(await gauge(), /^inferd_inflight_request_bytes 409600$/m);
    // 300 KiB of JSON arrives: decoding it (3,600 KiB) and another request's 3,600 KiB held at
    // the same time would pass the 6,144 KiB budget, so this one is refused once its size is known.
    const other = await connect(server.httpPort);
    other.write(
      `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${300 * KiB}\r\n\r\n`,
    );
    for (let i = 0; i < 100 && !/^inferd_inflight_request_bytes 4096000$/m.test(await gauge()); i++);
    const refused = readResponse(slow);
    const rest = ' '.repeat(300 * KiB);
    slow.write(`${rest.length.toString(16)}\r\n${rest}\r\n0\r\n\r\n`);
    const reply = await refused;
    assert.equal(reply.status, 503);
    assert.match(reply.body, /this one needs 3686592 /);
    slow.destroy();
    other.destroy();
    for (let i = 0; i < 100 && !/^inferd_inflight_request_bytes 0$/m.test(await gauge()); i++);
    assert.match(await gauge(), /^inferd_inflight_request_bytes 0$/m);
  });

  it('refuses a budget smaller than the largest request accepted, at start-up', async () => {
    await assert.rejects(
      startTestServer({ modelRepository: EXAMPLES_DIR, maxBodyBytes: 1024 * KiB, maxInflightRequestBytes: 512 * KiB }),
      /--max-inflight-request-size \(524288 bytes\) is smaller than the largest request accepted/,
    );
  });
});
