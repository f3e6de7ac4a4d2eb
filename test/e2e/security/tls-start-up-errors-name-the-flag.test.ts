// TLS settings that cannot work stop the start with a message naming the flag (and the file):
// a certificate without its key, Triton's gRPC flags incomplete or disagreeing with --tls-*, an
// unreadable or non-PEM file, a key that is not the certificate's. File errors come before
// anything listens.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../../src/cli/main.js';
import { startServer } from '../../../src/server.js';
import { EXAMPLES_DIR } from '../../helpers/test-server.js';
import { createTestPki, issueCertificate, removeTestPki, type TestPki } from '../../helpers/test-certs.js';

/** Parses `inferd serve ...` in-process, capturing stderr instead of exiting. */
async function serveFlags(args: string[]): Promise<{ exitCode: number; stderr: string }> {
  let stderr = '';
  const program = await buildProgram('serve');
  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  try {
    await program.parseAsync(['node', 'inferd', 'serve', '-m', EXAMPLES_DIR, ...args]);
  } catch (err) {
    if (err instanceof CommanderError) return { exitCode: err.exitCode, stderr };
    throw err;
  }
  return { exitCode: 0, stderr };
}

describe('TLS flags that cannot work', () => {
  const CASES: { args: string[]; message: string }[] = [
    {
      args: ['--tls-cert-file', 'server.pem'],
      message: 'error: --tls-cert-file needs --tls-key-file (the private key of the certificate)',
    },
    {
      args: ['--tls-key-file', 'server.key'],
      message: 'error: --tls-key-file needs --tls-cert-file (the certificate of the private key)',
    },
    {
      args: ['--tls-client-ca-file', 'ca.pem'],
      message:
        "error: --tls-client-ca-file needs --tls-cert-file and --tls-key-file (the server's own certificate and key)",
    },
    {
      args: ['--grpc-use-ssl', '--grpc-server-cert', 'server.pem'],
      message: 'error: --grpc-use-ssl needs --grpc-server-key',
    },
    {
      args: ['--grpc-use-ssl=true', '--grpc-server-key', 'server.key'],
      message: 'error: --grpc-use-ssl needs --grpc-server-cert',
    },
    {
      args: ['--grpc-use-ssl-mutual', '--grpc-server-cert', 'server.pem', '--grpc-server-key', 'server.key'],
      message: 'error: --grpc-use-ssl-mutual needs --grpc-root-cert (the CA that client certificates must chain to)',
    },
    {
      args: ['--grpc-server-cert', 'server.pem', '--grpc-server-key', 'server.key'],
      message:
        'error: --grpc-server-cert, --grpc-server-key take effect only with --grpc-use-ssl=true (or --grpc-use-ssl-mutual=true)',
    },
    {
      args: [
        '--tls-cert-file',
        'server.pem',
        '--tls-key-file',
        'server.key',
        '--grpc-use-ssl=true',
        '--grpc-server-cert',
        'grpc.pem',
        '--grpc-server-key',
        'server.key',
      ],
      message:
        "error: --tls-cert-file and --grpc-server-cert disagree on the gRPC listener's certificate: give one of them, or the same file to both",
    },
    {
      args: [
        '--tls-cert-file',
        'server.pem',
        '--tls-key-file',
        'server.key',
        '--grpc-use-ssl',
        '--grpc-server-cert',
        'server.pem',
        '--grpc-server-key',
        'grpc.key',
      ],
      message:
        "error: --tls-key-file and --grpc-server-key disagree on the gRPC listener's private key: give one of them, or the same file to both",
    },
    {
      args: [
        '--tls-cert-file',
        'server.pem',
        '--tls-key-file',
        'server.key',
        '--tls-client-ca-file',
        'ca.pem',
        '--grpc-use-ssl-mutual=true',
        '--grpc-server-cert',
        'server.pem',
        '--grpc-server-key',
        'server.key',
        '--grpc-root-cert',
        'other-ca.pem',
      ],
      message:
        "error: --tls-client-ca-file and --grpc-root-cert disagree on the gRPC listener's client CA: give one of them, or the same file to both",
    },
    {
      args: ['--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key', '--grpc-use-ssl=false'],
      message:
        'error: --tls-cert-file turns TLS on for every listener, gRPC included, but --grpc-use-ssl=false turns it off for gRPC: drop one of them',
    },
    {
      args: ['--cors-allow-origin', 'https://app.example.com,https://ui.example.com/app'],
      message:
        "error: option '--cors-allow-origin <origin>' argument 'https://app.example.com,https://ui.example.com/app' is invalid. expected an origin such as https://app.example.com (scheme and host, no path) or '*', got 'https://ui.example.com/app'",
    },
    {
      args: ['--grpc-use-ssl=maybe'],
      message: "error: option '--grpc-use-ssl [bool]' argument 'maybe' is invalid. expected true or false, got 'maybe'",
    },
  ];

  for (const c of CASES) {
    it(`refuses: serve ${c.args.join(' ')}`, async () => {
      const result = await serveFlags(c.args);
      assert.equal(result.exitCode, 1);
      assert.equal(result.stderr.split('\n')[0], c.message);
    });
  }
});

