// A batch from upload to output: the Files API, the batch object's wire shape and its status
// transitions, output lines whose bodies equal what the same requests answer over REST, and
// per-line failures in the error file while the rest of the batch completes.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { call, fileLines, simpleLine, submitBatch, upload, waitForBatch, type Json } from './batch-client.js';

describe('batch API round trip', () => {
  let server: TestServer;
  let batchDir: string;

  before(async () => {
    batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-batches-'));
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
      batchDir,
    });
  });
  after(async () => {
    await server.close();
    await rm(batchDir, { recursive: true, force: true });
  });

  it('stores an uploaded file and serves it back byte for byte', async () => {
    const content = JSON.stringify(simpleLine('a', 1, 2)) + '\n';
    const file = await upload(server, content, { filename: 'mine.jsonl' });
    assert.equal(file.status, 200);
    assert.match(String(file.body.id), /^file-[0-9a-f]{24}$/);
    assert.deepEqual(
      { ...file.body, id: 'x', created_at: 0 },
      {
        id: 'x',
        object: 'file',
        bytes: Buffer.byteLength(content),
        created_at: 0,
        filename: 'mine.jsonl',
        purpose: 'batch',
        status: 'processed',
        status_details: null,
      },
    );
    const id = String(file.body.id);
    assert.deepEqual((await call(server, 'GET', `/v1/files/${id}`)).body, file.body);
    const res = await fetch(`${server.url}/v1/files/${id}/content`);
    assert.equal(await res.text(), content);
    const list = await call(server, 'GET', '/v1/files?purpose=batch');
    assert.equal(list.body.object, 'list');
    assert.ok((list.body.data as Json[]).some((f) => f.id === id));
    const deleted = await call(server, 'DELETE', `/v1/files/${id}`);
    assert.deepEqual(deleted.body, { id, object: 'file', deleted: true });
    assert.equal((await call(server, 'GET', `/v1/files/${id}`)).status, 404);
  });

  it('runs every line and writes output bodies equal to the REST answers', async () => {
    const lines = [
      simpleLine('sum-1', 1, 2),
      simpleLine('sum-2', 10, -3, '/v2/models/simple/versions/1/infer'),
      { ...simpleLine('with-id', 5, 5), body: { id: 'req-7', ...(simpleLine('x', 5, 5).body as Json) } },
    ];
    const created = await submitBatch(server, lines);
    assert.match(created.id, /^batch_[0-9a-f]{24}$/);
    assert.equal(created.object, 'batch');
    assert.equal(created.status, 'validating');
    assert.equal(created.endpoint, '/v2/infer');
    assert.equal(created.completion_window, '24h');
    assert.equal(created.expires_at, (created.created_at as number) + 24 * 3600);
    for (const k of [
      'output_file_id',
      'error_file_id',
      'in_progress_at',
      'completed_at',
      'failed_at',
      'cancelled_at',
    ]) {
      assert.equal(created[k], null, k);
    }
    const done = await waitForBatch(server, created.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 3, completed: 3, failed: 0 });
    assert.equal(done.error_file_id, null);
    assert.ok(typeof done.in_progress_at === 'number' && typeof done.finalizing_at === 'number');
    assert.ok(typeof done.completed_at === 'number');
    assert.ok(done.output_file_id !== null);

    const file = await call(server, 'GET', `/v1/files/${done.output_file_id}`);
    assert.equal(file.body.purpose, 'batch_output');
    const output = await fileLines(server, done.output_file_id);
    assert.deepEqual(output.map((l) => l.custom_id).sort(), ['sum-1', 'sum-2', 'with-id']);
    for (const line of output) {
      assert.match(String(line.id), /^batch_req_/);
      assert.equal(line.error, null);
      const input = lines.find((l) => l.custom_id === line.custom_id) as Json;
      const direct = await fetch(`${server.url}${String(input.url)}`, {
        method: 'POST',
        body: JSON.stringify(input.body),
      });
      const response = line.response as Json;
      assert.equal(response.status_code, 200);
      assert.equal(typeof response.request_id, 'string');
      assert.deepEqual(response.body, await direct.json());
    }
    const sum = output.find((l) => l.custom_id === 'sum-2')?.response as {
      body: { outputs: { name: string; data: number[] }[] };
    };
    assert.deepEqual(sum.body.outputs.find((o) => o.name === 'OUTPUT0')?.data, new Array<number>(16).fill(7));
  });

  it('puts failing lines in the error file, with the REST status and error body, and completes the rest', async () => {
    const lines = [
      simpleLine('good', 2, 2),
      simpleLine('no-model', 1, 1, '/v2/models/missing/infer'),
      {
        custom_id: 'bad-shape',
        method: 'POST',
        url: '/v2/models/simple/infer',
        body: { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }] },
      },
      {
        ...simpleLine('binary', 1, 1),
        body: { ...(simpleLine('x', 1, 1).body as Json), parameters: { binary_data_output: true } },
      },
    ];
    const created = await submitBatch(server, lines);
    const done = await waitForBatch(server, created.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 4, completed: 1, failed: 3 });
    assert.ok(done.output_file_id !== null && done.error_file_id !== null);
    const output = await fileLines(server, done.output_file_id);
    assert.deepEqual(
      output.map((l) => l.custom_id),
      ['good'],
    );
    const errors = await fileLines(server, done.error_file_id);
    const byId = new Map(errors.map((l) => [l.custom_id, l]));
    assert.deepEqual([...byId.keys()].sort(), ['bad-shape', 'binary', 'no-model']);
    for (const [customId, line] of byId) {
      const input = lines.find((l) => l.custom_id === customId) as Json;
      const response = line.response as { status_code: number; body: { error: string } };
      assert.equal(line.error, null);
      if (customId === 'binary') {
        assert.equal(response.status_code, 400);
        assert.match(response.body.error, /binary tensor data cannot be carried/);
        continue;
      }
      const direct = await fetch(`${server.url}${String(input.url)}`, {
        method: 'POST',
        body: JSON.stringify(input.body),
      });
      assert.equal(response.status_code, direct.status);
      assert.deepEqual(response.body, await direct.json());
    }
    assert.equal((byId.get('no-model')?.response as Json).status_code, 404);
  });

  it('lists batches newest first with OpenAI pagination', async () => {
    const a = await submitBatch(server, [simpleLine('p1', 1, 1)]);
    const b = await submitBatch(server, [simpleLine('p2', 1, 1)]);
    await waitForBatch(server, a.id);
    await waitForBatch(server, b.id);
    const first = await call(server, 'GET', '/v1/batches?limit=1');
    assert.equal(first.status, 200);
    assert.equal(first.body.object, 'list');
    assert.deepEqual(
      (first.body.data as Json[]).map((x) => x.id),
      [b.id],
    );
    assert.equal(first.body.first_id, b.id);
    assert.equal(first.body.last_id, b.id);
    assert.equal(first.body.has_more, true);
    const second = await call(server, 'GET', `/v1/batches?limit=1&after=${b.id}`);
    assert.deepEqual(
      (second.body.data as Json[]).map((x) => x.id),
      [a.id],
    );
  });
});
