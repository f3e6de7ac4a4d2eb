// --max-connections against the real server: past the limit a new connection is closed at once,
// the ones already open are served, and a slot that frees is taken again. Timeouts that cannot
// hold together (headers allowed longer than the whole request) stop the server from starting.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends GET /health on the socket and resolves with what came back before the socket closed or answered. */
function health(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('"status":"ok"')) resolve(text);
    });
    socket.once('close', () => resolve(text));
    socket.on('error', () => undefined);
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

describe('connection limits', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: [],
      maxConnections: 2,
    });
  });
  after(() => server.close());

  it('closes a connection past --max-connections at once and serves the ones within it', async () => {
    const a = await open(server.httpPort);
    const b = await open(server.httpPort);
    assert.match(await health(a), /200 OK/);
    const c = await open(server.httpPort);
    assert.equal(await health(c), '', 'the third connection is closed without an answer');
    assert.match(await health(b), /200 OK/);
    a.destroy();
    await new Promise<void>((resolve) => a.once('close', () => resolve()));
    // The server learns of the close on its next turn; a new connection then fits.
    let answer = '';
    for (let tries = 0; tries < 50 && answer === ''; tries++) answer = await health(await open(server.httpPort));
    assert.match(answer, /200 OK/);
    b.destroy();
  });

  it('refuses a headers timeout longer than the request timeout, naming both flags', async () => {
    await assert.rejects(
      startTestServer({ modelRepository: EXAMPLES_DIR, headersTimeoutSeconds: 90, requestTimeoutSeconds: 60 }),
      /--headers-timeout-secs \(90\) must not be longer than --request-timeout-secs \(60\)/,
    );
  });
});
