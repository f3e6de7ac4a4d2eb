// POST /v1/files parses multipart/form-data as clients write it beyond FormData's defaults: a
// preamble, a quoted boundary, an RFC 5987 `filename*`, CRLF inside the file, parts in any order.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import type { Json } from './batch-client.js';

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
});
