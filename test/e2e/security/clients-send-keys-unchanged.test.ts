// Clients as they are: the OpenAI SDK's `apiKey` is the bearer key (and its errors are the SDK's
// own AuthenticationError, PermissionDeniedError, RateLimitError); a model-limited key is held to
// its models on the OpenAI routes, where the model is in the body; headers over Node's limit are a
// 431 before inferd reads them; a refused admin action is in the audit file under its caller.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { bearer, writeKeyFile } from '../../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

describe('clients send their keys unchanged', () => {
  let server: TestServer;
  let dir: string;
  let keys: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-clients-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [
      { id: 'chat', scopes: ['infer:kjv-*', 'read'] },
      { id: 'embed-only', scopes: ['infer:kjv-embed'] },
      { id: 'slow', scopes: ['infer'], quota: { requests_per_second: 1 } },
    ]);
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['kjv-tiny', 'kjv-embed'],
      apiKeysFile: path.join(dir, 'keys.yaml'),
      batchDir: path.join(dir, 'batches'),
      auditLog: path.join(dir, 'audit.jsonl'),
      grpcPort: null,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });

  it("takes the OpenAI SDK's apiKey as the bearer key", async () => {
    const completion = await client(keys['chat'] ?? '').completions.create({
      model: 'kjv-tiny',
      prompt: 'In the',
      max_tokens: 2,
    });
    assert.equal(completion.object, 'text_completion');
    const models = await client(keys['chat'] ?? '').models.list();
    assert.ok(models.data.some((m) => m.id === 'kjv-tiny'));
  });

  it("answers in the SDK's own error classes: 401, 403 for a model outside the key's patterns, 429", async () => {
    await assert.rejects(
      client('sk-wrong-0000000000000000').completions.create({ model: 'kjv-tiny', prompt: 'a', max_tokens: 1 }),
      (err: unknown) => err instanceof OpenAI.AuthenticationError && /invalid API key/.test(err.message),
    );
    await assert.rejects(
      client(keys['embed-only'] ?? '').completions.create({ model: 'kjv-tiny', prompt: 'a', max_tokens: 1 }),
      (err: unknown) =>
        err instanceof OpenAI.PermissionDeniedError &&
        /API key 'embed-only' may not use model 'kjv-tiny' \(its inference scopes cover: kjv-embed\)/.test(err.message),
    );
    const embedded = await client(keys['embed-only'] ?? '').embeddings.create({ model: 'kjv-embed', input: 'light' });
    assert.ok(embedded.data[0] !== undefined && embedded.data[0].embedding.length > 0);
    const slow = client(keys['slow'] ?? '');
    await slow.embeddings.create({ model: 'kjv-embed', input: 'a' });
    await assert.rejects(
      slow.embeddings.create({ model: 'kjv-embed', input: 'a' }),
      (err: unknown) => err instanceof OpenAI.RateLimitError && err.headers.get('retry-after') === '1',
    );
  });

  it('refuses headers over the limit with 431 before the request is read', async () => {
    const res = await fetch(`${server.url}/v2/models`, {
      headers: { ...bearer(keys['chat'] ?? ''), 'x-padding': 'x'.repeat(20_000) },
    });
    assert.equal(res.status, 431);
    // The server goes on serving.
    const ok = await fetch(`${server.url}/v2/models`, { headers: bearer(keys['chat'] ?? '') });
    assert.equal(ok.status, 200);
  });

  it('writes a refused admin action to the audit file under its caller, never the key', async () => {
    const res = await fetch(`${server.url}/v2/repository/models/kjv-tiny/unload`, {
      method: 'POST',
      headers: bearer(keys['chat'] ?? ''),
    });
    assert.equal(res.status, 403);
    const anonymous = await fetch(`${server.url}/v1/files/file-x`, { method: 'DELETE' });
    assert.equal(anonymous.status, 401);
    await server.close();
    const lines = readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const unload = lines.find((l) => l['action'] === 'POST /v2/repository/models/:model/unload');
    assert.ok(unload !== undefined);
    assert.equal(unload['who'], 'chat');
    assert.equal(unload['status'], 403);
    assert.equal(unload['result'], 'refused');
    assert.deepEqual(unload['target'], { model: 'kjv-tiny' });
    assert.match(String(unload['time']), /^\d{4}-\d\d-\d\dT/);
    const deletion = lines.find((l) => l['action'] === 'DELETE /v1/files/:id');
    assert.equal(deletion?.['who'], 'anonymous');
    assert.equal(deletion['status'], 401);
    assert.equal(deletion['result'], 'refused');
    for (const key of Object.values(keys)) assert.ok(!JSON.stringify(lines).includes(key));
  });
});
