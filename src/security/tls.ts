// TLS material for the listeners: reads and checks the PEM files (certificate chain, private key,
// and for mTLS the CA that client certificates must chain to) before a listener opens, builds the
// options Node's TLS servers take, and keeps them current: the files are polled, and a change that
// checks out is put on every listener (HTTPS and gRPC on node:http2: `server.setSecureContext`;
// gRPC on grpc-js: a certificate provider). A change that does not check out (a half-written file, a key of another
// certificate) keeps the certificate in use and logs a warning.

import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Server as NetServer } from 'node:net';
import { createSecureContext, Server as TlsServer, type SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { InferdError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';

/** The files of one TLS identity; `clientCaFile` turns on mTLS. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string | undefined;
}

/** The flag each file came from, so errors and warnings name what the operator typed. */
export interface TlsFlagNames {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string;
}

export const TLS_FLAGS: TlsFlagNames = {
  certFile: '--tls-cert-file',
  keyFile: '--tls-key-file',
  clientCaFile: '--tls-client-ca-file',
};

/** Triton's names for the gRPC listener's files. */
export const GRPC_TLS_FLAGS: TlsFlagNames = {
  certFile: '--grpc-server-cert',
  keyFile: '--grpc-server-key',
  clientCaFile: '--grpc-root-cert',
};

/** Checked PEM contents, ready for a TLS server. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The CA bundle client certificates must chain to (mTLS), or undefined. */
  readonly ca: Buffer | undefined;
  /** The leaf certificate, for logs. */
  readonly subject: string;
  readonly serialNumber: string;
  readonly validTo: string;
}

/** How often the files are read for a change unless told otherwise. */
export const TLS_POLL_SECONDS = 10;

/** The timer the watcher polls on; tests replace it with a manual one. */
export interface PollTimer {
  /** Calls `check` every `ms` milliseconds until the returned function is called. */
  every(ms: number, check: () => Promise<unknown>): () => void;
}

/** setInterval, unref'd: a pending poll never holds the process open. */
export const realPollTimer: PollTimer = {
  every(ms, check) {
    const handle = setInterval(() => void check(), ms);
    handle.unref();
    return () => clearInterval(handle);
  },
};

/** What one look at the files found. */
export type TlsCheckResult = 'unchanged' | 'reloaded' | 'failed';

interface Contents {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

function invalid(message: string): InferdError {
  return new InferdError('INF_ERR_INVALID_CONFIG', message);
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function readOne(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw invalid(`${flag} ${file}: cannot be read (${reason(err)})`);
  }
}

async function readOneAsync(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw invalid(`${flag} ${file}: cannot be read (${reason(err)})`);
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(text: string, flag: string, file: string): X509Certificate[] {
  const blocks = text.match(CERT_BLOCK);
  if (blocks === null) throw invalid(`${flag} ${file}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw invalid(`${flag} ${file}: certificate ${i + 1} of the file is not valid PEM (${reason(err)})`);
    }
  });
}

function privateKey(text: string, flag: string, file: string): KeyObject {
  if (!/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/.test(text))
    throw invalid(`${flag} ${file}: not a PEM private key (no -----BEGIN PRIVATE KEY----- block)`);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text))
    throw invalid(
      `${flag} ${file}: the private key is encrypted; give it unencrypted (openssl pkey -in ${file} -out key.pem)`,
    );
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw invalid(`${flag} ${file}: not a valid PEM private key (${reason(err)})`);
  }
}

/** Checks read contents; throws an InferdError naming the flag and file at fault. */
function check(contents: Contents, files: TlsFiles, flags: TlsFlagNames): TlsMaterial {
  const chain = certificates(contents.cert.toString('utf8'), flags.certFile, files.certFile);
  const key = privateKey(contents.key.toString('utf8'), flags.keyFile, files.keyFile);
  const leaf = chain[0];
  if (leaf === undefined) throw invalid(`${flags.certFile} ${files.certFile}: holds no certificate`);
  if (!leaf.checkPrivateKey(key))
    throw invalid(
      `${flags.keyFile} ${files.keyFile}: the private key does not match the certificate in ${flags.certFile} ${files.certFile}`,
    );
  if (contents.ca !== undefined && files.clientCaFile !== undefined)
    certificates(contents.ca.toString('utf8'), flags.clientCaFile, files.clientCaFile);
  // OpenSSL has the last word (an unsupported key type, say).
  try {
    createSecureContext(secureContextOptions(contents));
  } catch (err) {
    throw invalid(`${flags.certFile} ${files.certFile}, ${flags.keyFile} ${files.keyFile}: ${reason(err)}`);
  }
  return {
    cert: contents.cert,
    key: contents.key,
    ca: contents.ca,
    subject: leaf.subject,
    serialNumber: leaf.serialNumber,
    validTo: leaf.validTo,
  };
}

function digest(contents: Contents): string {
  const hash = createHash('sha256');
  for (const part of [contents.cert, contents.key, contents.ca ?? Buffer.alloc(0)]) {
    hash.update(String(part.length)).update(':').update(part);
  }
  return hash.digest('hex');
}

/** Reads and checks the files now (start-up); throws an InferdError naming the flag and path. */
export function readTlsMaterial(files: TlsFiles, flags: TlsFlagNames = TLS_FLAGS): TlsMaterial {
  const contents: Contents = {
    cert: readOne(flags.certFile, files.certFile),
    key: readOne(flags.keyFile, files.keyFile),
    ca: files.clientCaFile === undefined ? undefined : readOne(flags.clientCaFile, files.clientCaFile),
  };
  return check(contents, files, flags);
}

/** The secure-context part of the options: what a reload replaces. */
export function secureContextOptions(material: Contents): SecureContextOptions {
  return material.ca === undefined
    ? { cert: material.cert, key: material.key }
    : { cert: material.cert, key: material.key, ca: material.ca };
}

/**
 * Options for `https.createServer` (fastify's `https` option): with a client CA, a client must
 * present a certificate that chains to it, or the handshake fails.
 */
export function httpsServerOptions(material: TlsMaterial): HttpsServerOptions {
  return material.ca === undefined
    ? secureContextOptions(material)
    : { ...secureContextOptions(material), requestCert: true, rejectUnauthorized: true };
}

export interface TlsWatcherOptions {
  readonly logger: Logger;
  readonly timer?: PollTimer;
  readonly pollSeconds?: number;
}

/**
 * One TLS identity read from files, checked at start, then polled: the files' contents are
 * hashed on every poll and a change is checked like at start before it replaces what serves.
 */
export class TlsFileWatcher {
  private current: TlsMaterial;
  private currentDigest: string;
  /** What the last failed check saw, so one bad state is warned about once. */
  private failed: string | undefined;
  private checking: Promise<TlsCheckResult> | undefined;
  private readonly listeners = new Set<(material: TlsMaterial) => void>();
  private stopPolling: (() => void) | undefined;

  /** Reads and checks the files (throws an InferdError naming the flag and path). */
  constructor(
    readonly files: TlsFiles,
    readonly flags: TlsFlagNames,
    private readonly options: TlsWatcherOptions,
  ) {
    this.current = readTlsMaterial(files, flags);
    this.currentDigest = digest(this.current);
  }

  /** What serves now. */
  get material(): TlsMaterial {
    return this.current;
  }

  get mutual(): boolean {
    return this.files.clientCaFile !== undefined;
  }

  /** Starts polling the files (every `pollSeconds`, default TLS_POLL_SECONDS). */
  start(): void {
    if (this.stopPolling !== undefined) return;
    const ms = (this.options.pollSeconds ?? TLS_POLL_SECONDS) * 1000;
    this.stopPolling = (this.options.timer ?? realPollTimer).every(ms, () => this.checkNow());
  }

  stop(): void {
    this.stopPolling?.();
    this.stopPolling = undefined;
  }

  /** Calls `listener` with every reloaded material; returns the function that unsubscribes. */
  onReload(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keeps a TLS listener's certificate current (`setSecureContext` on every reload). */
  keepCurrent(server: NetServer): void {
    if (!(server instanceof TlsServer)) throw new Error('keepCurrent needs a TLS server (was it built with https?)');
    this.onReload((material) => server.setSecureContext(secureContextOptions(material)));
  }

  /** Reads the files and, when they changed and check out, reloads; one check at a time. */
  checkNow(): Promise<TlsCheckResult> {
    this.checking ??= this.look().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async look(): Promise<TlsCheckResult> {
    const { files, flags, options } = this;
    let contents: Contents;
    try {
      contents = {
        cert: await readOneAsync(flags.certFile, files.certFile),
        key: await readOneAsync(flags.keyFile, files.keyFile),
        ca: files.clientCaFile === undefined ? undefined : await readOneAsync(flags.clientCaFile, files.clientCaFile),
      };
    } catch (err) {
      return this.fail(`unreadable:${reason(err)}`, err);
    }
    const seen = digest(contents);
    if (seen === this.currentDigest) {
      this.failed = undefined;
      return 'unchanged';
    }
    let material: TlsMaterial;
    try {
      material = check(contents, files, flags);
    } catch (err) {
      return this.fail(seen, err);
    }
    this.current = material;
    this.currentDigest = seen;
    this.failed = undefined;
    for (const listener of this.listeners) {
      try {
        listener(material);
      } catch (err) {
        options.logger.warn({ err: reason(err), certFile: files.certFile }, 'TLS reload: a listener refused it');
      }
    }
    options.logger.info(
      {
        certFile: files.certFile,
        subject: material.subject,
        serialNumber: material.serialNumber,
        validTo: material.validTo,
      },
      'TLS certificate reloaded',
    );
    return 'reloaded';
  }

  private fail(state: string, err: unknown): TlsCheckResult {
    if (state !== this.failed) {
      this.failed = state;
      this.options.logger.warn(
        { err: reason(err), serialNumber: this.current.serialNumber },
        'TLS files changed but cannot be used: keeping the current certificate',
      );
    }
    return 'failed';
  }

  /**
   * gRPC server credentials that follow this watcher: grpc-js's certificate-provider credentials
   * (`experimental.createCertificateProviderServerCredentials`), fed by a provider that publishes
   * only checked material. grpc-js puts each update on its listener with `setSecureContext`.
   */
  grpcCredentials(): grpc.ServerCredentials {
    const provider = new WatcherCertificateProvider(this);
    // grpc-js 1.14 names the first parameter caCertificateProvider but uses it as the identity
    // provider, and the second as the CA provider; one provider serves both here.
    return grpc.experimental.createCertificateProviderServerCredentials(
      provider,
      this.mutual ? provider : null,
      this.mutual,
    );
  }
}

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/**
 * A grpc-js CertificateProvider over a TlsFileWatcher. grpc-js's own FileWatcherCertificateProvider
 * is not used: it publishes whatever the files hold, and a half-written file makes grpc-js drop
 * every connection until the next good read; and it polls on its own setInterval.
 */
class WatcherCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly identity = new Set<IdentityListener>();
  private readonly ca = new Set<CaListener>();

  constructor(private readonly watcher: TlsFileWatcher) {
    watcher.onReload((material) => {
      for (const listener of this.identity) listener({ certificate: material.cert, privateKey: material.key });
      const ca = material.ca;
      if (ca !== undefined) for (const listener of this.ca) listener({ caCertificate: ca });
    });
  }

  // grpc-js subscribes before it registers the listener's own watcher, so the first update is
  // delivered on the next tick (as grpc-js's own providers do), not during the call.
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.add(listener);
    process.nextTick(() => {
      const { cert, key } = this.watcher.material;
      if (this.identity.has(listener)) listener({ certificate: cert, privateKey: key });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.ca.add(listener);
    process.nextTick(() => {
      const ca = this.watcher.material.ca;
      if (this.ca.has(listener) && ca !== undefined) listener({ caCertificate: ca });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.ca.delete(listener);
  }
}

/** The server's TLS settings: `tls` for every listener, `grpcTls` (Triton's flags) for gRPC only. */
export interface ServerTlsSettings {
  readonly tls: TlsFiles | null;
  readonly grpcTls: TlsFiles | null;
}

function sameFiles(a: TlsFiles, b: TlsFiles): boolean {
  const same = (x: string | undefined, y: string | undefined): boolean =>
    x === undefined || y === undefined ? x === y : path.resolve(x) === path.resolve(y);
  return same(a.certFile, b.certFile) && same(a.keyFile, b.keyFile) && same(a.clientCaFile, b.clientCaFile);
}

/**
 * The TLS of every listener: the REST and metrics listeners follow `tls`, gRPC follows `grpcTls`
 * or else `tls`. Opening reads and checks every file (an InferdError naming the flag and path),
 * so a bad file stops the start before a listener opens; then the files are polled.
 */
export class ServerTls {
  private constructor(
    /** The REST and metrics listeners' identity, or undefined for plain HTTP. */
    readonly http: TlsFileWatcher | undefined,
    /** The gRPC listener's identity, or undefined for plaintext. */
    readonly grpc: TlsFileWatcher | undefined,
  ) {}

  static open(settings: ServerTlsSettings, options: TlsWatcherOptions): ServerTls {
    const http = settings.tls === null ? undefined : new TlsFileWatcher(settings.tls, TLS_FLAGS, options);
    let grpcWatcher = http;
    if (settings.grpcTls !== null)
      grpcWatcher =
        http !== undefined && sameFiles(http.files, settings.grpcTls)
          ? http
          : new TlsFileWatcher(settings.grpcTls, GRPC_TLS_FLAGS, options);
    for (const watcher of new Set([http, grpcWatcher])) {
      if (watcher === undefined) continue;
      const { subject, serialNumber, validTo } = watcher.material;
      options.logger.info(
        { certFile: watcher.files.certFile, subject, serialNumber, validTo, mutual: watcher.mutual },
        'TLS certificate loaded',
      );
      watcher.start();
    }
    return new ServerTls(http, grpcWatcher);
  }

  /** fastify's `https` option for the REST and metrics listeners, or undefined for plain HTTP. */
  get httpsOptions(): HttpsServerOptions | undefined {
    return this.http === undefined ? undefined : httpsServerOptions(this.http.material);
  }

  /** The URL scheme of the REST listener. */
  get scheme(): 'http' | 'https' {
    return this.http === undefined ? 'http' : 'https';
  }

  /** Keeps an HTTPS listener built with `httpsOptions` current; a plain one is left alone. */
  keepCurrent(server: NetServer): void {
    if (this.http !== undefined) this.http.keepCurrent(server);
  }

  /** Credentials for the gRPC listener: TLS following the files, or plaintext. */
  grpcCredentials(): grpc.ServerCredentials {
    return this.grpc === undefined ? grpc.ServerCredentials.createInsecure() : this.grpc.grpcCredentials();
  }

  /** Every watcher looks at its files now (the poll, on demand). */
  async checkNow(): Promise<TlsCheckResult[]> {
    const watchers = [...new Set([this.http, this.grpc])].filter((w) => w !== undefined);
    return Promise.all(watchers.map((w) => w.checkNow()));
  }

  /** Stops polling. */
  stop(): void {
    this.http?.stop();
    this.grpc?.stop();
  }
}
