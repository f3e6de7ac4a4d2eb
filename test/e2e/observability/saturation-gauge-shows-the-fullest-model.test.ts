// /metrics carries inferd_saturation, the maximum over model versions of how full each is, and
// inferd_model_saturation per version: 0 while idle; while a one-instance model runs requests it
// is full (1) and so is the server, though another model stays idle.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { arrivedRequests, inferSlow, metricValue, scrape, slowModel, waitFor } from '../repository/fixtures.js';

describe('saturation gauge', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...simpleModel(),
      ...slowModel('slow', { layers: 96 }),
      { path: 'slow/config.yaml', bytes: 'instance_group: [{ count: 1, kind: KIND_CPU }]\n' },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  it('is 0 while nothing runs', async () => {
    const text = await scrape(server.url);
    assert.equal(metricValue(text, 'inferd_saturation'), 0);
    assert.equal(metricValue(text, 'inferd_model_saturation', { model: 'simple', version: '1' }), 0);
    assert.equal(metricValue(text, 'inferd_model_saturation', { model: 'slow', version: '1' }), 0);
  });

  it('is the fullest model while one is busy', async () => {
    const running = [1, 2, 3].map((v) => inferSlow(server.url, 'slow', v));
    await waitFor(
      async () => (await arrivedRequests(server.url, { model: 'slow', version: '1' })) === 3,
      10_000,
      'three slow requests to be in the server',
    );
    const text = await scrape(server.url);
    assert.equal(metricValue(text, 'inferd_model_saturation', { model: 'slow', version: '1' }), 1);
    assert.equal(metricValue(text, 'inferd_model_saturation', { model: 'simple', version: '1' }), 0);
    assert.equal(metricValue(text, 'inferd_saturation'), 1, 'the maximum, not the mean (0.5)');
    for (const r of await Promise.all(running)) assert.equal(r.status, 200);
    const after = await scrape(server.url);
    assert.equal(metricValue(after, 'inferd_saturation'), 0);
  });
});
