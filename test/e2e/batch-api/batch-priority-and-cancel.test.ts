// Batch lines queue below real-time traffic: on a slow model with batch lines waiting, a
// real-time request runs next, not after them. Cancelling stops taking lines, lets the running
// ones finish, and leaves the partial output downloadable.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { slowModel } from '../../fixtures/slow-model.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { call, fileLines, getBatch, submitBatch, waitForBatch, type BatchJson } from './batch-client.js';

/** One row of 1024 through 48 MatMuls: tens of milliseconds of work, little JSON to encode. */
const N = 1024;
const ROWS = 1;
const LINES = 60;
const CONCURRENCY = 16;

function slowLine(i: number) {
  return {
    custom_id: `line-${i}`,
    method: 'POST',
    url: '/v2/models/slow/infer',
    body: { inputs: [{ name: 'X', shape: [ROWS, N], datatype: 'FP32', data: new Array<number>(ROWS * N).fill(i) }] },
  };
}

describe('batch priority and cancel', () => {
  let dir: string;
  let batchDir: string;
  let server: TestServer;
  let batch: BatchJson;
  const executions = async (): Promise<number> => {
    const res = await fetch(`${server.url}/v2/models/slow/stats`);
    const stats = (await res.json()) as { model_stats: { execution_count: number }[] };
    return stats.model_stats[0]?.execution_count ?? NaN;
  };

  before(async () => {
    const [model] = slowModel('slow', N, 48);
    assert.ok(model !== undefined);
    dir = await makeRepository([model, { path: 'slow/config.yaml', bytes: 'optimization: { intra_op_threads: 1 }\n' }]);
    batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-batches-'));
    server = await startTestServer({ modelRepository: dir, batchDir, batchConcurrency: CONCURRENCY, logLevel: 'warn' });
    batch = await submitBatch(
      server,
      Array.from({ length: LINES }, (_, i) => slowLine(i)),
    );
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
    await rm(batchDir, { recursive: true, force: true });
  });

  it('serves a real-time request before the batch lines queued ahead of it', async () => {
    const running = await waitForBatch(server, batch.id, (b) => b.request_counts.completed >= 2);
    assert.equal(running.status, 'in_progress');
    // Executions as the scheduler counts them (a batch line's result is counted in the batch only
    // once it is on disk, which lags under load).
    const before = await executions();
    const res = await fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'X', shape: [1, N], datatype: 'FP32', data: new Array(N).fill(0.5) }] }),
    });
    const batchLinesRun = (await executions()) - before - 1;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { outputs: { data: number[] }[] };
    assert.deepEqual(body.outputs[0]?.data, new Array(N).fill(0.5));
    // CONCURRENCY - 1 batch lines were queued when it arrived; only the one executing, and those
    // that started between the stats read and its arrival (a few on a loaded machine), run before it.
    assert.ok(batchLinesRun <= 5, `${batchLinesRun} batch lines ran before the real-time request`);
    assert.ok((await getBatch(server, batch.id)).request_counts.completed < LINES - CONCURRENCY, 'lines were left');
  });

  it('refuses to delete the input file of a batch that has not finished', async () => {
    const reply = await call(server, 'DELETE', `/v1/files/${batch.input_file_id as string}`);
    assert.equal(reply.status, 400);
    assert.equal((reply.body.error as { code: string }).code, 'file_in_use');
  });

  it('cancels: no new lines start, the running ones finish, the partial output is served', async () => {
    const reply = await call(server, 'POST', `/v1/batches/${batch.id}/cancel`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.status, 'cancelling');
    assert.equal(typeof reply.body.cancelling_at, 'number');
    const done = await waitForBatch(server, batch.id);
    assert.equal(done.status, 'cancelled');
    assert.equal(typeof done.cancelled_at, 'number');
    const { completed, failed, total } = done.request_counts;
    assert.equal(total, LINES);
    assert.equal(failed, 0);
    assert.ok(completed > 0 && completed < LINES, `completed ${completed}`);
    assert.equal(done.error_file_id, null);
    assert.ok(done.output_file_id !== null);
    const output = await fileLines(server, done.output_file_id);
    assert.equal(output.length, completed);
    assert.equal(new Set(output.map((l) => l.custom_id)).size, completed);
    for (const line of output) {
      const i = Number(String(line.custom_id).slice('line-'.length));
      const response = line.response as { status_code: number; body: { outputs: { data: number[] }[] } };
      assert.equal(response.status_code, 200);
      assert.deepEqual(response.body.outputs[0]?.data, new Array(ROWS * N).fill(i));
    }
    // Nothing of the batch runs after it is cancelled.
    const stats = async () =>
      (
        (await (await fetch(`${server.url}/v2/models/slow/stats`)).json()) as {
          model_stats: { inference_count: number }[];
        }
      ).model_stats[0]?.inference_count;
    const count = await stats();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await stats(), count);
  });

  it('refuses to cancel a finished batch, and answers 404 for an unknown one', async () => {
    const again = await call(server, 'POST', `/v1/batches/${batch.id}/cancel`);
    assert.equal(again.status, 200, 'cancelling a cancelled batch is a no-op');
    assert.equal(again.body.status, 'cancelled');
    const unknown = await call(server, 'POST', '/v1/batches/batch_nope/cancel');
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, {
      error: {
        message: "No such batch: 'batch_nope'",
        type: 'not_found_error',
        param: 'batch_id',
        code: 'batch_not_found',
      },
    });
  });
});
