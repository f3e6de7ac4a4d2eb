// In model control mode `poll` the server rescans the repository: a new model folder is loaded, a
// new version is served, a broken edit keeps the previous version serving, and a removed folder
// is unloaded (once) and loaded again when it comes back.

import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import {
  makeRepository,
  removeRepository,
  startTestServer,
  writeFiles,
  type TestServer,
} from '../../helpers/test-server.js';
import {
  A16,
  B16,
  SIMPLE_CONFIG,
  getJson,
  inferSimple,
  output,
  renamed,
  repositoryIndex,
  simpleMulVersion,
  waitFor,
} from './fixtures.js';

describe('model control mode poll', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository(simpleModel());
    server = await startTestServer({ modelRepository: repo, modelControlMode: 'poll', repositoryPollSeconds: 0.2 });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  const versionsOf = async (name: string): Promise<string[]> =>
    (await repositoryIndex(server.url)).filter((r) => r.name === name && r.state === 'READY').map((r) => r.version);

  it('loads a model folder added while running', async () => {
    await writeFiles(repo, renamed(simpleModel(), 'added'));
    await waitFor(async () => (await versionsOf('added')).length > 0, 10_000, 'added to be loaded');
    assert.deepEqual(await versionsOf('added'), ['1']);
    const reply = await inferSimple(server.url, 'added', A16, B16);
    assert.equal(reply.status, 200);
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((a) => a + 1),
    );
  });

  it('serves a version added to a loaded model (latest 1: only the new one)', async () => {
    await writeFiles(repo, [simpleMulVersion('added', 2)]);
    await waitFor(async () => (await versionsOf('added')).includes('2'), 10_000, 'version 2 to be served');
    assert.deepEqual(await versionsOf('added'), ['2']);
    const reply = await inferSimple(
      server.url,
      'added',
      A16,
      B16.map(() => 2),
    );
    assert.equal(reply.body.model_version, '2');
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((a) => a * 2),
    );
    const meta = await getJson<{ versions: string[] }>(`${server.url}/v2/models/added`);
    assert.deepEqual(meta.body.versions, ['2']);
  });

  it('keeps serving the previous versions when an edit breaks the config, with the reason', async () => {
    const config = path.join(repo, 'added', 'config.yaml');
    await writeFile(config, SIMPLE_CONFIG.replace('max_batch_size: 8', 'max_batch_size: eight'));
    await waitFor(
      async () => ((await repositoryIndex(server.url)).find((r) => r.name === 'added')?.reason ?? '') !== '',
      10_000,
      'the failed reload to be reported',
    );
    const row = (await repositoryIndex(server.url)).find((r) => r.name === 'added');
    assert.equal(row?.state, 'READY');
    assert.equal(row?.version, '2');
    assert.match(
      row?.reason ?? '',
      new RegExp(`^reload failed, still serving the previous versions: ${config}: max_batch_size: `),
    );
    assert.equal((await inferSimple(server.url, 'added', A16, B16)).status, 200);
    // Still serving: a warning, not an error.
    const said = server.logs.filter((l) => l.model === 'added' && String(l.msg).includes('failed to reload'));
    assert.ok(said.length > 0 && said.every((l) => l.level === 40), JSON.stringify(said));
    assert.ok(!server.logs.some((l) => l.model === 'added' && (l.level as number) >= 50));
    await writeFile(config, SIMPLE_CONFIG);
    await waitFor(
      async () => (await repositoryIndex(server.url)).find((r) => r.name === 'added')?.reason === '',
      10_000,
      'the fixed config to be loaded',
    );
  });

  it('unloads a model whose folder is removed, and only once', async () => {
    await rm(path.join(repo, 'added'), { recursive: true });
    // Out of service at once (UNLOADING), then UNAVAILABLE once its in-flight work has drained.
    await waitFor(
      async () => {
        const r = await inferSimple(server.url, 'added', A16, B16);
        return r.status !== 200 && !String(r.body.error).includes('(unloading');
      },
      10_000,
      'added to be unloaded',
    );
    const reply = await inferSimple(server.url, 'added', A16, B16);
    assert.equal(reply.status, 503);
    assert.equal(reply.body.error, "model 'added' is not ready (unavailable: removed from the repository)");
    // Several more polls must not unload it again.
    await new Promise((r) => setTimeout(r, 600));
    const unloads = server.logs.filter((l) => l.model === 'added' && String(l.msg).startsWith('model unloaded'));
    assert.equal(unloads.length, 1, `logged ${unloads.length} unloads`);
  });

  it('loads the model again when its folder comes back', async () => {
    await writeFiles(repo, renamed(simpleModel(), 'added'));
    await waitFor(
      async () => (await inferSimple(server.url, 'added', A16, B16)).status === 200,
      10_000,
      'added to be loaded again',
    );
    assert.deepEqual(await versionsOf('added'), ['1']);
  });

  it('keeps serving the models that did not change', async () => {
    assert.equal((await inferSimple(server.url, 'simple', A16, B16)).status, 200);
  });
});
