// POST /v1/files parses multipart/form-data as clients write it beyond FormData's defaults: a
// preamble, a quoted boundary, an RFC 5987 `filename*`, CRLF inside the file, parts in any order;
// uploads in flight together are bounded in bytes (they are read whole into memory).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { holdUploads, type Json } from './batch-client.js';

describe('multipart uploads', () => {
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

  const post = async (contentType: string, body: string) => {
    const res = await fetch(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('takes a preamble, a quoted boundary, filename* and the file before the purpose', async () => {
    const file = '{"a":1}\r\n{"b":"--not-the-boundary"}\n';
    const body =
      'this preamble is ignored\r\n' +
      '--b 1\r\n' +
      'Content-Disposition: form-data; name="file"; filename="fallback.jsonl"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.jsonl\r\n' +
      'Content-Type: application/jsonl\r\n\r\n' +
      file +
      '\r\n--b 1\r\n' +
      'Content-Disposition: form-data; name="purpose"\r\n\r\n' +
      'batch\r\n' +
      '--b 1--\r\nepilogue';
    const reply = await post('multipart/form-data; boundary="b 1"', body);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.filename, 'résumé.jsonl');
    assert.equal(reply.body.bytes, Buffer.byteLength(file));
    const content = await fetch(`${server.url}/v1/files/${String(reply.body.id)}/content`);
    assert.equal(await content.text(), file);
  });

  it('refuses a part without Content-Disposition and a missing boundary', async () => {
    const noDisposition = await post(
      'multipart/form-data; boundary=zz',
      '--zz\r\nContent-Type: text/plain\r\n\r\nbatch\r\n--zz--\r\n',
    );
    assert.equal(noDisposition.status, 400);
    assert.match(
      (noDisposition.body.error as { message: string }).message,
      /part 1 has no "Content-Disposition: form-data"/,
    );
    const noBoundary = await post('multipart/form-data', '--zz--');
    assert.equal(noBoundary.status, 400);
    assert.match((noBoundary.body.error as { message: string }).message, /needs a boundary/);
  });

  it('refuses an upload with 429 while the largest uploads in flight fill the budget, until they end', async () => {
    // A server of its own, so no earlier upload is still counted. Two uploads declaring the largest
    // body (the 1 MiB file limit and the multipart allowance), of which a few bytes are sent: they
    // hold the budget while they are open.
    const own = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: [],
      logLevel: 'warn',
      batchDir,
      maxBatchFileBytes: 1024 * 1024,
    });
    try {
      await holdAndProbe(own);
    } finally {
      await own.close();
    }
  });

  async function holdAndProbe(own: TestServer): Promise<void> {
    const uploads = holdUploads(own.url, 1024 * 1024 + 64 * 1024);
    const small = (): Promise<Response> => {
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob(['{"x":1}\n']), 'small.jsonl');
      return fetch(`${own.url}/v1/files`, { method: 'POST', body: form });
    };
    let refused: Response | undefined;
    for (let i = 0; i < 500 && refused === undefined; i++) {
      const res = await small();
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
      if (refused === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(refused !== undefined, 'an upload is refused while the budget is held');
    const body = (await refused.json()) as { error: { type: string; code: string; message: string } };
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.code, 'too_many_uploads');

    uploads.release();
    let status = 0;
    for (let i = 0; i < 500 && status !== 200; i++) {
      const res = await small();
      status = res.status;
      await res.arrayBuffer();
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status, 200, 'the budget is released when the held uploads drop');
  }
});
