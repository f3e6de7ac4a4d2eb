// `inferd infer` and `inferd bench` reach an HTTPS server whose certificate a private CA signed,
// once NODE_EXTRA_CA_CERTS names that CA, and refuse it otherwise. The commands run in a child
// process from the sources (the variable is read when a process starts).

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { createTestPki, removeTestPki, type TestPki } from '../../helpers/test-certs.js';
import { runNode } from './tls-wire.js';

/** Runs `inferd <args>` from src/ (through tsx) with extra environment variables. */
function inferd(args: string[], env: Record<string, string>): ReturnType<typeof runNode> {
  const code = `
    import { main } from './src/cli/main.ts';
    await main([process.argv[0], 'inferd', ...process.argv.slice(1)]);
  `;
  return runNode(code, args, env, ['--import', 'tsx']);
}

describe('inferd infer and bench over https', () => {
  let pki: TestPki;
  let server: TestServer;
  let request: string;

  before(async () => {
    pki = await createTestPki();
    request = path.join(pki.dir, 'request.json');
    await writeFile(
      request,
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i) },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, () => 2) },
        ],
      }),
    );
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
  });
  after(async () => {
    await server.close();
    await removeTestPki(pki);
  });

  it('inferd infer: answered with NODE_EXTRA_CA_CERTS, refused without', async () => {
    const args = ['infer', 'simple', '--url', server.url, '--request', request, '--output', 'OUTPUT0'];
    const ok = await inferd(args, { NODE_EXTRA_CA_CERTS: pki.ca.cert });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /OUTPUT0/);
    assert.match(ok.stdout, /2,\s*3,\s*4/);
    const refused = await inferd(args, {});
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /cannot reach a server at https:\/\/127\.0\.0\.1:\d+ \(unable to verify the first certificate\)/,
    );
  });

  it('inferd bench: measures with NODE_EXTRA_CA_CERTS, refused without', async () => {
    const args = [
      'bench',
      'simple',
      '-u',
      server.url,
      '--concurrency',
      '1',
      '--window-ms',
      '200',
      '--max-windows',
      '3',
    ];
    const ok = await inferd(args, { NODE_EXTRA_CA_CERTS: pki.ca.cert });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /concurrency/i);
    const refused = await inferd(args, {});
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /cannot reach the server at https:\/\/127\.0\.0\.1:\d+: unable to verify the first certificate/,
    );
  });
});
