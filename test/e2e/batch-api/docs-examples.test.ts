// docs/batch-api.md's "Try it" session works as pasted: its shell block runs against a real
// server on the example models (port and scratch folder rewritten) and prints what the page says.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('docs/batch-api.md examples', () => {
  let server: TestServer;
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'inferd-batch-docs-'));
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
      batchDir: path.join(scratch, 'batches'),
    });
  });
  after(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('the "Try it" session uploads, runs and downloads as documented', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/batch-api.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Try it'), doc.indexOf('## Endpoints'));
    const script = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? '')
      .join('\n')
      .replaceAll('localhost:8000', `127.0.0.1:${server.httpPort}`)
      .replaceAll('/tmp/', `${scratch}/`);
    assert.ok(script.includes('/v1/files'), 'the section has its shell block');
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 60_000 });

    assert.match(stdout, /"status":"completed"/);
    assert.match(stdout, /"request_counts":\{"total":3,"completed":2,"failed":1\}/);
    assert.match(stdout, /"metadata":\{"job":"demo"\}/);
    assert.match(
      stdout,
      /"custom_id":"sum-1","response":\{"status_code":200,"request_id":"batch_[0-9a-f]+-1","body":\{"model_name":"simple","model_version":"1","outputs":\[\{"name":"OUTPUT0","datatype":"INT32","shape":\[1,16\],"data":\[2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\]/,
    );
    assert.match(stdout, /"custom_id":"sum-2".*"data":\[5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5\]/);
    assert.match(
      stdout,
      /"custom_id":"typo","response":\{"status_code":404,"request_id":"batch_[0-9a-f]+-3","body":\{"error":"Request for unknown model: 'simpel' is not found"\}\},"error":null\}/,
    );
  });
});
