// The TLS files are checked before use (readable, PEM, key of the certificate), polled on the
// injected timer, and a change replaces what serves only when it checks out: a half-written or
// mismatched replacement keeps the current certificate and is warned about once.

import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import {
  GRPC_TLS_FLAGS,
  readTlsMaterial,
  ServerTls,
  TLS_FLAGS,
  TLS_POLL_SECONDS,
  TlsFileWatcher,
  type TlsMaterial,
} from '../../src/security/tls.js';
import {
  createCa,
  createTestPki,
  issueCertificate,
  ManualPollTimer,
  removeTestPki,
  type TestPki,
} from '../helpers/test-certs.js';

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', destination), lines };
}

function serialOf(file: Buffer): string {
  return new X509Certificate(file).serialNumber;
}

describe('TLS files', () => {
  let pki: TestPki;
  /** A second server identity (key and certificate) and one signed by another CA. */
  let other: { cert: string; key: string };

  before(async () => {
    pki = await createTestPki();
    other = { cert: path.join(pki.dir, 'other.pem'), key: path.join(pki.dir, 'other.key') };
    await issueCertificate(pki, { commonName: 'other', usage: 'server', certFile: other.cert, keyFile: other.key });
  });
  after(() => removeTestPki(pki));

  describe('checked at start', () => {
    it('reads a certificate, its key and a client CA, with the leaf certificate described', () => {
      const m = readTlsMaterial({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.ca.cert });
      assert.equal(m.subject, 'CN=localhost');
      assert.match(m.serialNumber, /^[0-9A-F]+$/);
      assert.deepEqual(m.ca, pki.caPem);
    });

    it('names the flag and the path of a file it cannot read', () => {
      const missing = path.join(pki.dir, 'missing.pem');
      assert.throws(
        () => readTlsMaterial({ certFile: missing, keyFile: pki.serverKey }),
        (err: Error) =>
          err.message.startsWith(`--tls-cert-file ${missing}: cannot be read`) && err.message.includes('ENOENT'),
      );
      assert.throws(
        () => readTlsMaterial({ certFile: pki.serverCert, keyFile: missing }, GRPC_TLS_FLAGS),
        (err: Error) => err.message.startsWith(`--grpc-server-key ${missing}: cannot be read`),
      );
    });

    it('refuses files that are not PEM, naming the flag and the path', async () => {
      const junk = path.join(pki.dir, 'junk.txt');
      await writeFile(junk, 'not a certificate\n');
      assert.throws(() => readTlsMaterial({ certFile: junk, keyFile: pki.serverKey }), {
        message: `--tls-cert-file ${junk}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`,
      });
      assert.throws(() => readTlsMaterial({ certFile: pki.serverCert, keyFile: junk }), {
        message: `--tls-key-file ${junk}: not a PEM private key (no -----BEGIN PRIVATE KEY----- block)`,
      });
      assert.throws(() => readTlsMaterial({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: junk }), {
        message: `--tls-client-ca-file ${junk}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`,
      });
      // A certificate file given as the key (and the other way round) is not a key.
      assert.throws(() => readTlsMaterial({ certFile: pki.serverKey, keyFile: pki.serverCert }), /--tls-cert-file/);
    });

    it('refuses a key that does not belong to the certificate', () => {
      assert.throws(() => readTlsMaterial({ certFile: pki.serverCert, keyFile: other.key }), {
        message: `--tls-key-file ${other.key}: the private key does not match the certificate in --tls-cert-file ${pki.serverCert}`,
      });
    });

    it('refuses a truncated certificate', async () => {
      const text = await readFile(pki.serverCert, 'utf8');
      const half = path.join(pki.dir, 'half.pem');
      await writeFile(half, `${text.slice(0, 200)}\n-----END CERTIFICATE-----\n`);
      assert.throws(
        () => readTlsMaterial({ certFile: half, keyFile: pki.serverKey }),
        (err: Error) => err.message.startsWith(`--tls-cert-file ${half}: certificate 1 of the file is not valid PEM`),
      );
    });
  });

  describe('reloaded on change', () => {
    let dir: string;
    let files: { certFile: string; keyFile: string };

    before(() => {
      dir = pki.dir;
      files = { certFile: path.join(dir, 'live.pem'), keyFile: path.join(dir, 'live.key') };
    });

    async function serve(cert: string, key: string): Promise<void> {
      await copyFile(cert, files.certFile);
      await copyFile(key, files.keyFile);
    }

    it('polls every TLS_POLL_SECONDS on the injected timer, and stops', async () => {
      await serve(pki.serverCert, pki.serverKey);
      const timer = new ManualPollTimer();
      const { logger } = capturingLogger();
      const watcher = new TlsFileWatcher(files, TLS_FLAGS, { logger, timer });
      assert.deepEqual(timer.intervals, [], 'nothing polls before start()');
      watcher.start();
      assert.deepEqual(timer.intervals, [TLS_POLL_SECONDS * 1000]);
      watcher.stop();
      assert.deepEqual(timer.intervals, []);
    });

    it('reloads a replaced certificate; keeps the current one when the replacement is broken', async () => {
      await serve(pki.serverCert, pki.serverKey);
      const timer = new ManualPollTimer();
      const { logger, lines } = capturingLogger();
      const watcher = new TlsFileWatcher(files, TLS_FLAGS, { logger, timer, pollSeconds: 2 });
      const seen: TlsMaterial[] = [];
      watcher.onReload((m) => seen.push(m));
      watcher.start();
      const first = watcher.material.serialNumber;
      assert.equal(first, serialOf(await readFile(pki.serverCert)));

      await timer.tick();
      assert.equal(await watcher.checkNow(), 'unchanged');
      assert.equal(seen.length, 0);

      // A new certificate and key: reloaded, listeners told.
      await serve(other.cert, other.key);
      assert.equal(await watcher.checkNow(), 'reloaded');
      assert.equal(watcher.material.subject, 'CN=other');
      assert.notEqual(watcher.material.serialNumber, first);
      assert.deepEqual(
        seen.map((m) => m.subject),
        ['CN=other'],
      );
      const reloaded = lines.find((l) => l.msg === 'TLS certificate reloaded');
      assert.equal(reloaded?.serialNumber, watcher.material.serialNumber);

      // Half-written: the certificate is new but its key has not been written yet.
      await copyFile(pki.serverCert, files.certFile);
      assert.equal(await watcher.checkNow(), 'failed');
      assert.equal(watcher.material.subject, 'CN=other', 'the current certificate stays');
      const warnings = (): Record<string, unknown>[] =>
        lines.filter((l) => l.msg === 'TLS files changed but cannot be used: keeping the current certificate');
      assert.equal(warnings().length, 1);
      assert.match(String(warnings()[0]?.err), /does not match the certificate/);
      assert.equal(warnings()[0]?.level, 40, 'logged at warn');
      // The same broken state again: still failed, not warned about twice.
      await timer.tick();
      assert.equal(await watcher.checkNow(), 'failed');
      assert.equal(warnings().length, 1);

      // Garbage in the certificate file: still the current one.
      await writeFile(files.certFile, '-----BEGIN CERTIFICATE-----\ntruncated');
      assert.equal(await watcher.checkNow(), 'failed');
      assert.equal(warnings().length, 2);
      assert.equal(watcher.material.subject, 'CN=other');

      // The key arrives: the pair checks out and is reloaded.
      await serve(pki.serverCert, pki.serverKey);
      assert.equal(await watcher.checkNow(), 'reloaded');
      assert.equal(watcher.material.serialNumber, first);
      assert.deepEqual(
        seen.map((m) => m.subject),
        ['CN=other', 'CN=localhost'],
      );
      watcher.stop();
    });

    it('a file that disappears keeps the current certificate', async () => {
      await serve(pki.serverCert, pki.serverKey);
      const { logger, lines } = capturingLogger();
      const watcher = new TlsFileWatcher(files, TLS_FLAGS, { logger, timer: new ManualPollTimer() });
      await rm(files.keyFile);
      assert.equal(await watcher.checkNow(), 'failed');
      assert.equal(watcher.material.subject, 'CN=localhost');
      const warning = lines.find((l) => l.level === 40);
      assert.match(String(warning?.err), new RegExp(`^--tls-key-file ${files.keyFile}: cannot be read \\(ENOENT`));
    });
  });

  describe('one watcher per identity', () => {
    it('gRPC shares the REST identity when the files are the same, and has its own otherwise', () => {
      const { logger, lines } = capturingLogger();
      const tls = { certFile: pki.serverCert, keyFile: pki.serverKey };
      const timer = new ManualPollTimer();
      const shared = ServerTls.open({ tls, grpcTls: { ...tls } }, { logger, timer });
      assert.equal(shared.http, shared.grpc);
      assert.equal(shared.scheme, 'https');
      assert.deepEqual(timer.intervals, [TLS_POLL_SECONDS * 1000], 'one poll for both');
      shared.stop();
      assert.deepEqual(timer.intervals, []);

      const own = ServerTls.open({ tls, grpcTls: { certFile: other.cert, keyFile: other.key } }, { logger, timer });
      assert.notEqual(own.http, own.grpc);
      assert.equal(own.grpc?.material.subject, 'CN=other');
      assert.equal(own.grpc?.flags, GRPC_TLS_FLAGS);
      assert.equal(timer.intervals.length, 2);
      own.stop();

      const plain = ServerTls.open({ tls: null, grpcTls: null }, { logger, timer });
      assert.equal(plain.scheme, 'http');
      assert.equal(plain.httpsOptions, undefined);
      assert.equal(plain.grpcCredentials()._isSecure(), false);
      assert.equal(own.grpcCredentials()._isSecure(), true);
      assert.ok(lines.some((l) => l.msg === 'TLS certificate loaded' && l.subject === 'CN=other'));
    });

    it('with a client CA, HTTPS asks for and requires a client certificate', () => {
      const { logger } = capturingLogger();
      const mutual = ServerTls.open(
        { tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.ca.cert }, grpcTls: null },
        { logger, timer: new ManualPollTimer() },
      );
      assert.equal(mutual.httpsOptions?.requestCert, true);
      assert.equal(mutual.httpsOptions?.rejectUnauthorized, true);
      assert.deepEqual(mutual.httpsOptions?.ca, pki.caPem);
      const oneWay = ServerTls.open(
        { tls: { certFile: pki.serverCert, keyFile: pki.serverKey }, grpcTls: null },
        { logger, timer: new ManualPollTimer() },
      );
      assert.equal(oneWay.httpsOptions?.requestCert, undefined);
      assert.equal(oneWay.httpsOptions?.ca, undefined);
    });

    it('a bad gRPC file names the Triton flag it came from', async () => {
      const { logger } = capturingLogger();
      const foreign = await createCa(pki.dir, 'foreign-ca', 'foreign');
      assert.throws(
        () =>
          ServerTls.open(
            { tls: null, grpcTls: { certFile: pki.serverCert, keyFile: foreign.key } },
            { logger, timer: new ManualPollTimer() },
          ),
        {
          message: `--grpc-server-key ${foreign.key}: the private key does not match the certificate in --grpc-server-cert ${pki.serverCert}`,
        },
      );
    });
  });
});
