// With --tls-client-ca-file (mTLS) every listener requires a client certificate signed by that
// CA: without one, or with one from another CA, the TLS handshake fails for curl, grpc-js, fetch
// and node:https; with one, each of them is served.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { createCa, createTestPki, issueCertificate, removeTestPki, type TestPki } from '../../helpers/test-certs.js';
import { assertStillServing } from '../grpc/grpc-client.js';
import { curl, grpcClients, httpRequest, runNode, serverLive } from './tls-wire.js';

/**
 * curl's exit codes for a connection the server ends in the handshake. In TLS 1.3 the client's
 * side of the handshake is over before the server has checked the client's certificate, so curl
 * sees the server's alert (56, "tlsv13 alert certificate required") or the closed connection (52)
 * on its first read; in TLS 1.2 the handshake itself fails (35).
 */
const HANDSHAKE_REFUSED = [35, 52, 56];

describe('mTLS', () => {
  let pki: TestPki;
  let server: TestServer;
  let client: { cert: Buffer; key: Buffer };
  /** A client certificate signed by a CA the server does not know. */
  let stranger: { certFile: string; keyFile: string };

  before(async () => {
    pki = await createTestPki();
    const foreign = await createCa(pki.dir, 'foreign-ca', 'another CA');
    stranger = { certFile: path.join(pki.dir, 'stranger.pem'), keyFile: path.join(pki.dir, 'stranger.key') };
    await issueCertificate(pki, { commonName: 'stranger', usage: 'client', ...stranger, ca: foreign });
    client = { cert: await readFile(pki.clientCert), key: await readFile(pki.clientKey) };
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
      metricsPort: 0,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.ca.cert },
    });
  });
  after(async () => {
    await server.close();
    await removeTestPki(pki);
  });

  const ready = (): string => `${server.url}/v2/health/ready`;

  it('curl: refused without a client certificate or with a stranger one; served with the client certificate', async () => {
    const without = await curl(['--cacert', pki.ca.cert, ready()]);
    assert.ok(HANDSHAKE_REFUSED.includes(without.code ?? 0), `exit ${without.code}: ${without.stderr}`);
    assert.match(without.stderr, /certificate required|alert|Empty reply|Connection reset/i);
    assert.equal(without.stdout, '', 'no HTTP answer');

    const tls12 = await curl(['--cacert', pki.ca.cert, '--tls-max', '1.2', ready()]);
    assert.equal(tls12.code, 35, `TLS 1.2: the handshake fails (${tls12.stderr})`);

    const strange = await curl([
      '--cacert',
      pki.ca.cert,
      '--cert',
      stranger.certFile,
      '--key',
      stranger.keyFile,
      ready(),
    ]);
    assert.ok(HANDSHAKE_REFUSED.includes(strange.code ?? 0), `exit ${strange.code}: ${strange.stderr}`);
    assert.match(strange.stderr, /unknown ca|alert|Empty reply|Connection reset/i);
    assert.equal(strange.stdout, '', 'no HTTP answer');

    const withCert = await curl([
      '--cacert',
      pki.ca.cert,
      '--cert',
      pki.clientCert,
      '--key',
      pki.clientKey,
      '--write-out',
      '%{http_code}',
      '--output',
      '/dev/null',
      ready(),
    ]);
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.equal(withCert.stdout, '200');
  });

  it('fetch (trusting the CA through NODE_EXTRA_CA_CERTS) cannot present a certificate and is refused', async () => {
    // Under load undici can drop the request whose socket the server closed without settling the
    // promise; the loop then empties with the await pending (exit code 13). No answer is a refusal too.
    const script = `
      let settled = false;
      process.on('beforeExit', () => {
        if (settled) return;
        console.log('refused without an answer');
        process.exit(0);
      });
      try {
        const res = await fetch(process.argv[1]);
        console.log('status ' + res.status);
      } catch (err) {
        console.log('refused ' + (err.cause?.code ?? err.cause?.message ?? err.message));
      }
      settled = true;
    `;
    const result = await runNode(script, [ready()], { NODE_EXTRA_CA_CERTS: pki.ca.cert });
    assert.equal(result.code, 0, result.stderr);
    // How the refusal reaches fetch depends on timing: the alert itself, or the socket the server
    // closed (reset, or EPIPE when the request was still being written).
    assert.match(
      result.stdout.trim(),
      /^refused (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET|EPIPE|UND_ERR_SOCKET|without an answer)$/,
    );
  });

  it('node:https: refused without a client certificate, served with it', async () => {
    await assert.rejects(
      httpRequest(ready(), { tls: { ca: pki.caPem } }),
      /CERTIFICATE_REQUIRED|certificate required|ECONNRESET|socket hang up/,
    );
    const reply = await httpRequest(ready(), { tls: { ca: pki.caPem, ...client } });
    assert.equal(reply.status, 200);
  });

  it('grpc-js: UNAVAILABLE without a client certificate, served with createSsl(ca, key, cert)', async () => {
    assert.ok(server.grpcPort !== undefined);
    const without = grpcClients(server.grpcPort, grpc.credentials.createSsl(pki.caPem));
    try {
      await assert.rejects(serverLive(without.inference), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
        return true;
      });
    } finally {
      without.close();
    }
    const withCert = grpcClients(server.grpcPort, grpc.credentials.createSsl(pki.caPem, client.key, client.cert));
    try {
      assert.deepEqual(await serverLive(withCert.inference), { live: true });
      await assertStillServing(withCert.inference);
    } finally {
      withCert.close();
    }
  });

  it('the metrics port requires the client certificate too', async () => {
    assert.ok(server.metricsPort !== undefined);
    const url = `https://127.0.0.1:${server.metricsPort}/metrics`;
    await assert.rejects(httpRequest(url, { tls: { ca: pki.caPem } }));
    const reply = await httpRequest(url, { tls: { ca: pki.caPem, ...client } });
    assert.equal(reply.status, 200);
    assert.match(reply.text, /^# HELP /m);
  });
});
