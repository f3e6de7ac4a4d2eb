// In model control mode `explicit` only the models named at start ('*' = all) are loaded; the
// repository API loads, reloads and unloads the others, with 404 for unknown models and 400 with
// the reason for broken ones.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { ModelRepository } from '../../../src/repository/model-repository.js';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import {
  A16,
  B16,
  brokenCases,
  inferSimple,
  output,
  postJson,
  reasonMatches,
  renamed,
  repositoryIndex,
  request,
} from './fixtures.js';

describe('model control mode explicit', () => {
  const broken = brokenCases().find((c) => c.name === 'wrong_datatype');
  assert.ok(broken !== undefined);
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([...simpleModel(), ...renamed(simpleModel(), 'adder'), ...broken.files]);
    server = await startTestServer({ modelRepository: repo, modelControlMode: 'explicit', loadModels: ['simple'] });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  const load = (name: string, body: unknown = {}) =>
    postJson<{ error?: string }>(`${server.url}/v2/repository/models/${name}/load`, body);
  const unload = (name: string) => postJson<{ error?: string }>(`${server.url}/v2/repository/models/${name}/unload`);

  it('loads only the models named at start and lists the rest as not loaded', async () => {
    assert.deepEqual(await repositoryIndex(server.url), [
      { name: 'adder', version: '', state: 'UNAVAILABLE', reason: 'not loaded' },
      { name: 'simple', version: '1', state: 'READY', reason: '' },
      { name: 'wrong_datatype', version: '', state: 'UNAVAILABLE', reason: 'not loaded' },
    ]);
    const reply = await inferSimple(server.url, 'adder', A16, B16);
    assert.equal(reply.status, 404);
    assert.equal(reply.body.error, "Request for unknown model: 'adder' is not found");
  });

  it('loads a model on request, after which it serves', async () => {
    const reply = await load('adder');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {});
    assert.equal((await request(`${server.url}/v2/models/adder/ready`)).status, 200);
    const infer = await inferSimple(server.url, 'adder', A16, B16);
    assert.equal(infer.status, 200);
    assert.deepEqual(
      output(infer, 'OUTPUT0').data,
      A16.map((a) => a + 1),
    );
  });

  it('filters the index to ready models with {"ready": true}', async () => {
    assert.deepEqual(
      (await repositoryIndex(server.url, { ready: true })).map((r) => r.name),
      ['adder', 'simple'],
    );
    const bad = await postJson<{ error: string }>(`${server.url}/v2/repository/index`, { ready: 'yes' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, '"ready" must be true or false');
  });

  it('reloads a loaded model without taking it out of service', async () => {
    assert.equal((await load('adder')).status, 200);
    assert.equal((await inferSimple(server.url, 'adder', A16, B16)).status, 200);
  });

  it('unloads on request: the model is no longer ready and inference answers 503', async () => {
    const reply = await unload('adder');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {});
    assert.equal((await request(`${server.url}/v2/models/adder/ready`)).status, 400);
    const infer = await inferSimple(server.url, 'adder', A16, B16);
    assert.equal(infer.status, 503);
    assert.equal(infer.body.error, "model 'adder' is not ready (unavailable: unloaded)");
    const row = (await repositoryIndex(server.url)).find((r) => r.name === 'adder');
    assert.deepEqual(row, { name: 'adder', version: '', state: 'UNAVAILABLE', reason: 'unloaded' });
  });

  it('loads an unloaded model again', async () => {
    assert.equal((await load('adder')).status, 200);
    assert.equal((await inferSimple(server.url, 'adder', A16, B16)).status, 200);
  });

  it('answers 404 when loading a model that is not in the repository', async () => {
    const reply = await load('ghost');
    assert.equal(reply.status, 404);
    assert.equal(reply.body.error, `no model folder 'ghost' in repository ${repo}`);
  });

  it('answers 404 when unloading a model that was never loaded', async () => {
    const reply = await unload('never_seen');
    assert.equal(reply.status, 404);
    assert.equal(reply.body.error, "Request for unknown model: 'never_seen' is not found");
  });

  it('answers 400 with the file, field and reason when loading a broken model', async () => {
    const reply = await load(broken.name);
    assert.equal(reply.status, 400);
    const prefix = `failed to load model '${broken.name}': `;
    const error = reply.body.error ?? '';
    assert.ok(error.startsWith(prefix), error);
    assert.ok(reasonMatches(repo, broken, error.slice(prefix.length)), error);
    const row = (await repositoryIndex(server.url)).find((r) => r.name === broken.name);
    assert.equal(row?.state, 'UNAVAILABLE');
    assert.ok(row?.reason.includes(path.join(repo, broken.file)));
  });

  it('refuses an invalid model name with 400', async () => {
    const reply = await load('a..b');
    assert.equal(reply.status, 400);
    assert.match(reply.body.error ?? '', /^invalid model name "a\.\.b"/);
  });

  it('refuses config overrides in the load parameters with 501', async () => {
    const reply = await load('simple', { parameters: { config: '{}' } });
    assert.equal(reply.status, 501);
    assert.match(reply.body.error ?? '', /not supported/);
  });

  it('keeps serving the other models throughout', async () => {
    assert.equal((await inferSimple(server.url, 'simple', A16, B16)).status, 200);
  });
});

describe("model control mode explicit with --load-model '*'", () => {
  it('loads every model at start, and still allows unload', async () => {
    const repo = await makeRepository([...simpleModel(), ...renamed(simpleModel(), 'adder')]);
    const repository = new ModelRepository({
      path: repo,
      controlMode: 'explicit',
      loadModels: ['*'],
      pollSeconds: 60,
      cpuCores: 1,
      metrics: new Metrics(),
      logger: createLogger('silent'),
    });
    try {
      await repository.start();
      assert.deepEqual(
        (await repository.index(true)).map((r) => [r.name, r.version, r.state]),
        [
          ['adder', '1', 'READY'],
          ['simple', '1', 'READY'],
        ],
      );
      await repository.unload('adder');
      assert.equal(repository.isReady('adder'), false);
      assert.equal(repository.isReady('simple'), true);
    } finally {
      await repository.close();
      await removeRepository(repo);
    }
  });
});
