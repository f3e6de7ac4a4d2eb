// Throwaway certificates for the TLS tests, made at test time with the openssl command line in a
// temporary folder: a CA, a server certificate (SAN DNS:localhost, IP:127.0.0.1) and a client
// certificate it signed. Also a manual poll timer, so tests make the TLS watcher look at its
// files when they say so.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PollTimer } from '../../src/security/tls.js';

/** A CA's certificate and key files. */
export interface CaFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: CaFiles;
  /** The CA certificate's PEM, for clients to trust. */
  readonly caPem: Buffer;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface IssueOptions {
  readonly commonName: string;
  readonly usage: 'server' | 'client';
  readonly certFile: string;
  readonly keyFile: string;
  /** Signed by this CA (default: the PKI's own). */
  readonly ca?: CaFiles;
}

/** Runs openssl; a missing binary is a clear message, a failing command shows its stderr. */
function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(
          new Error(
            'the TLS tests make their certificates with the openssl command line, which is not installed (apt-get install openssl)',
          ),
        );
      reject(new Error(`openssl ${args.join(' ')} failed: ${stderr}`));
    });
  });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new self-signed CA in `dir`, as `<name>.pem` and `<name>.key`. */
export async function createCa(dir: string, name: string, commonName: string): Promise<CaFiles> {
  const ca = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  await openssl(
    ['req', '-x509', ...EC_KEY, '-keyout', ca.key, '-out', ca.cert, '-days', '2', '-subj', `/CN=${commonName}`],
    dir,
  );
  return ca;
}

/** A certificate signed by the CA, with a fresh key and a random serial. */
export async function issueCertificate(pki: TestPki, options: IssueOptions): Promise<void> {
  const ca = options.ca ?? pki.ca;
  const id = randomBytes(6).toString('hex');
  const csr = path.join(pki.dir, `${id}.csr`);
  const ext = path.join(pki.dir, `${id}.ext`);
  await writeFile(
    ext,
    options.usage === 'server'
      ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n'
      : 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  await openssl(
    ['req', '-new', ...EC_KEY, '-keyout', options.keyFile, '-out', csr, '-subj', `/CN=${options.commonName}`],
    pki.dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      options.certFile,
    ],
    pki.dir,
  );
  await Promise.all([rm(csr), rm(ext)]);
}

/** A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, in a temp folder. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-tls-'));
  const ca = await createCa(dir, 'ca', 'inferd test CA');
  const pki: TestPki = {
    dir,
    ca,
    caPem: await readFile(ca.cert),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
  };
  await issueCertificate(pki, {
    commonName: 'localhost',
    usage: 'server',
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
  });
  await issueCertificate(pki, {
    commonName: 'inferd test client',
    usage: 'client',
    certFile: pki.clientCert,
    keyFile: pki.clientKey,
  });
  return pki;
}

export async function removeTestPki(pki: TestPki): Promise<void> {
  await rm(pki.dir, { recursive: true, force: true });
}

/** A PollTimer that polls only when the test calls tick(), which resolves once every check has. */
export class ManualPollTimer implements PollTimer {
  private readonly checks = new Map<number, { ms: number; check: () => Promise<unknown> }>();
  private next = 0;

  every(ms: number, check: () => Promise<unknown>): () => void {
    const id = this.next++;
    this.checks.set(id, { ms, check });
    return () => this.checks.delete(id);
  }

  /** The intervals of the polls that run now. */
  get intervals(): number[] {
    return [...this.checks.values()].map((c) => c.ms);
  }

  async tick(): Promise<void> {
    await Promise.all([...this.checks.values()].map((c) => c.check()));
  }
}
