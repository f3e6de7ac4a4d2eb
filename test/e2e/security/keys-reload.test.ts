// Keys managed with `inferd keys` while the server runs: a created key works once the server has
// re-read the file, a revoked one stops working, and a broken file keeps the keys in force.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inferdFromSource } from '../../helpers/cli-from-source.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

/** Runs `inferd <args>` and resolves with its stdout; rejects on a non-zero exit. */
async function inferd(args: readonly string[]): Promise<string> {
  const { code, stdout, stderr } = await inferdFromSource(args);
  if (code !== 0) throw new Error(`inferd ${args.join(' ')}: exit ${code}: ${stderr}`);
  return stdout;
}

const BODY = JSON.stringify({
  inputs: [
    { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(1) },
  ],
});

describe('keys created and revoked while the server runs', () => {
  let dir: string;
  let keyFile: string;
  let opsKey: string;
  let server: TestServer;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-keys-e2e-'));
    keyFile = path.join(dir, 'keys.yaml');
    opsKey = (await inferd(['keys', 'create', '--id', 'ops', '--scopes', 'infer', '--file', keyFile])).trim();
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      apiKeysFile: keyFile,
    });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const infer = async (key: string): Promise<number> => {
    const res = await fetch(`${server.url}/v2/models/simple/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: BODY,
    });
    await res.arrayBuffer();
    return res.status;
  };

  const reloads = (): number => server.logs.filter((l) => l['msg'] === 'API keys reloaded').length;

  /**
   * The server re-reads the changed file: reloadKeys resolves true, unless the server's own poll of
   * the file (every 2 s) took the change first, which its log line then shows.
   */
  const reload = async (reloadsBeforeEdit: number): Promise<void> => {
    const changed = await server.reloadKeys();
    assert.ok(changed || reloads() > reloadsBeforeEdit, 'the changed key file was not re-read');
  };

  it('accepts a created key after the reload, refuses it after revoking, and keeps the keys when the file breaks', async () => {
    assert.equal(await infer(opsKey), 200);

    let count = reloads();
    const teamKey = (
      await inferd(['keys', 'create', '--id', 'team', '--scopes', 'infer:simple', '--file', keyFile])
    ).trim();
    // In the file, but not in force until the server re-reads it.
    const early = await infer(teamKey);
    assert.ok(early === 401 || (early === 200 && reloads() > count), `HTTP ${early} before the reload`);
    await reload(count);
    assert.equal(await infer(teamKey), 200);

    count = reloads();
    await inferd(['keys', 'revoke', '--id', 'team', '--file', keyFile]);
    await reload(count);
    assert.equal(await infer(teamKey), 401);
    assert.equal(await infer(opsKey), 200);

    await writeFile(keyFile, 'keys:\n  - id: [not, an, id\n');
    assert.equal(await server.reloadKeys(), false);
    assert.ok(
      server.logs.some((l) => l['msg'] === 'API key file not reloaded; the keys in force stay'),
      'the failed reload is logged',
    );
    assert.equal(await infer(opsKey), 200);
    assert.equal(await infer(teamKey), 401);
  });

  it('refuses a key it has never seen', async () => {
    assert.equal(await infer('inferd_not-a-key-this-server-knows-about-at-all'), 401);
  });
});
