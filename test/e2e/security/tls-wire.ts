// Shared fixtures for the TLS and CORS end-to-end tests: requests over node:http(s) with a chosen
// CA and client certificate, the real curl, the peer certificate of a fresh TLS connection, a
// child node process (for the trust a process gets from NODE_EXTRA_CA_CERTS), and gRPC clients
// over TLS.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';

export const ROOT = path.resolve(import.meta.dirname, '../../..');

/** What a client presents: the CA it trusts, and for mTLS its certificate and key (PEM contents). */
export interface ClientTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** One request over node:http or node:https (by the URL's scheme); rejects when the connection fails. */
export function httpRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; tls?: ClientTls } = {},
): Promise<HttpReply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const options = {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      // A fresh connection each time: the certificate checks run on every request.
      agent: false as const,
      ...(init.tls ?? {}),
    };
    const done = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    const req =
      target.protocol === 'https:' ? https.request(target, options, done) : http.request(target, options, done);
    req.on('error', reject);
    req.end(init.body);
  });
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs curl (the real binary) with `args`; never rejects on a non-zero exit. */
export function curl(args: readonly string[]): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '20', ...args], (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(new Error(`curl did not run: ${err.message}`));
      resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
    });
  });
}

/**
 * Runs an ES module snippet in a child node process from the project root (so it imports the
 * project's packages), with extra environment variables, node options before the snippet (such
 * as `--import tsx`) and arguments after it (process.argv[1...]).
 */
export function runNode(
  code: string,
  args: readonly string[],
  env: Record<string, string>,
  nodeOptions: readonly string[] = [],
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, '--input-type=module', '-e', code, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The certificate a new TLS connection to 127.0.0.1:port is shown (verified against `ca`). */
export function peerCertificate(port: number, client: ClientTls, alpn?: string[]): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...client,
      ...(alpn === undefined ? {} : { ALPNProtocols: alpn }),
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

/** The serial number as node:crypto's X509Certificate spells it (upper-case hex, no colons). */
export function serialOf(cert: PeerCertificate): string {
  return cert.serialNumber.toUpperCase();
}

export interface SecureClients {
  readonly inference: grpc.Client;
  readonly health: grpc.Client;
  close(): void;
}

/**
 * Clients for the inference and health services at localhost:port with the given credentials
 * (localhost, as clients name the server: the certificate's DNS name is what grpc-js checks).
 */
export function grpcClients(port: number, credentials: grpc.ChannelCredentials): SecureClients {
  const protos = loadInferenceProtos();
  const address = `localhost:${port}`;
  const inference = new protos.inference(address, credentials);
  const health = new protos.health(address, credentials);
  return {
    inference,
    health,
    close() {
      inference.close();
      health.close();
    },
  };
}

/** Calls ServerLive; resolves with the reply or rejects with the ServiceError. */
export function serverLive(client: grpc.Client): Promise<Record<string, unknown>> {
  const fn = (client as unknown as Record<string, unknown>).ServerLive;
  assert.ok(typeof fn === 'function');
  return new Promise((resolve, reject) => {
    (
      fn as (
        req: object,
        options: grpc.CallOptions,
        cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void,
      ) => void
    ).call(client, {}, { deadline: Date.now() + 20_000 }, (err, res) =>
      err === null ? resolve(res ?? {}) : reject(err),
    );
  });
}
