// With --model-memory-budget, models are registered without loading, a request loads the model it
// names and waits for it, and a load makes room by unloading the least recently used idle model;
// a pinned model stays, a model in use is not unloaded (the load waits for it), and requests past
// the waiter bound get 503 with Retry-After. Real server on port 0; each load is charged its file
// size (the resident-memory reading is held at 0 so the budget arithmetic is exact).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import {
  A16,
  B16,
  inferSimple,
  inferSlow,
  metricValue,
  output,
  renamed,
  repositoryIndex,
  request,
  scrape,
  slowModel,
} from './fixtures.js';

const BUDGET_REASON = 'unloaded: memory budget';
const noRss = { residentMemory: () => 0 };

function rowOf(rows: Awaited<ReturnType<typeof repositoryIndex>>, name: string) {
  const row = rows.find((r) => r.name === name);
  assert.ok(row !== undefined, `no index row for ${name}`);
  return row;
}

describe('models in a memory budget', () => {
  let repo = '';
  let server: TestServer;
  const size = simpleModel()[0]?.bytes.length ?? 0;

  before(async () => {
    const simple = simpleModel();
    repo = await makeRepository(['a', 'b', 'c', 'pinned'].flatMap((n) => renamed(simple, n)));
    // Room for the pinned model and two more.
    server = await startTestServer(
      { modelRepository: repo, modelMemoryBudgetBytes: Math.floor(size * 3.5), pinnedModels: ['pinned'] },
      noRss,
    );
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('registers the models without loading them, except the pinned one', async () => {
    const rows = await repositoryIndex(server.url);
    for (const name of ['a', 'b', 'c'])
      assert.deepEqual(rowOf(rows, name), { name, version: '', state: 'UNAVAILABLE', reason: BUDGET_REASON });
    assert.equal(rowOf(rows, 'pinned').state, 'READY');
    assert.equal((await request(`${server.url}/v2/models/a/ready`)).status, 400, 'an unloaded model is not ready');
  });

  it('loads a model when a request names it, and answers that request', async () => {
    const reply = await inferSimple(server.url, 'a', A16, B16);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((x) => x + 1),
    );
    assert.equal(rowOf(await repositoryIndex(server.url), 'a').state, 'READY');
    assert.equal((await request(`${server.url}/v2/models/a/ready`)).status, 200);
  });

  it('unloads the least recently used idle model to make room, never the pinned one', async () => {
    assert.equal((await inferSimple(server.url, 'b', A16, B16)).status, 200);
    assert.equal((await inferSimple(server.url, 'pinned', A16, B16)).status, 200);
    assert.equal((await inferSimple(server.url, 'c', A16, B16)).status, 200);
    let rows = await repositoryIndex(server.url);
    assert.deepEqual(rowOf(rows, 'a'), { name: 'a', version: '', state: 'UNAVAILABLE', reason: BUDGET_REASON });
    for (const name of ['b', 'c', 'pinned']) assert.equal(rowOf(rows, name).state, 'READY', name);

    // Metadata of an unloaded model loads it too (it comes from the graph); b is now the oldest.
    const meta = await request(`${server.url}/v2/models/a`);
    assert.equal(meta.status, 200, meta.text);
    rows = await repositoryIndex(server.url);
    assert.equal(rowOf(rows, 'b').reason, BUDGET_REASON);
    assert.equal(rowOf(rows, 'pinned').state, 'READY');

    const text = await scrape(server.url);
    assert.equal(metricValue(text, 'inferd_model_evictions_total', { model: 'a' }), 1);
    assert.equal(metricValue(text, 'inferd_model_evictions_total', { model: 'b' }), 1);
    assert.equal(metricValue(text, 'inferd_model_loads_total', { model: 'a' }), 2);
    assert.equal(metricValue(text, 'inferd_model_residency_misses_total', { model: 'a' }), 2);
    assert.equal(metricValue(text, 'inferd_model_residency_hits_total', { model: 'pinned' }), 1);
    assert.equal(metricValue(text, 'inferd_model_memory_resident_bytes'), size * 3);
    assert.equal(metricValue(text, 'inferd_model_memory_budget_bytes'), Math.floor(size * 3.5));
  });
});

describe('a memory budget with every model in use', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    const files = [...slowModel('first', { layers: 16 }), ...slowModel('second')];
    const size = Math.max(...files.map((f) => f.bytes.length));
    repo = await makeRepository(files);
    // Room for one model only; at most one request may wait for a load.
    server = await startTestServer(
      { modelRepository: repo, modelMemoryBudgetBytes: Math.floor(size * 1.5), modelLoadMaxWaiters: 1 },
      noRss,
    );
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('does not unload a model while a request runs on it: the next load waits for it', async () => {
    assert.equal((await inferSlow(server.url, 'first', 1)).status, 200);
    const running = inferSlow(server.url, 'first', 2);
    // Let the request reach the scheduler before the other model asks for the room.
    await new Promise((r) => setTimeout(r, 50));
    const next = inferSlow(server.url, 'second', 3);
    const [a, b] = await Promise.all([running, next]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    const rows = await repositoryIndex(server.url);
    assert.equal(rowOf(rows, 'first').reason, BUDGET_REASON);
    assert.equal(rowOf(rows, 'second').state, 'READY');
  });

  it('answers requests past the waiter bound with 503 and Retry-After, and serves the one waiting', async () => {
    const replies = await Promise.all(
      Array.from({ length: 4 }, () =>
        request(`${server.url}/v2/models/first/infer`, {
          body: { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 1], data: [1] }] },
        }),
      ),
    );
    const statuses = replies.map((r) => r.status).sort();
    assert.equal(statuses[0], 200, `one waited for the load: ${statuses.join(', ')}`);
    const refused = replies.filter((r) => r.status === 503);
    assert.ok(refused.length > 0, `some were refused: ${statuses.join(', ')}`);
    for (const r of refused) {
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match(r.text, /--model-load-max-waiters/);
    }
  });
});
