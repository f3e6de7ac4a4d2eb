// The version policy in a model's config decides which version folders are served (latest N by
// default 1, all, specific), and /versions/N reaches exactly that version.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import {
  A16,
  B16,
  SIMPLE_CONFIG,
  asVersions,
  getJson,
  inferSimple,
  output,
  renamed,
  repositoryIndex,
  request,
  simpleMulVersion,
} from './fixtures.js';

/** `simple` under another name, at the given versions, with an optional version_policy. */
function versioned(name: string, versions: number[], policy?: string) {
  const files = asVersions(renamed(simpleModel(), name), versions).filter((f) => !f.path.endsWith('config.yaml'));
  const config = policy === undefined ? SIMPLE_CONFIG : `${SIMPLE_CONFIG}version_policy: ${policy}\n`;
  return [...files, { path: `${name}/config.yaml`, bytes: config }];
}

describe('version policy', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...versioned('latest_default', [1, 2, 3]),
      ...versioned('latest_two', [1, 2, 3], '{ latest: { num_versions: 2 } }'),
      ...versioned('specific', [1, 2, 3], '{ specific: { versions: [1, 3] } }'),
      ...versioned('specific_missing', [1, 2], '{ specific: { versions: [4] } }'),
      // Version 1 adds, version 2 multiplies: a response shows which one ran.
      ...versioned('two', [1], '{ all: {} }'),
      simpleMulVersion('two', 2),
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  async function served(name: string): Promise<string[]> {
    return (await repositoryIndex(server.url))
      .filter((r) => r.name === name && r.state === 'READY')
      .map((r) => r.version);
  }

  it('serves only the highest version by default', async () => {
    assert.deepEqual(await served('latest_default'), ['3']);
    const meta = await getJson<{ versions: string[] }>(`${server.url}/v2/models/latest_default`);
    assert.deepEqual(meta.body.versions, ['3']);
  });

  it('refuses a version the policy does not serve with 404', async () => {
    const reply = await inferSimple(server.url, 'latest_default', A16, B16, 1);
    assert.equal(reply.status, 404);
    assert.equal(
      reply.body.error,
      "Request for unknown model: 'latest_default' version 1 is not found; serving version(s) 3",
    );
    assert.equal((await request(`${server.url}/v2/models/latest_default/versions/1/ready`)).status, 400);
    assert.equal((await request(`${server.url}/v2/models/latest_default/versions/3/ready`)).status, 200);
  });

  it('serves the highest N for latest N', async () => {
    assert.deepEqual(await served('latest_two'), ['2', '3']);
  });

  it('serves exactly the listed versions for specific', async () => {
    assert.deepEqual(await served('specific'), ['1', '3']);
    assert.equal((await inferSimple(server.url, 'specific', A16, B16, 2)).status, 404);
    assert.equal((await inferSimple(server.url, 'specific', A16, B16, 3)).status, 200);
  });

  it('marks the model UNAVAILABLE when a specific version does not exist', async () => {
    const rows = (await repositoryIndex(server.url)).filter((r) => r.name === 'specific_missing');
    assert.deepEqual(rows, [
      {
        name: 'specific_missing',
        version: '',
        state: 'UNAVAILABLE',
        reason: `${path.join(repo, 'specific_missing')}: version_policy.specific.versions: version(s) 4 not found; available: 1, 2`,
      },
    ]);
  });

  it('serves every version for all, each computing its own graph', async () => {
    assert.deepEqual(await served('two'), ['1', '2']);
    const v1 = await inferSimple(
      server.url,
      'two',
      A16,
      B16.map(() => 3),
      1,
    );
    const v2 = await inferSimple(
      server.url,
      'two',
      A16,
      B16.map(() => 3),
      2,
    );
    assert.equal(v1.body.model_version, '1');
    assert.equal(v2.body.model_version, '2');
    assert.deepEqual(
      output(v1, 'OUTPUT0').data,
      A16.map((a) => a + 3),
    );
    assert.deepEqual(
      output(v2, 'OUTPUT0').data,
      A16.map((a) => a * 3),
    );
  });

  it('uses the highest served version when the request names none', async () => {
    const reply = await inferSimple(
      server.url,
      'two',
      A16,
      B16.map(() => 3),
    );
    assert.equal(reply.body.model_version, '2');
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((a) => a * 3),
    );
  });

  it('counts an inference only in the statistics of the version that ran it', async () => {
    const counts = async (): Promise<string[][]> =>
      (
        await getJson<{ model_stats: { version: string; inference_count: number }[] }>(
          `${server.url}/v2/models/two/stats`,
        )
      ).body.model_stats.map((s) => [s.version, String(s.inference_count)]);
    const was = await counts();
    await inferSimple(server.url, 'two', A16, B16, 1);
    const now = await counts();
    const countOf = (rows: string[][], v: string): number => Number(rows.find((r) => r[0] === v)?.[1]);
    assert.equal(countOf(now, '1'), countOf(was, '1') + 1);
    assert.equal(countOf(now, '2'), countOf(was, '2'));
  });

  it('refuses a version that is not a positive integer with 400', async () => {
    const reply = await inferSimple(server.url, 'two', A16, B16, 0);
    assert.equal(reply.status, 400);
    assert.match(reply.body.error ?? '', /invalid version "0" for model 'two'/);
  });
});
