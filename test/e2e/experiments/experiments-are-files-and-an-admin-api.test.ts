// Experiments are defined by files in the repository (re-read as they change) and through the
// admin API; a broken definition is refused with file / field / reason and takes down none of the
// models it names.

import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualTimer } from '../../helpers/manual-timer.js';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

const body = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 2) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
});

describe('experiment files and the admin API', () => {
  let repo: string;
  let server: TestServer;
  const timer = new ManualTimer();

  before(async () => {
    repo = await makeRepository([
      ...(await simpleVariant('model_a')),
      ...(await simpleVariant('model_b')),
      { path: 'ab/experiment.yaml', bytes: 'variants:\n  - { name: a, model: model_a, weight: 1 }\n' },
      { path: 'bad/experiment.yaml', bytes: 'variants:\n  - { model: model_missing, weight: 1 }\n' },
    ]);
    server = await startTestServer({ modelRepository: repo, repositoryPollSeconds: 5 }, { experimentTimer: timer });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  const variantOf = async (model: string): Promise<string | null> => {
    const res = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', body });
    assert.equal(res.status, 200, await res.clone().text());
    return res.headers.get('x-inferd-variant');
  };
  const call = (method: string, url: string, json?: unknown) =>
    fetch(`${server.url}${url}`, {
      method,
      ...(json === undefined ? {} : { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } }),
    });
  /** Moves the poll clock on, a period at a time, until the re-read has landed (seen through the API). */
  const poll = async (done: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 500; i++) {
      timer.advance(5000);
      if (await done()) return;
    }
    assert.fail('the experiment files were not re-read');
  };

  it('serves a valid file, refuses a broken one by name, and the models stay up', async () => {
    assert.equal(await variantOf('ab'), 'a');
    const res = await fetch(`${server.url}/v2/models/bad/infer`, { method: 'POST', body });
    assert.equal(res.status, 503);
    assert.match(
      ((await res.json()) as { error: string }).error,
      /bad\/experiment\.yaml: variants\[0\]\.model: no model 'model_missing'/,
    );
    const list = (await (await call('GET', '/v2/experiments')).json()) as {
      experiments: { name: string }[];
      invalid: { name: string; error: string }[];
    };
    assert.deepEqual(
      list.experiments.map((e) => e.name),
      ['ab'],
    );
    assert.equal(list.invalid[0]?.name, 'bad');
    // The models themselves serve, under their own names.
    assert.equal(await variantOf('model_a'), null);
    assert.equal(await variantOf('model_b'), null);
    // An experiment folder is not a model: the index does not list it.
    const index = (await (await call('POST', '/v2/repository/index')).json()) as { name: string }[];
    assert.deepEqual([...new Set(index.map((r) => r.name))].sort(), ['model_a', 'model_b']);
  });

  it('re-reads a changed file; a file broken later keeps the last good definition and says why', async () => {
    const file = path.join(repo, 'ab/experiment.yaml');
    await writeFile(file, 'variants:\n  - { name: b, model: model_b, weight: 1 }\n');
    await poll(async () => (await variantOf('ab')) === 'b');
    await writeFile(file, 'variants: [ { name: b, model: model_b, weight: 1 } \n');
    await poll(async () => {
      const status = (await (await call('GET', '/v2/experiments/ab')).json()) as { file_error?: string };
      return status.file_error !== undefined;
    });
    const status = (await (await call('GET', '/v2/experiments/ab')).json()) as { file_error: string };
    assert.match(status.file_error, /ab\/experiment\.yaml: cannot parse/);
    assert.equal(await variantOf('ab'), 'b');
    await rm(path.join(repo, 'ab'), { recursive: true });
    await poll(async () => (await call('GET', '/v2/experiments/ab')).status === 404);
  });

  it('defines, replaces and removes experiments through the API, checked like files', async () => {
    const put = await call('PUT', '/v2/experiments/live', {
      variants: [
        { name: 'a', model: 'model_a', weight: 3 },
        { name: 'b', model: 'model_b', weight: 1 },
      ],
    });
    assert.equal(put.status, 200, await put.clone().text());
    const status = (await put.json()) as { source: string; variants: { name: string; weight: number }[] };
    assert.equal(status.source, 'api');
    assert.deepEqual(
      status.variants.map((v) => v.weight),
      [0.75, 0.25],
    );
    assert.ok(['a', 'b'].includes((await variantOf('live')) ?? ''));

    const invalid = await call('PUT', '/v2/experiments/live', { variants: [{ model: 'live', weight: 1 }] });
    assert.equal(invalid.status, 400);
    assert.match(
      ((await invalid.json()) as { error: string }).error,
      /api: variants\[0\]\.model: the experiment routes to itself/,
    );
    const clash = await call('PUT', '/v2/experiments/model_a', { variants: [{ model: 'model_b', weight: 1 }] });
    assert.equal(clash.status, 400);
    assert.match(((await clash.json()) as { error: string }).error, /'model_a' is already a model's name/);
    const fileOwned = await call('PUT', '/v2/experiments/bad', { variants: [{ model: 'model_b', weight: 1 }] });
    assert.equal(fileOwned.status, 409);

    assert.equal((await call('DELETE', '/v2/experiments/live')).status, 200);
    assert.equal((await call('GET', '/v2/experiments/live')).status, 404);
    assert.equal((await fetch(`${server.url}/v2/models/live/infer`, { method: 'POST', body })).status, 404);
  });
});
