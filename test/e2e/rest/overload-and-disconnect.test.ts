// Under load: a full queue is answered at once with 429 and Retry-After, and a client that hangs
// up while its request waits has it dropped before it reaches onnxruntime.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { slowModel } from '../../fixtures/slow-model.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';

const N = 512;
/** The most rows one request may carry (auto-completed max_batch_size); the busy request uses all. */
const ROWS = 64;

interface Stats {
  model_stats: { execution_count: number; inference_stats: { fail: { count: number } } }[];
}

describe('overload and disconnects', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    const [model] = slowModel('slow', N, 320);
    assert.ok(model !== undefined);
    dir = await makeRepository([
      model,
      {
        path: 'slow/config.yaml',
        bytes: 'queue_policy: { max_queue_size: 1 }\noptimization: { intra_op_threads: 1 }\n',
      },
    ]);
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  /** A request big enough to keep the single instance busy for a while. */
  const body = (rows: number) =>
    JSON.stringify({
      inputs: [{ name: 'X', shape: [rows, N], datatype: 'FP32', data: new Array<number>(rows * N).fill(1) }],
    });
  const infer = (rows: number) => fetch(`${server.url}/v2/models/slow/infer`, { method: 'POST', body: body(rows) });
  /** Waits until the server reports `n` requests queued or executing for the model. */
  const waitPending = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const m = /^nv_inference_pending_request_count\{model="slow",version="1"\} (\d+)$/m.exec(text);
      if (Number(m?.[1] ?? 0) === n) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.fail(`never saw ${n} pending requests`);
  };
  const stats = async () =>
    ((await (await fetch(`${server.url}/v2/models/slow/stats`)).json()) as Stats).model_stats[0];

  it('answers 429 with Retry-After the moment the queue is full', async () => {
    const running = infer(ROWS); // executes
    await waitPending(1);
    const queued = infer(1); // waits: the queue holds one
    await waitPending(2);
    const started = performance.now();
    const refused = await infer(1);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual(await refused.json(), { error: "queue for model 'slow' is full (1 requests waiting)" });
    assert.ok(performance.now() - started < 200, 'refused at once, not after waiting');
    assert.equal((await running).status, 200);
    assert.equal((await queued).status, 200);
  });

  it('drops a waiting request whose client disconnects, without running it', async () => {
    const before = await stats();
    const running = infer(ROWS);
    await waitPending(1);
    // A raw request we can abort while it waits in the queue.
    const url = new URL(`${server.url}/v2/models/slow/infer`);
    const payload = body(1);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-length': Buffer.byteLength(payload) },
    });
    req.on('error', () => undefined);
    req.end(payload);
    await waitPending(2);
    req.destroy();
    assert.equal((await running).status, 200);
    // Nothing left queued or running: the dropped request is settled, and would have run by now.
    await waitPending(0);
    const after = await stats();
    assert.equal((after?.execution_count ?? 0) - (before?.execution_count ?? 0), 1, 'only the first request ran');
    assert.equal((after?.inference_stats.fail.count ?? 0) - (before?.inference_stats.fail.count ?? 0), 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /nv_inference_request_failure\{model="slow",version="1",reason="CANCELED"\} 1/);
  });
});
