// The zero-loss drain works over HTTPS too: on close, an idle keep-alive TLS connection is ended
// gracefully (close_notify and FIN) at once, without waiting out the grace period, which here
// never ends on its own.

import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { ShutdownTimers } from '../../../src/server.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { createTestPki, removeTestPki, type TestPki } from '../../helpers/test-certs.js';

/** Sleeps that never end: the grace period cannot be what closes the connections. */
const NEVER: ShutdownTimers = { sleep: () => new Promise<void>(() => undefined) };

describe('drain over HTTPS', () => {
  let pki: TestPki;
  let server: TestServer;

  before(async () => {
    pki = await createTestPki();
    server = await startTestServer(
      {
        modelRepository: EXAMPLES_DIR,
        modelControlMode: 'explicit',
        loadModels: [],
        tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
      },
      { timers: NEVER },
    );
  });
  after(() => removeTestPki(pki));

  it('ends an idle keep-alive TLS connection gracefully and closes', { timeout: 30_000 }, async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.httpPort, ca: pki.caPem });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    let received = '';
    const answered = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        received += d.toString('utf8');
        // The reply has no body (content-length: 0): it is complete with its headers.
        if (received.includes('\r\n\r\n')) resolve();
      }),
    );
    socket.write('GET /v2/health/live HTTP/1.1\r\nhost: localhost\r\n\r\n');
    await answered;
    assert.match(received, /^HTTP\/1\.1 200 OK/);
    assert.match(received, /content-length: 0\r\n/);
    assert.match(received, /connection: keep-alive/i);

    const ended = new Promise<string>((resolve) => {
      socket.once('end', () => resolve('end'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    await server.close();
    assert.equal(await ended, 'end', 'the idle TLS connection was ended, not reset');
    assert.equal(
      server.logs.some((l) => String(l.msg).startsWith('grace period over')),
      false,
      'nothing was left for the grace period to cut',
    );
    socket.destroy();
  });
});
