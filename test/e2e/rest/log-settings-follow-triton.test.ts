// Triton's log settings API: GET /v2/logging answers the settings of the server's log level,
// POST changes the ones given (log_verbose_level 1 turns debug lines on, log_info false leaves
// warnings only) and answers them all; a setting inferd cannot honour, an unknown one or a wrong
// type is a 400 naming it and changes nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { streamUrl } from '../streaming/stream-client.js';

async function post(server: TestServer, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/v2/logging`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('/v2/logging', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'info',
    });
  });
  after(() => server.close());

  it('answers the settings of the level the server started with', async () => {
    const res = await fetch(`${server.url}/v2/logging`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      log_file: '',
      log_info: true,
      log_warning: true,
      log_error: true,
      log_verbose_level: 0,
      log_format: 'default',
    });
  });

  it('turns debug lines on and off, and info lines off, as asked', async () => {
    const debugLines = (): number => server.logs.filter((l) => l.level === 20).length;
    const verbose = await post(server, { log_verbose_level: 1 });
    assert.equal(verbose.status, 200);
    assert.equal(verbose.json.log_verbose_level, 1);
    const before = debugLines();
    // Opening an infer stream is a debug line.
    const socket = new WebSocket(streamUrl(server.url, 'simple'));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.close();
    await new Promise((resolve) => socket.once('close', resolve));
    assert.ok(debugLines() > before, 'debug lines are written');
    const load = await fetch(`${server.url}/v2/repository/models/identity_fp32/load`, { method: 'POST' });
    assert.equal(load.status, 200);

    const quiet = await post(server, { log_verbose_level: 0, log_info: false });
    assert.deepEqual(quiet.json, {
      log_file: '',
      log_info: false,
      log_warning: true,
      log_error: true,
      log_verbose_level: 0,
      log_format: 'default',
    });
    const lines = server.logs.length;
    const unload = await fetch(`${server.url}/v2/repository/models/identity_fp32/unload`, { method: 'POST' });
    assert.equal(unload.status, 200);
    assert.ok(
      server.logs.slice(lines).every((l) => (l.level as number) >= 40),
      'only warnings and errors are written',
    );
    assert.equal((await post(server, { log_info: true })).status, 200);
  });

  it('refuses what it cannot honour, naming the setting, and changes nothing', async () => {
    const file = await post(server, { log_file: '/var/log/inferd.log', log_verbose_level: 1 });
    assert.equal(file.status, 400);
    assert.match(String(file.json.error), /stdout only; 'log_file' must be empty/);
    const unknown = await post(server, { log_colour: true });
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.json.error), /unknown log setting\(s\) 'log_colour'/);
    const wrong = await post(server, { log_verbose_level: 'high' });
    assert.equal(wrong.status, 400);
    assert.match(String(wrong.json.error), /'log_verbose_level' must be a non-negative integer/);
    const now = (await (await fetch(`${server.url}/v2/logging`)).json()) as Record<string, unknown>;
    assert.equal(now.log_verbose_level, 0, 'the refused update changed nothing');
  });
});
