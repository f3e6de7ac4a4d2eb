// Reloading a model (explicit load of a loaded model) while requests are in flight: the queued
// and running requests finish on the old version, requests arriving meanwhile succeed, and new
// requests run the new model file. No request fails.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  makeRepository,
  removeRepository,
  startTestServer,
  writeFiles,
  type TestServer,
} from '../../helpers/test-server.js';
import {
  arrivedRequests,
  inferSlow,
  metricValue,
  postJson,
  scrape,
  slowModel,
  waitFor,
  type InferReply,
} from './fixtures.js';

function value(reply: InferReply): number {
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return Number(reply.body.outputs?.[0]?.data[0]);
}

describe('reload under load', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository(slowModel('slow'));
    server = await startTestServer({ modelRepository: repo, modelControlMode: 'explicit', loadModels: ['slow'] });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('lets every in-flight request finish on the old version and serves the new one after', async () => {
    const labels = { model: 'slow', version: '1' };
    const sent = [1, 2, 3, 4, 5, 6, 7, 8];
    let lastFinishedMs = 0;
    const inFlight = sent.map((v) =>
      inferSlow(server.url, 'slow', v).then((r) => {
        lastFinishedMs = Date.now();
        return r;
      }),
    );
    await waitFor(
      async () => (await arrivedRequests(server.url, labels)) === sent.length,
      10_000,
      'every request to reach the server',
    );

    // The new model file doubles its input; the old one returns it unchanged.
    await writeFiles(repo, slowModel('slow', { gain: 2 }));
    const reload = postJson<{ error?: string }>(`${server.url}/v2/repository/models/slow/load`);
    const during = [10, 20].map((v) => inferSlow(server.url, 'slow', v));

    assert.deepEqual(
      (await Promise.all(inFlight)).map((r) => value(r)),
      sent,
    );
    const reloaded = await reload;
    assert.equal(reloaded.status, 200, reloaded.body.error);
    // The new version was serving before the old one finished its queue: the old one was drained.
    const ready = server.logs.filter((l) => l.model === 'slow' && l.msg === 'model ready');
    assert.equal(ready.length, 2, 'loaded once at start and once on reload');
    assert.ok(Date.parse(String(ready[1]?.time)) <= lastFinishedMs, 'the reload finished before the queue drained');
    for (const [i, reply] of (await Promise.all(during)).entries()) {
      const v = [10, 20][i] ?? 0;
      assert.ok([v, 2 * v].includes(value(reply)), `request during the reload returned ${value(reply)}`);
    }

    assert.equal(value(await inferSlow(server.url, 'slow', 9)), 18);
    const metrics = await scrape(server.url);
    for (const reason of ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER']) {
      assert.equal(metricValue(metrics, 'nv_inference_request_failure', { ...labels, reason }), undefined, reason);
    }
    assert.equal(metricValue(metrics, 'nv_inference_pending_request_count', labels), 0);
  });
});
