// The batch API's refusals tell the client when to come back, as every other edge's do: an upload
// refused because the uploads in flight fill the memory budget is a 429 with Retry-After. (The
// batch API's 503s go through the same handler; test/protocols/common covers them with its config.)

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { holdUploads } from './batch-client.js';

let server: TestServer;
let batchDir: string;
const MAX_FILE_BYTES = 1024 * 1024;

before(async () => {
  batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-batches-'));
  server = await startTestServer({
    modelRepository: EXAMPLES_DIR,
    modelControlMode: 'explicit',
    loadModels: [],
    logLevel: 'warn',
    batchDir,
    maxBatchFileBytes: MAX_FILE_BYTES,
  });
});
after(async () => {
  await server.close();
  await rm(batchDir, { recursive: true, force: true });
});

it('refuses an upload over the in-flight budget with 429 too_many_uploads and Retry-After', async () => {
  // Two uploads declaring the largest body (the file limit and the multipart allowance), of which
  // a few bytes are sent, hold the budget while they are open.
  const uploads = holdUploads(server.url, MAX_FILE_BYTES + 64 * 1024);
  try {
    let refused: Response | undefined;
    for (let i = 0; i < 500 && refused === undefined; i++) {
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob(['{"x":1}\n']), 'small.jsonl');
      const res = await fetch(`${server.url}/v1/files`, { method: 'POST', body: form });
      if (res.status === 429) refused = res;
      else {
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.ok(refused !== undefined, 'an upload is refused while the budget is held');
    assert.equal(refused.headers.get('retry-after'), '1');
    const body = (await refused.json()) as { error: { type: string; code: string; param: string | null } };
    assert.deepEqual(
      { type: body.error.type, code: body.error.code, param: body.error.param },
      { type: 'rate_limit_error', code: 'too_many_uploads', param: null },
    );
  } finally {
    uploads.release();
  }
});
