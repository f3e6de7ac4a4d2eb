// Clients that send requests and do not read the answers, against the real server: a REST client
// pipelining requests for 4 MiB answers, and a WebSocket and a gRPC client streaming them, each
// make the server hold a bounded number of answers (the connection stops being served once 4 MiB
// of its answers sit unsent; on gRPC, HTTP/2 flow control holds the client's requests back too); while such clients leave more than --max-unsent-response-size unread, a
// new infer request from another client is a 503 with Retry-After naming the flag, health checks
// still answer, and the gauge says how much is unsent. Once the REST client goes away the server
// serves again; once a streaming client reads, every reply arrives.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, streamInfer, type Message } from '../grpc/grpc-client.js';
import { binaryMessage, streamUrl } from '../streaming/stream-client.js';

const MiB = 1024 * 1024;
const ELEMENTS = MiB; // 4 MiB of FP32 per answer
const PIPELINED = 10;

const header = {
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, ELEMENTS], parameters: { binary_data_size: 4 * ELEMENTS } }],
  outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
};
const headerBytes = Buffer.from(JSON.stringify(header));
const tensor = Buffer.from(new Float32Array(ELEMENTS).fill(1.5).buffer);

function restRequest(): Buffer {
  return Buffer.concat([
    Buffer.from(
      'POST /v2/models/identity_fp32/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
        `Inference-Header-Content-Length: ${headerBytes.length}\r\nContent-Length: ${headerBytes.length + tensor.length}\r\n\r\n`,
    ),
    headerBytes,
    tensor,
  ]);
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `${name} is exported`);
  return Number(match[1]);
}

async function successes(server: TestServer): Promise<number> {
  const stats = (await (await fetch(`${server.url}/v2/models/identity_fp32/stats`)).json()) as {
    model_stats: { inference_stats: { success: { count: number } } }[];
  };
  return stats.model_stats[0]?.inference_stats.success.count ?? 0;
}

/** The model's success count once it has stopped changing for 100 round trips in a row. */
async function settledSuccesses(server: TestServer): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < 100) {
    const now = await successes(server);
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Asks until `condition` holds (30 s at most), letting I/O run between tries. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`never: ${what}`);
}

describe('answers clients do not read', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['identity_fp32', 'simple'],
      maxUnsentResponseBytes: 2 * MiB,
    });
  });
  after(() => server.close());

  it('serves a non-reading REST client a bounded number of answers and refuses others past the budget', async () => {
    const client = net.connect(server.httpPort, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', resolve));
    client.pause();
    for (let i = 0; i < PIPELINED; i++) client.write(restRequest());
    await eventually(
      async () => (await metric(server, 'inferd_unsent_response_bytes')) > 2 * MiB,
      'the unread answers pass the budget',
    );
    const before = await settledSuccesses(server);
    // Another client's infer is refused while the answers sit unread; its health check is not.
    const refused = await fetch(`${server.url}/v2/models/identity_fp32/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(headerBytes.length) },
      body: Buffer.concat([headerBytes, tensor]),
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(((await refused.json()) as { error: string }).error, /--max-unsent-response-size/);
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
    assert.equal(await metric(server, 'inferd_unsent_response_refusals_total'), 1);
    // The connection is held back: well under the sixteen pipelined requests ran.
    assert.ok(before < PIPELINED / 2, `${before} of ${PIPELINED} ran while the client read nothing`);
    // The client goes away: what it left unsent is released, and others are served again.
    client.destroy();
    await eventually(
      async () => (await metric(server, 'inferd_unsent_response_bytes')) === 0,
      'nothing is left unsent',
    );
    const served = await fetch(`${server.url}/v2/models/identity_fp32/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(headerBytes.length) },
      body: Buffer.concat([headerBytes, tensor]),
    });
    assert.equal(served.status, 200);
    await served.arrayBuffer();
  });

  it('stops running a WebSocket stream whose client does not read, by bytes, and resumes it', async () => {
    const start = await successes(server);
    const socket = new WebSocket(streamUrl(server.url, 'identity_fp32'));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    let replies = 0;
    socket.on('message', () => replies++);
    // The client's TCP socket stops reading; its sends still go out.
    const raw = (socket as unknown as { _socket: net.Socket })._socket;
    raw.pause();
    const message = binaryMessage(header, new Float32Array(ELEMENTS).fill(1.5));
    const COUNT = 12;
    for (let i = 0; i < COUNT; i++) socket.send(message);
    await eventually(
      async () => (await metric(server, 'inferd_unsent_response_bytes')) >= 4 * MiB,
      'the stream holds 4 MiB unsent',
    );
    const ran = (await settledSuccesses(server)) - start;
    assert.ok(ran < COUNT / 2, `${ran} of ${COUNT} ran while the client read nothing (the cap by count is 64)`);
    raw.resume();
    await eventually(() => replies === COUNT, 'every reply arrives');
    assert.equal((await successes(server)) - start, COUNT);
    socket.close();
  });

  it('holds a bounded number of answers for a gRPC stream whose client does not read, and resumes it', async () => {
    const clients = connect(server);
    const start = await successes(server);
    const stream = streamInfer(clients.inference);
    let answers = 0;
    stream.on('data', (m: { error_message: string }) => {
      assert.equal(m.error_message, '');
      answers++;
    });
    stream.pause();
    const request: Message = {
      model_name: 'identity_fp32',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, ELEMENTS] }],
      raw_input_contents: [tensor],
    };
    const COUNT = 12;
    for (let i = 0; i < COUNT; i++) stream.write(request);
    stream.end();
    const ran = (await settledSuccesses(server)) - start;
    assert.ok(ran < COUNT / 2, `${ran} of ${COUNT} ran while the client read nothing (the cap by count is 64)`);
    stream.resume();
    await eventually(() => answers === COUNT, 'every answer arrives');
    assert.equal((await successes(server)) - start, COUNT);
    clients.close();
  });
});
