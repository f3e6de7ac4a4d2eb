// In model control mode `none` every model is loaded at start and the repository API cannot
// load or unload: both answer 501 and point to explicit mode.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { A16, B16, inferSimple, postJson, repositoryIndex } from './fixtures.js';

describe('model control mode none', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository(simpleModel());
    server = await startTestServer({ modelRepository: repo, modelControlMode: 'none' });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('loads every model at start', async () => {
    assert.deepEqual(await repositoryIndex(server.url), [{ name: 'simple', version: '1', state: 'READY', reason: '' }]);
  });

  for (const op of ['load', 'unload'] as const) {
    it(`refuses ${op} with 501 and says to use explicit mode`, async () => {
      const reply = await postJson<{ error: string }>(`${server.url}/v2/repository/models/simple/${op}`);
      assert.equal(reply.status, 501);
      assert.equal(
        reply.body.error,
        `explicit model ${op} is not allowed in model control mode 'none'; start the server with --model-control-mode explicit`,
      );
    });
  }

  it('keeps serving after the refused calls', async () => {
    assert.equal((await inferSimple(server.url, 'simple', A16, B16)).status, 200);
  });
});
