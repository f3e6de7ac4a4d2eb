// Durability: a server closed in the middle of a batch leaves it resumable; a new server on the
// same batch folder finishes it, and every input line appears exactly once in the output, even
// when the output log ends in a line torn by a crash, or the crash came while finalizing.

import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { slowModel } from '../../fixtures/slow-model.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { fileLines, getBatch, submitBatch, waitForBatch } from './batch-client.js';

const N = 256;
const ROWS = 32;
const LINES = 16;

describe('a batch survives a server restart', () => {
  let dir: string;
  let batchDir: string;
  const servers: TestServer[] = [];
  const start = async () => {
    const server = await startTestServer({ modelRepository: dir, batchDir, batchConcurrency: 2, logLevel: 'warn' });
    servers.push(server);
    return server;
  };

  before(async () => {
    const [model] = slowModel('slow', N, 64);
    assert.ok(model !== undefined);
    dir = await makeRepository([model, { path: 'slow/config.yaml', bytes: 'optimization: { intra_op_threads: 1 }\n' }]);
    batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-batches-'));
  });
  after(async () => {
    for (const s of servers) await s.close();
    await removeRepository(dir);
    await rm(batchDir, { recursive: true, force: true });
  });

  const lines = Array.from({ length: LINES }, (_, i) => ({
    custom_id: `row-${i}`,
    method: 'POST',
    url: '/v2/models/slow/infer',
    body: { inputs: [{ name: 'X', shape: [ROWS, N], datatype: 'FP32', data: new Array<number>(ROWS * N).fill(i) }] },
  }));

  it('resumes where it stopped and writes every line exactly once', async () => {
    const first = await start();
    const batch = await submitBatch(first, lines);
    await waitForBatch(first, batch.id, (b) => b.request_counts.completed >= 3);
    await first.close();

    // What a crash in the middle of an append leaves behind: a line without its newline.
    await appendFile(
      path.join(batchDir, 'batches', `${batch.id}.output.jsonl`),
      '{"id":"batch_req_torn","custom_id":"row-',
    );

    const second = await start();
    const resumed = await getBatch(second, batch.id);
    assert.ok(['in_progress', 'finalizing', 'completed'].includes(resumed.status), resumed.status);
    assert.ok(resumed.request_counts.completed >= 3, 'the lines done before the restart count');
    assert.ok(resumed.request_counts.completed < LINES, 'the first server stopped mid-batch');
    const done = await waitForBatch(second, batch.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: LINES, completed: LINES, failed: 0 });
    assert.ok(done.output_file_id !== null);
    const output = await fileLines(second, done.output_file_id);
    const ids = output.map((l) => String(l.custom_id)).sort();
    assert.deepEqual(ids, lines.map((l) => l.custom_id).sort(), 'every line exactly once');
    for (const line of output) {
      const i = Number(String(line.custom_id).slice('row-'.length));
      const response = line.response as { status_code: number; body: { outputs: { data: number[] }[] } };
      assert.equal(response.status_code, 200);
      assert.deepEqual(response.body.outputs[0]?.data, new Array<number>(ROWS * N).fill(i));
    }
  });

  it('finishes finalizing after a crash between moving the output file and writing its metadata', async () => {
    const first = await start();
    const batch = await submitBatch(first, lines.slice(0, 2));
    const done = await waitForBatch(first, batch.id);
    assert.equal(done.status, 'completed');
    const outputId = done.output_file_id;
    assert.ok(outputId !== null);
    await first.close();

    // The state such a crash leaves: the record still finalizing, the log already moved into the
    // file store under the output file's id, its metadata not yet written.
    const file = path.join(batchDir, 'batches', `${batch.id}.json`);
    const record = JSON.parse(await readFile(file, 'utf8')) as {
      batch: Record<string, unknown>;
      finalizingTo?: string;
    };
    record.batch = { ...record.batch, status: 'finalizing', output_file_id: null, completed_at: null };
    record.finalizingTo = 'completed';
    await writeFile(file, JSON.stringify(record));
    await rm(path.join(batchDir, 'files', `${outputId}.json`));
    assert.ok((await stat(path.join(batchDir, 'files', `${outputId}.jsonl`))).size > 0);

    const second = await start();
    const finished = await waitForBatch(second, batch.id, undefined, 30_000);
    assert.equal(finished.status, 'completed');
    assert.equal(finished.output_file_id, outputId);
    const output = await fileLines(second, outputId);
    assert.deepEqual(output.map((l) => l.custom_id).sort(), ['row-0', 'row-1']);
  });

  it('expires a batch past its completion window: lines not run go to the error file', async () => {
    const first = await start();
    const batch = await submitBatch(first, lines);
    await waitForBatch(first, batch.id, (b) => b.request_counts.completed >= 2);
    await first.close();
    // The 24 hours pass while the server is down.
    const file = path.join(batchDir, 'batches', `${batch.id}.json`);
    const record = JSON.parse(await readFile(file, 'utf8')) as { batch: { expires_at: number } };
    record.batch.expires_at = Math.floor(Date.now() / 1000) - 1;
    await writeFile(file, JSON.stringify(record));

    const second = await start();
    const done = await waitForBatch(second, batch.id);
    assert.equal(done.status, 'expired');
    assert.equal(typeof done.expired_at, 'number');
    const { total, completed, failed } = done.request_counts;
    assert.equal(total, LINES);
    assert.ok(completed >= 2 && completed < LINES, `completed ${completed}`);
    assert.equal(completed + failed, LINES);
    assert.ok(done.output_file_id !== null && done.error_file_id !== null);
    const output = await fileLines(second, done.output_file_id);
    const errors = await fileLines(second, done.error_file_id);
    assert.equal(output.length, completed);
    assert.equal(errors.length, failed);
    for (const line of errors) {
      assert.equal(line.response, null);
      assert.equal((line.error as { code: string }).code, 'batch_expired');
    }
    const all = [...output, ...errors].map((l) => String(l.custom_id)).sort();
    assert.deepEqual(all, lines.map((l) => l.custom_id).sort(), 'every line exactly once');
  });
});
