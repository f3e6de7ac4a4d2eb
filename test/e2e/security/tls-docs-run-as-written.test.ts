// docs/tls.md works as pasted: the openssl recipe makes files the server accepts, the client
// commands (curl, the openai package, inferd infer and bench, the grpc-js script) reach a TLS
// server, the mTLS and CORS commands get the answers the text describes, and every serve command
// parses with flags that agree. The folder and the ports are rewritten to the test's; the
// commands run the built CLI (bin/inferd.js over dist/, built by the project's test script).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { serveCommand, tlsSettings } from '../../../src/cli/serve-command.js';
import { readTlsMaterial } from '../../../src/security/tls.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { ROOT } from './tls-wire.js';

const run = promisify(execFile);
const DOC_DIR = '/tmp/inferd-tls';

/** The text between a heading and the next heading of the same level. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/tls.md has '${heading}'`);
  const end = doc.indexOf('\n## ', start + heading.length + 2);
  return doc.slice(start, end < 0 ? undefined : end);
}

function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
}

/** Every `node bin/inferd.js serve ...` command of the text, as argument lists. */
function serveCommands(text: string): string[][] {
  const commands: string[][] = [];
  for (const block of blocks(text, 'sh')) {
    for (const command of block.replaceAll('\\\n', ' ').split('\n')) {
      const words = command.trim().split(/\s+/);
      if (words[0] === 'node' && words[1] === 'bin/inferd.js' && words[2] === 'serve') commands.push(words.slice(3));
    }
  }
  return commands;
}

describe('docs/tls.md', () => {
  let doc: string;
  let scratch: string;
  /** The doc's text with its folder moved to the test's and the ports to a server's. */
  const local = (text: string, server?: TestServer): string => {
    let out = text.replaceAll(DOC_DIR, scratch);
    if (server !== undefined)
      out = out
        .replaceAll('localhost:8000', `localhost:${server.httpPort}`)
        .replaceAll('localhost:8001', `localhost:${server.grpcPort}`)
        .replaceAll('localhost:8002', `localhost:${server.metricsPort}`);
    return out;
  };
  const sh = async (script: string): Promise<string> =>
    (await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 120_000 })).stdout;

  before(async () => {
    doc = await readFile(path.join(ROOT, 'docs/tls.md'), 'utf8');
    scratch = await mkdtemp(path.join(os.tmpdir(), 'inferd-tls-docs-'));
    await sh(local(blocks(section(doc, '## Certificates for testing'), 'sh').join('\n')));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  const files = (): { certFile: string; keyFile: string; clientCaFile: string } => ({
    certFile: path.join(scratch, 'server.pem'),
    keyFile: path.join(scratch, 'server.key'),
    clientCaFile: path.join(scratch, 'ca.pem'),
  });

  it('the openssl recipe makes a CA, a server certificate for localhost and 127.0.0.1, and a client one', async () => {
    const material = readTlsMaterial(files());
    assert.equal(material.subject, 'CN=localhost');
    const server = new X509Certificate(material.cert);
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    const ca = new X509Certificate(await readFile(files().clientCaFile));
    assert.ok(server.verify(ca.publicKey), 'the CA signed the server certificate');
    const client = new X509Certificate(await readFile(path.join(scratch, 'client.pem')));
    assert.ok(client.verify(ca.publicKey), 'the CA signed the client certificate');
    assert.equal(client.subject, 'CN=inferd client');
  });

  it('every serve command parses, and its TLS flags agree', async () => {
    const commands = serveCommands(doc);
    assert.equal(commands.length, 5);
    for (const args of commands) {
      let parsed: Parameters<typeof tlsSettings>[0] | undefined;
      const command = serveCommand()
        .exitOverride()
        .action((opts: Parameters<typeof tlsSettings>[0]) => {
          parsed = opts;
        });
      await command.parseAsync(args, { from: 'user' });
      assert.ok(parsed !== undefined, args.join(' '));
      const settings = tlsSettings(parsed);
      assert.ok(
        settings.tls !== null || settings.grpcTls !== null || args.includes('--cors-allow-origin'),
        args.join(' '),
      );
    }
  });

  describe('against a TLS server', () => {
    let server: TestServer;

    before(async () => {
      const { certFile, keyFile } = files();
      server = await startTestServer({
        modelRepository: EXAMPLES_DIR,
        modelControlMode: 'explicit',
        // The OpenAI API lists the text models: kjv-embed is one.
        loadModels: ['simple', 'kjv-embed'],
        logLevel: 'warn',
        metricsPort: 0,
        tls: { certFile, keyFile },
      });
    });
    after(() => server.close());

    it('the client commands reach REST, metrics, the OpenAI API, inferd infer and inferd bench', async () => {
      const text = section(doc, '## Clients that trust a private CA');
      const script = local(blocks(text, 'sh').join('\n'), server).replace(
        '--concurrency 1:4:x2',
        '--concurrency 1 --window-ms 200 --max-windows 3',
      );
      const out = await sh(script);
      assert.match(out, /^200$/m, 'curl: ready');
      assert.match(out, /"name":"simple"/, 'curl: model metadata');
      assert.match(out, /^# HELP /m, 'curl: metrics');
      assert.match(out, /^kjv-embed$/m, 'openai: the model list');
      assert.match(out, /OUTPUT0/, 'inferd infer');
      assert.match(out, /concurrency/i, 'inferd bench');
    });

    it('the grpc-js script prints { live: true }', async () => {
      const code = blocks(section(doc, '## Clients that trust a private CA'), 'js')[0];
      assert.ok(code !== undefined);
      const dir = path.join(ROOT, '.tmp');
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `tls-client-${process.pid}.mjs`);
      await writeFile(file, local(code, server));
      try {
        const { stdout } = await run(process.execPath, [file], { cwd: ROOT, timeout: 30_000 });
        assert.equal(stdout.trim(), '{ live: true }');
      } finally {
        await rm(file, { force: true });
      }
    });
  });

  describe('against an mTLS server', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({
        modelRepository: EXAMPLES_DIR,
        modelControlMode: 'explicit',
        loadModels: ['simple'],
        logLevel: 'warn',
        tls: files(),
      });
    });
    after(() => server.close());

    it('curl with the client certificate is served; without it, refused', async () => {
      const text = section(doc, '## mTLS');
      const script = blocks(text, 'sh').filter((b) => !b.includes('bin/inferd.js serve'));
      const out = await sh(local(script.join('\n'), server));
      assert.match(out, /"name":"simple"/);
      assert.match(out, /^refused: curl exit (56|52)$/m);
    });
  });

  describe('CORS', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({
        modelRepository: EXAMPLES_DIR,
        modelControlMode: 'explicit',
        loadModels: ['simple'],
        logLevel: 'warn',
        corsAllowOrigins: ['https://app.example.com', 'http://localhost:5173'],
      });
    });
    after(() => server.close());

    it('the preflight is answered as the text says', async () => {
      const text = section(doc, '## CORS');
      const script = blocks(text, 'sh').filter((b) => !b.includes('bin/inferd.js serve'));
      const out = await sh(local(script.join('\n'), server));
      assert.match(out, /^HTTP\/1\.1 204 No Content\r$/m);
      assert.match(out, /^access-control-allow-origin: https:\/\/app\.example\.com\r$/m);
      assert.match(out, /^access-control-allow-methods: GET, HEAD, POST, DELETE\r$/m);
      assert.match(
        out,
        /^access-control-allow-headers: authorization, content-type, inference-header-content-length, x-request-id\r$/m,
      );
      assert.match(out, /^access-control-max-age: 600\r$/m);
    });
  });
});
