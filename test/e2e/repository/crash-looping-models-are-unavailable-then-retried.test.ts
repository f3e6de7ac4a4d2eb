// Over the wire: a model whose worker thread keeps dying is not ready (REST and gRPC), UNAVAILABLE
// in the repository index with the failure, answers 503 with Retry-After at once, is logged and
// counted, and serves again once the repository's retry load (1 s, then 2 s, on a timer the test
// moves by hand) runs.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { requireKind } from '../../../src/model-kinds/serving-kinds.js';
import type { Instance } from '../../../src/runtime/index.js';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { ManualTimer } from '../../helpers/manual-timer.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, unary, type Clients } from '../grpc/grpc-client.js';
import { A16, B16, inferSimple, metricValue, repositoryIndex, request, scrape, waitFor } from './fixtures.js';

async function killWorker(instance: Instance): Promise<void> {
  const worker = (instance as unknown as { worker: Worker | undefined }).worker;
  assert.ok(worker !== undefined);
  await worker.terminate();
}

describe('a crash-looping model over REST and gRPC', () => {
  let repo = '';
  let server: TestServer;
  let clients: Clients;
  const timer = new ManualTimer();

  before(async () => {
    // Pinned to a worker thread: `inline_execution: auto` would run this microsecond model inline.
    repo = await makeRepository(
      simpleModel().map((f) =>
        f.path.endsWith('config.yaml')
          ? { ...f, bytes: `${String(f.bytes)}optimization: { inline_execution: false }\n` }
          : f,
      ),
    );
    server = await startTestServer({ modelRepository: repo }, { repositoryTimer: timer });
    clients = connect(server);
  });

  after(async () => {
    clients?.close();
    await server?.close();
    await removeRepository(repo);
  });

  it('is unavailable while its loads fail, then serves again', async () => {
    const instance = requireKind(server.repository.resolve('simple'), 'v2 infer').instances[0];
    assert.ok(instance !== undefined);
    for (let i = 0; i < 3; i++) {
      await killWorker(instance);
      assert.equal((await inferSimple(server.url, 'simple', A16, B16)).status, 200, `restart ${i + 1} serves`);
    }
    // The first retry (after 1 s) fails too, which keeps the model unavailable for 3 s in all.
    const modelFile = path.join(repo, 'simple/1/model.onnx');
    const good = await readFile(modelFile);
    await writeFile(modelFile, 'not onnx');
    await killWorker(instance);
    await waitFor(
      async () => (await repositoryIndex(server.url)).some((r) => r.name === 'simple' && r.state === 'UNAVAILABLE'),
      5000,
      'simple to turn UNAVAILABLE',
    );

    const row = (await repositoryIndex(server.url)).find((r) => r.name === 'simple');
    assert.equal(row?.version, '1');
    assert.match(row?.reason ?? '', /no running instance: instance simple\/1#0 failed: worker exited/);
    assert.equal((await request(`${server.url}/v2/models/simple/ready`)).status, 400);
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'simple' }), { ready: false });

    const refused = await request(`${server.url}/v2/models/simple/infer`, {
      body: { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: A16 }] },
    });
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.match(refused.text, /not ready .*no running instance/);

    assert.equal(
      metricValue(await scrape(server.url), 'inferd_model_version_failures_total', { model: 'simple', version: '1' }),
      1,
    );
    const logged = server.logs.find((l) => l.msg?.toString().startsWith('model version unavailable'));
    assert.equal(logged?.model, 'simple');
    assert.equal(logged?.retryInMs, 1000);

    // Nothing is retried until the time comes; then the first retry fails (the file is still bad).
    assert.deepEqual(timer.delays, [1000]);
    timer.advance(999);
    assert.ok(!server.logs.some((l) => l.msg === 'loading the failed model again failed'));
    timer.advance(1);
    await waitFor(
      () => server.logs.some((l) => l.msg === 'loading the failed model again failed' && l.retryInMs === 2000),
      // A guard, not a timing: the retry starts a worker thread, which a loaded machine makes slow.
      20_000,
      'the first retry to fail',
    );
    assert.deepEqual(timer.delays, [1000, 2000]);
    assert.equal((await request(`${server.url}/v2/models/simple/ready`)).status, 400);
    await writeFile(modelFile, good);
    timer.advance(2000);
    await waitFor(
      async () => (await request(`${server.url}/v2/models/simple/ready`)).status === 200,
      10_000,
      'simple to be ready again',
    );
    assert.equal((await repositoryIndex(server.url)).find((r) => r.name === 'simple')?.state, 'READY');
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'simple' }), { ready: true });
    assert.equal((await inferSimple(server.url, 'simple', A16, B16)).status, 200);
  });
});
