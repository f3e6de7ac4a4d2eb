// Replaced certificate files are picked up at the next poll without a restart: new connections to
// the REST, metrics and gRPC listeners see the new certificate. A broken replacement (garbage, a
// key of another certificate) keeps the certificate in use, and the server logs a warning.

import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { StartOptions } from '../../../src/server.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import {
  createTestPki,
  issueCertificate,
  ManualPollTimer,
  removeTestPki,
  type TestPki,
} from '../../helpers/test-certs.js';
import { curl, grpcClients, peerCertificate, serialOf, serverLive } from './tls-wire.js';

describe('certificate reload', () => {
  let pki: TestPki;
  let server: TestServer;
  const timer = new ManualPollTimer();
  /** The files the server serves from, overwritten by the tests. */
  let live: { certFile: string; keyFile: string };
  let renewed: { certFile: string; keyFile: string };

  before(async () => {
    pki = await createTestPki();
    live = { certFile: path.join(pki.dir, 'live.pem'), keyFile: path.join(pki.dir, 'live.key') };
    renewed = { certFile: path.join(pki.dir, 'renewed.pem'), keyFile: path.join(pki.dir, 'renewed.key') };
    await copyFile(pki.serverCert, live.certFile);
    await copyFile(pki.serverKey, live.keyFile);
    await issueCertificate(pki, { commonName: 'renewed.localhost', usage: 'server', ...renewed });
    // startTestServer passes its second argument on to startServer's options.
    const start: StartOptions = { tlsPollTimer: timer };
    server = await startTestServer(
      {
        modelRepository: EXAMPLES_DIR,
        modelControlMode: 'explicit',
        loadModels: [],
        metricsPort: 0,
        tls: live,
      },
      start,
    );
  });
  after(async () => {
    await server.close();
    await removeTestPki(pki);
  });

  /** The serial number each listener shows a new connection. */
  async function servedSerials(): Promise<{ rest: string; metrics: string; grpc: string }> {
    assert.ok(server.metricsPort !== undefined && server.grpcPort !== undefined);
    const trust = { ca: pki.caPem };
    const [rest, metrics, grpcCert] = await Promise.all([
      peerCertificate(server.httpPort, trust),
      peerCertificate(server.metricsPort, trust),
      peerCertificate(server.grpcPort, trust, ['h2']),
    ]);
    return { rest: serialOf(rest), metrics: serialOf(metrics), grpc: serialOf(grpcCert) };
  }

  const warnings = (): Record<string, unknown>[] =>
    server.logs.filter((l) => l.msg === 'TLS files changed but cannot be used: keeping the current certificate');

  it('polls the files every 10 seconds', () => {
    assert.deepEqual(timer.intervals, [10_000]);
  });

  it('a replaced certificate is served on new connections after the next poll', async () => {
    const before = await servedSerials();
    const original = (await peerCertificate(server.httpPort, { ca: pki.caPem })).subject.CN;
    assert.equal(original, 'localhost');
    assert.equal(before.metrics, before.rest);
    assert.equal(before.grpc, before.rest);

    await copyFile(renewed.certFile, live.certFile);
    await copyFile(renewed.keyFile, live.keyFile);
    // Nothing changes until the poll.
    assert.deepEqual(await servedSerials(), before);
    await timer.tick();

    const after = await servedSerials();
    assert.notEqual(after.rest, before.rest);
    assert.equal(after.metrics, after.rest);
    assert.equal(after.grpc, after.rest);
    const cert = await peerCertificate(server.httpPort, { ca: pki.caPem });
    assert.equal(cert.subject.CN, 'renewed.localhost');
    const reloaded = server.logs.find((l) => l.msg === 'TLS certificate reloaded');
    assert.equal(String(reloaded?.serialNumber), after.rest);

    // Clients that trust the CA go on being served.
    const ok = await curl([
      '--cacert',
      pki.ca.cert,
      '--write-out',
      '%{http_code}',
      '-o',
      '/dev/null',
      `${server.url}/v2/health/live`,
    ]);
    assert.equal(ok.stdout, '200', ok.stderr);
    assert.ok(server.grpcPort !== undefined);
    const clients = grpcClients(server.grpcPort, grpc.credentials.createSsl(pki.caPem));
    try {
      assert.deepEqual(await serverLive(clients.inference), { live: true });
    } finally {
      clients.close();
    }
  });

  it('a broken replacement keeps the current certificate and logs a warning', async () => {
    const current = await servedSerials();
    const warned = warnings().length;

    // A half-written certificate file.
    await writeFile(live.certFile, '-----BEGIN CERTIFICATE-----\nMIIB');
    await timer.tick();
    assert.deepEqual(await servedSerials(), current);
    assert.equal(warnings().length, warned + 1);
    assert.match(String(warnings().at(-1)?.err), /--tls-cert-file .*live\.pem: not a PEM certificate/);

    // A whole certificate, but not the one the key belongs to.
    await copyFile(pki.serverCert, live.certFile);
    await timer.tick();
    assert.deepEqual(await servedSerials(), current);
    assert.equal(warnings().length, warned + 2);
    assert.match(String(warnings().at(-1)?.err), /the private key does not match the certificate/);
    assert.equal(warnings().at(-1)?.level, 40, 'at warn level');

    // Its key arrives: the pair is served.
    await copyFile(pki.serverKey, live.keyFile);
    await timer.tick();
    const restored = await servedSerials();
    assert.notEqual(restored.rest, current.rest);
    assert.equal((await peerCertificate(server.httpPort, { ca: pki.caPem })).subject.CN, 'localhost');
    assert.equal(restored.grpc, restored.rest);
  });
});
