// Stored responses of /v1/responses belong to the API key that created them: another key gets the
// same 404 as for an id that was never stored, for GET, input_items, DELETE and
// previous_response_id alike, and cannot delete it from under its owner; the owner chains from it.
// --responses-store-max bounds the store: past it the least recently used response is a 404.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bearer, writeKeyFile } from '../../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

describe('stored responses and API keys', () => {
  let server: TestServer;
  let dir: string;
  let keys: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-responses-keys-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [
      { id: 'alice', scopes: ['infer'] },
      { id: 'bob', scopes: ['infer'] },
    ]);
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['kjv-tiny'],
      apiKeysFile: path.join(dir, 'keys.yaml'),
      grpcPort: null,
      responsesStoreMax: 2,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(
    who: string,
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(server.url + url, {
      method,
      headers: { ...bearer(keys[who] ?? ''), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  const create = async (who: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const made = await call(who, 'POST', '/v1/responses', {
      model: 'kjv-tiny',
      input: 'In the beginning',
      max_output_tokens: 2,
      ...extra,
    });
    assert.equal(made.status, 200, JSON.stringify(made.json));
    return String(made.json['id']);
  };

  it("answers another key's response id 404, as one never stored, and the owner keeps it", async () => {
    const id = await create('alice');
    for (const [method, url, body] of [
      ['GET', `/v1/responses/${id}`, undefined],
      ['GET', `/v1/responses/${id}/input_items`, undefined],
      ['DELETE', `/v1/responses/${id}`, undefined],
      ['POST', '/v1/responses', { model: 'kjv-tiny', input: 'And', previous_response_id: id }],
    ] as const) {
      const res = await call('bob', method, url, body);
      assert.equal(res.status, 404, `${method} ${url}`);
      assert.match(
        String((res.json['error'] as Record<string, unknown>)['message']),
        new RegExp(`with id '${id}' not found`),
      );
    }
    assert.equal((await call('alice', 'GET', `/v1/responses/${id}`)).status, 200);
    const chained = await create('alice', { previous_response_id: id });
    assert.notEqual(chained, id);
  });

  it('keeps at most --responses-store-max responses, the least recently used going first', async () => {
    const first = await create('alice');
    const second = await create('alice');
    // Reading the first makes the second the least recently used.
    assert.equal((await call('alice', 'GET', `/v1/responses/${first}`)).status, 200);
    const third = await create('alice');
    assert.equal((await call('alice', 'GET', `/v1/responses/${second}`)).status, 404);
    assert.equal((await call('alice', 'GET', `/v1/responses/${first}`)).status, 200);
    assert.equal((await call('alice', 'GET', `/v1/responses/${third}`)).status, 200);
    const evicted = await call('alice', 'POST', '/v1/responses', {
      model: 'kjv-tiny',
      input: 'And',
      previous_response_id: second,
    });
    assert.equal(evicted.status, 404);
    assert.equal((evicted.json['error'] as Record<string, unknown>)['code'], 'previous_response_not_found');
  });
});
