// Refusals: an input file with bad lines fails the batch with errors naming the lines; bad
// uploads, unknown ids, unsupported endpoints and malformed requests answer 4xx in OpenAI's error
// shape; and the server goes on serving.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { call, simpleLine, submitBatch, upload, waitForBatch, type Json } from './batch-client.js';

const MAX_FILE_BYTES = 4 * 1024 * 1024;

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function assertOpenAIError(reply: { status: number; body: Json }, status: number, pattern: RegExp): ErrorBody['error'] {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  const { error } = reply.body as unknown as ErrorBody;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  assert.match(error.message, pattern);
  return error;
}

describe('batch API validation and errors', () => {
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
      maxBatchFileBytes: MAX_FILE_BYTES,
    });
  });
  after(async () => {
    await server.close();
    await rm(batchDir, { recursive: true, force: true });
  });

  it('fails a batch whose input file has bad lines, naming each line', async () => {
    const good = JSON.stringify(simpleLine('ok', 1, 1));
    const content = [
      good,
      '{"custom_id": "broken", ',
      JSON.stringify({ method: 'POST', url: '/v2/models/simple/infer', body: {} }),
      JSON.stringify(simpleLine('ok', 2, 2)),
      JSON.stringify({ ...simpleLine('get', 1, 1), method: 'GET' }),
      JSON.stringify(simpleLine('elsewhere', 1, 1, '/v1/chat/completions')),
      JSON.stringify({ ...simpleLine('no-body', 1, 1), body: [1, 2] }),
      '',
    ].join('\n');
    const file = await upload(server, content);
    const created = await call(server, 'POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v2/infer',
      completion_window: '24h',
    });
    const done = await waitForBatch(server, String(created.body.id));
    assert.equal(done.status, 'failed');
    assert.equal(typeof done.failed_at, 'number');
    assert.equal(done.in_progress_at, null);
    assert.equal(done.output_file_id, null);
    assert.equal(done.errors?.object, 'list');
    assert.deepEqual(
      done.errors?.data.map((e) => [e.line, e.code, e.param]),
      [
        [2, 'invalid_json_line', null],
        [3, 'missing_required_parameter', 'custom_id'],
        [4, 'duplicate_custom_id', 'custom_id'],
        [5, 'invalid_method', 'method'],
        [6, 'mismatched_url', 'url'],
        [7, 'invalid_body', 'body'],
      ],
    );
    assert.match(done.errors?.data[2]?.message ?? '', /"ok" appears on an earlier line/);
  });

  it('fails an empty batch and one whose lines leave the endpoint it names', async () => {
    const blank = await upload(server, '\n\n');
    const empty = await call(server, 'POST', '/v1/batches', {
      input_file_id: blank.body.id,
      endpoint: '/v2/infer',
      completion_window: '24h',
    });
    const failed = await waitForBatch(server, String(empty.body.id));
    assert.deepEqual(
      failed.errors?.data.map((e) => e.code),
      ['empty_file'],
    );
    const pinned = await submitBatch(
      server,
      [simpleLine('a', 1, 1), simpleLine('b', 1, 1, '/v2/models/simple/versions/1/infer')],
      '/v2/models/simple/infer',
    );
    const mismatch = await waitForBatch(server, pinned.id);
    assert.equal(mismatch.status, 'failed');
    assert.deepEqual(
      mismatch.errors?.data.map((e) => [e.line, e.code]),
      [[2, 'mismatched_url']],
    );
  });

  it('refuses more than 50,000 requests in one batch', async () => {
    const line = (i: number) => `{"custom_id":"${i}","method":"POST","url":"/v2/models/simple/infer","body":{}}`;
    const content = Array.from({ length: 50_001 }, (_, i) => line(i)).join('\n');
    const file = await upload(server, content);
    assert.equal(file.status, 200);
    const created = await call(server, 'POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v2/infer',
      completion_window: '24h',
    });
    const done = await waitForBatch(server, String(created.body.id));
    assert.equal(done.status, 'failed');
    const codes = done.errors?.data.map((e) => e.code);
    assert.deepEqual(codes, ['too_many_requests']);
    assert.match(done.errors?.data[0]?.message ?? '', /50001 requests; a batch may hold at most 50000/);
  });

  it('answers bad batch requests with 4xx in the OpenAI error shape', async () => {
    const file = await upload(server, JSON.stringify(simpleLine('a', 1, 1)) + '\n');
    const id = file.body.id;
    const create = (body: unknown) => call(server, 'POST', '/v1/batches', body);
    let e = assertOpenAIError(
      await create({ input_file_id: id, endpoint: '/v1/responses', completion_window: '24h' }),
      400,
      /endpoint '\/v1\/responses' is not served by this server/,
    );
    assert.deepEqual([e.type, e.param, e.code], ['invalid_request_error', 'endpoint', 'unsupported_endpoint']);
    e = assertOpenAIError(
      await create({ input_file_id: id, endpoint: '/v2/models/simple', completion_window: '24h' }),
      400,
      /unknown endpoint/,
    );
    assert.equal(e.param, 'endpoint');
    e = assertOpenAIError(
      await create({ input_file_id: id, endpoint: '/v2/infer', completion_window: '1h' }),
      400,
      /"completion_window" must be "24h"/,
    );
    assert.equal(e.param, 'completion_window');
    e = assertOpenAIError(
      await create({ input_file_id: 'file-nope', endpoint: '/v2/infer', completion_window: '24h' }),
      404,
      /No such file: 'file-nope'/,
    );
    assert.deepEqual([e.type, e.param], ['not_found_error', 'input_file_id']);
    assertOpenAIError(
      await create({ endpoint: '/v2/infer', completion_window: '24h' }),
      400,
      /"input_file_id" is required/,
    );
    assertOpenAIError(
      await create({ input_file_id: id, endpoint: '/v2/infer', completion_window: '24h', metadata: { k: 1 } }),
      400,
      /metadata value of 'k' must be a string/,
    );
    assertOpenAIError(await create('{"input_file_id": '), 400, /malformed JSON/);
    assertOpenAIError(await call(server, 'GET', '/v1/batches/batch_nope'), 404, /No such batch: 'batch_nope'/);
    assertOpenAIError(
      await call(server, 'GET', '/v1/batches?limit=0'),
      400,
      /"limit" must be an integer from 1 to 100/,
    );
    assertOpenAIError(await call(server, 'GET', '/v1/batches?after=batch_nope'), 400, /"after" names no object/);
    e = assertOpenAIError(await call(server, 'GET', '/v1/nothing-here'), 404, /no route for GET \/v1\/nothing-here/);
    assert.equal(e.type, 'not_found_error');

    // A batch's output file is no batch input.
    const ok = await submitBatch(server, [simpleLine('x', 1, 1)]);
    const done = await waitForBatch(server, ok.id);
    assertOpenAIError(
      await create({ input_file_id: done.output_file_id, endpoint: '/v2/infer', completion_window: '24h' }),
      400,
      /has purpose 'batch_output'; a batch input needs purpose "batch"/,
    );
  });

  it('answers bad uploads and unknown files with 4xx in the OpenAI error shape', async () => {
    const line = JSON.stringify(simpleLine('a', 1, 1)) + '\n';
    let e = assertOpenAIError(
      await upload(server, line, { purpose: 'fine-tune' }),
      400,
      /purpose 'fine-tune' is not accepted/,
    );
    assert.deepEqual([e.param, e.code], ['purpose', 'invalid_purpose']);
    e = assertOpenAIError(await upload(server, ''), 400, /the uploaded file is empty/);
    assert.equal(e.param, 'file');
    e = assertOpenAIError(await upload(server, 'x'.repeat(MAX_FILE_BYTES + 1)), 413, /over the limit of 4194304 bytes/);
    assert.deepEqual([e.param, e.code], ['file', 'file_too_large']);

    const form = new FormData();
    form.append('purpose', 'batch');
    const noFile = await fetch(`${server.url}/v1/files`, { method: 'POST', body: form });
    assertOpenAIError(
      { status: noFile.status, body: (await noFile.json()) as Json },
      400,
      /the "file" field is required/,
    );
    const json = await call(server, 'POST', '/v1/files', { purpose: 'batch' });
    assertOpenAIError(json, 400, /Content-Type is 'application\/json'; expected a multipart\/form-data upload/);
    const truncated = await fetch(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: '--XyZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{}',
    });
    assertOpenAIError(
      { status: truncated.status, body: (await truncated.json()) as Json },
      400,
      /ends before its closing boundary/,
    );

    assertOpenAIError(await call(server, 'GET', '/v1/files/file-nope'), 404, /No such file: 'file-nope'/);
    const content = await fetch(`${server.url}/v1/files/file-nope/content`);
    assertOpenAIError({ status: content.status, body: (await content.json()) as Json }, 404, /No such file/);
    assertOpenAIError(await call(server, 'DELETE', '/v1/files/file-nope'), 404, /No such file/);
    assertOpenAIError(await call(server, 'GET', '/v1/files?order=up'), 400, /"order" must be "asc" or "desc"/);
  });

  it('keeps serving real-time and batch requests after all of these', async () => {
    const ready = await fetch(`${server.url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    const batch = await submitBatch(server, [simpleLine('after', 3, 4)]);
    const done = await waitForBatch(server, batch.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 1, completed: 1, failed: 0 });
  });
});
