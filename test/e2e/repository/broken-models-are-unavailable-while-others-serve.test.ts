// A repository with one broken model per kind of mistake: each is UNAVAILABLE with its file,
// field and reason in the repository index, while `simple` beside them keeps serving.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import {
  A16,
  B16,
  brokenCases,
  getJson,
  inferSimple,
  output,
  reasonMatches,
  repositoryIndex,
  request,
} from './fixtures.js';

describe('broken models beside a working one', () => {
  const cases = brokenCases();
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([...simpleModel(), ...cases.flatMap((c) => c.files)]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('lists simple as READY and every broken model as UNAVAILABLE', async () => {
    const rows = await repositoryIndex(server.url);
    assert.deepEqual(
      rows.map((r) => [r.name, r.version, r.state]),
      [...cases.map((c) => [c.name, '', 'UNAVAILABLE']), ['simple', '1', 'READY']].sort((a, b) =>
        String(a[0]).localeCompare(String(b[0])),
      ),
    );
  });

  for (const c of cases) {
    it(`gives ${c.name} a reason naming ${c.file}${c.field === '' ? '' : ` and ${c.field}`}`, async () => {
      const row = (await repositoryIndex(server.url)).find((r) => r.name === c.name);
      assert.ok(row !== undefined);
      assert.ok(reasonMatches(repo, c, row.reason), `unexpected reason: ${row.reason}`);
    });
  }

  it('answers inference on a broken model with 503 and the reason', async () => {
    const reply = await inferSimple(server.url, 'wrong_datatype', A16, B16);
    assert.equal(reply.status, 503);
    assert.match(reply.body.error ?? '', /^model 'wrong_datatype' is not ready \(unavailable: .*input\[1\]\.data_type/);
  });

  it('reports broken models as not ready and their metadata as unavailable', async () => {
    assert.equal((await request(`${server.url}/v2/models/corrupt/ready`)).status, 400);
    assert.equal((await getJson(`${server.url}/v2/models/corrupt`)).status, 503);
    assert.equal((await request(`${server.url}/v2/models/simple/ready`)).status, 200);
  });

  it('keeps serving simple', async () => {
    const reply = await inferSimple(server.url, 'simple', A16, B16);
    assert.equal(reply.status, 200);
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((a) => a + 1),
    );
    assert.deepEqual(
      output(reply, 'OUTPUT1').data,
      A16.map((a) => a - 1),
    );
  });

  it('logs each load failure as a JSON line with the model and its issues', () => {
    for (const c of cases) {
      const line = server.logs.find(
        (l) => l.model === c.name && typeof l.msg === 'string' && l.msg.startsWith('model failed to load'),
      );
      assert.ok(line !== undefined, `no load failure logged for ${c.name}`);
      assert.equal(line.level, 50);
      assert.equal(typeof line.time, 'string');
      assert.ok(Array.isArray(line.issues));
    }
  });

  it('keeps the server ready although models failed', async () => {
    assert.equal((await request(`${server.url}/v2/health/ready`)).status, 200);
  });
});
