// The official OpenAI client drives the Files and Batch APIs as it would against OpenAI: upload,
// create, retrieve, list (with its cursor pages), download, cancel, delete, and errors that it
// turns into its typed exceptions with the status, message, param and code.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleLine } from './batch-client.js';

describe('batch API through the OpenAI client', () => {
  let server: TestServer;
  let client: OpenAI;
  let batchDir = '';

  before(async () => {
    batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-batches-sdk-'));
    server = await startTestServer({ modelRepository: EXAMPLES_DIR, loadModels: ['simple'], batchDir });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1`, maxRetries: 0 });
  });

  after(async () => {
    await server?.close();
    await rm(batchDir, { recursive: true, force: true });
  });

  it('uploads, runs and downloads a batch', async () => {
    const jsonl = [simpleLine('a', 1, 2), simpleLine('b', 3, 4)].map((l) => JSON.stringify(l)).join('\n');
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), 'requests.jsonl'),
      purpose: 'batch',
    });
    assert.match(file.id, /^file-/);
    assert.equal(file.purpose, 'batch');
    assert.equal(file.bytes, Buffer.byteLength(jsonl));
    assert.equal((await client.files.retrieve(file.id)).filename, 'requests.jsonl');

    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v2/infer' as never,
      completion_window: '24h',
      metadata: { job: 'sdk' },
    });
    assert.equal(created.object, 'batch');
    assert.deepEqual(created.metadata, { job: 'sdk' });
    let batch = created;
    for (let i = 0; i < 3000 && !['completed', 'failed'].includes(batch.status); i++) {
      await new Promise((r) => setTimeout(r, 20));
      batch = await client.batches.retrieve(created.id);
    }
    assert.equal(batch.status, 'completed', JSON.stringify(batch));
    assert.deepEqual(batch.request_counts, { total: 2, completed: 2, failed: 0 });
    assert.ok(batch.output_file_id);
    const content = await (await client.files.content(batch.output_file_id)).text();
    const lines = content
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
    assert.deepEqual(lines.map((l) => l.custom_id).sort(), ['a', 'b']);
    assert.ok(lines.every((l) => l.response.status_code === 200));

    const ids: string[] = [];
    for await (const b of client.batches.list({ limit: 1 })) ids.push(b.id);
    assert.ok(ids.includes(created.id), 'the auto-paginating list reaches the batch');
    const files: string[] = [];
    for await (const f of client.files.list({ purpose: 'batch' })) files.push(f.id);
    assert.ok(files.includes(file.id));

    const deleted = await client.files.delete(batch.output_file_id);
    assert.deepEqual(deleted, { id: batch.output_file_id, object: 'file', deleted: true });
  });

  it('reports errors as the client’s typed exceptions', async () => {
    await assert.rejects(client.batches.retrieve('batch_nope'), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.match(err.message, /No such batch: 'batch_nope'/);
      assert.equal(err.code, 'batch_not_found');
      assert.equal(err.param, 'batch_id');
      return true;
    });
    await assert.rejects(
      client.batches.create({
        input_file_id: 'file-nope',
        endpoint: '/v1/responses',
        completion_window: '24h',
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.param, 'endpoint');
        assert.equal(err.type, 'invalid_request_error');
        return true;
      },
    );
  });
});
