// The OpenAI routes take an experiment's name as `model`: the variant is chosen by weight, kept by
// the request's `user`, and named in the answer's x-inferd-variant header.

import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

async function copyOf(model: string, as: string) {
  const dir = path.join(EXAMPLES_DIR, model);
  const files = [{ path: `${as}/config.yaml`, bytes: await readFile(path.join(dir, 'config.yaml')) }];
  for (const f of await readdir(path.join(dir, '1')))
    files.push({ path: `${as}/1/${f}`, bytes: await readFile(path.join(dir, '1', f)) });
  return files;
}

describe('experiments on the OpenAI routes', () => {
  let repo: string;
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...(await copyOf('kjv-embed', 'embed_a')),
      ...(await copyOf('kjv-embed', 'embed_b')),
      {
        path: 'embed/experiment.yaml',
        bytes: 'variants:\n  - { name: a, model: embed_a, weight: 1 }\n  - { name: b, model: embed_b, weight: 1 }\n',
      },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  const embed = async (user?: string) => {
    const res = await fetch(`${server.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'embed', input: 'In the beginning', ...(user === undefined ? {} : { user }) }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { model: string; data: { embedding: number[] }[] };
    return { variant: res.headers.get('x-inferd-variant'), body };
  };

  it('answers under the experiment name, names the variant, and keeps a user on one variant', async () => {
    const seen = new Set<string | null>();
    for (let i = 0; i < 40; i++) {
      const { variant, body } = await embed(`user-${i}`);
      assert.equal(body.model, 'embed');
      assert.ok(body.data[0]!.embedding.length > 0);
      seen.add(variant);
      assert.equal((await embed(`user-${i}`)).variant, variant, `user-${i} switched variant`);
    }
    assert.deepEqual([...seen].sort(), ['a', 'b']);
    // Each answered request is counted for its variant, as canary analysis reads them.
    const status = (await (await fetch(`${server.url}/v2/experiments/embed`)).json()) as {
      variants: { name: string; requests: number; errors: number; latency_p50_ms: number | null }[];
    };
    assert.equal(
      status.variants.reduce((n, v) => n + v.requests, 0),
      80,
    );
    for (const v of status.variants) {
      assert.equal(v.errors, 0);
      assert.ok((v.latency_p50_ms ?? 0) > 0);
    }
  });

  it('does not count a client mistake against the variant', async () => {
    const res = await fetch(`${server.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'embed', input: 'x', dimensions: 3, user: 'user-1' }),
    });
    assert.equal(res.status, 400);
    const status = (await (await fetch(`${server.url}/v2/experiments/embed`)).json()) as {
      variants: { requests: number; errors: number }[];
    };
    assert.equal(
      status.variants.reduce((n, v) => n + v.requests, 0),
      80,
    );
  });
});