describe('TLS files that cannot work', () => {
  let pki: TestPki;
  let otherKey: string;

  before(async () => {
    pki = await createTestPki();
    otherKey = path.join(pki.dir, 'other.key');
    await issueCertificate(pki, {
      commonName: 'other',
      usage: 'server',
      certFile: path.join(pki.dir, 'other.pem'),
      keyFile: otherKey,
    });
  });
  after(() => removeTestPki(pki));

  /** Starts on port 0 with `tls`; returns the error and the log lines written before it. */
  async function startFailure(
    settings: Parameters<typeof startServer>[0],
  ): Promise<{ message: string; logs: Record<string, unknown>[] }> {
    const logs: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    try {
      const server = await startServer(
        { host: '127.0.0.1', httpPort: 0, grpcPort: 0, metricsPort: 0, logLevel: 'debug', ...settings },
        { logDestination: destination },
      );
      await server.close();
    } catch (err) {
      return { message: (err as Error).message, logs };
    }
    assert.fail('the server started');
  }

  const repo = { modelRepository: EXAMPLES_DIR, modelControlMode: 'explicit' as const, loadModels: [] };

  it('a missing certificate file: named with its flag, and nothing listened', async () => {
    const missing = path.join(pki.dir, 'missing.pem');
    const { message, logs } = await startFailure({ ...repo, tls: { certFile: missing, keyFile: pki.serverKey } });
    assert.equal(
      message,
      `--tls-cert-file ${missing}: cannot be read (ENOENT: no such file or directory, open '${missing}')`,
    );
    assert.deepEqual(
      logs.filter((l) => /listening|serving/.test(String(l.msg))),
      [],
      'no listener was started',
    );
  });

  it('an unreadable file (a folder) is named with its flag', async () => {
    const folder = path.join(pki.dir, 'a-folder');
    await mkdir(folder);
    const { message } = await startFailure({ ...repo, tls: { certFile: pki.serverCert, keyFile: folder } });
    assert.equal(message, `--tls-key-file ${folder}: cannot be read (EISDIR: illegal operation on a directory, read)`);
  });

  it('a file that is not PEM is named with its flag', async () => {
    const der = path.join(pki.dir, 'ca.der');
    await writeFile(der, Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]));
    const { message } = await startFailure({
      ...repo,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: der },
    });
    assert.equal(message, `--tls-client-ca-file ${der}: not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`);
  });

  it('a key that does not match the certificate says so', async () => {
    const { message } = await startFailure({ ...repo, tls: { certFile: pki.serverCert, keyFile: otherKey } });
    assert.equal(
      message,
      `--tls-key-file ${otherKey}: the private key does not match the certificate in --tls-cert-file ${pki.serverCert}`,
    );
  });

  it("Triton's gRPC files are named with Triton's flags", async () => {
    const { message } = await startFailure({ ...repo, grpcTls: { certFile: pki.serverCert, keyFile: otherKey } });
    assert.equal(
      message,
      `--grpc-server-key ${otherKey}: the private key does not match the certificate in --grpc-server-cert ${pki.serverCert}`,
    );
  });

  it('a CORS origin with a path is refused by the config check', async () => {
    const { message } = await startFailure({ ...repo, corsAllowOrigins: ['https://app.example.com/ui'] });
    assert.equal(
      message,
      "server options: corsAllowOrigins[0]: expected an origin such as https://app.example.com (scheme and host, no path) or '*'",
    );
  });
});
