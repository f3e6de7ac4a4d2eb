// Flow control on the WebSocket infer stream: one connection never has more than 64 requests
// accepted and unanswered (the rest wait unread, then all are answered in order), and a client
// that hangs up has its queued requests dropped before they run, while the server keeps serving.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_IN_FLIGHT_PER_CONNECTION } from '../../../src/protocols/kserve-ws/routes-infer-stream.js';
import { slowModel } from '../../fixtures/slow-model.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { openStream, streamUrl } from './stream-client.js';

const N = 256;
/** Rows of the request that keeps the single instance busy while the others queue. */
const BUSY_ROWS = 1024;

interface Stats {
  model_stats: { execution_count: number; inference_stats: { fail: { count: number } } }[];
}

describe('WebSocket infer stream: backpressure and disconnects', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    const [model] = slowModel('slow', N, 64);
    assert.ok(model !== undefined);
    dir = await makeRepository([
      model,
      { path: 'slow/config.yaml', bytes: `max_batch_size: ${BUSY_ROWS}\noptimization: { intra_op_threads: 1 }\n` },
    ]);
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  const request = (id: string, rows: number) =>
    JSON.stringify({
      id,
      inputs: [{ name: 'X', shape: [rows, N], datatype: 'FP32', data: new Array<number>(rows * N).fill(1) }],
      outputs: [{ name: 'Y', parameters: { binary_data: true } }],
    });
  const pending = async (): Promise<number> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^nv_inference_pending_request_count\{model="slow",version="1"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  /** Polls until `n` requests are pending; returns the largest count seen on the way. */
  const waitPending = async (n: number): Promise<number> => {
    let peak = 0;
    for (let i = 0; i < 500; i++) {
      const p = await pending();
      peak = Math.max(peak, p);
      if (p === n) return peak;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.fail(`never saw ${n} pending requests (peak ${peak})`);
  };
  const stats = async () =>
    ((await (await fetch(`${server.url}/v2/models/slow/stats`)).json()) as Stats).model_stats[0];

  it(`accepts at most ${MAX_IN_FLIGHT_PER_CONNECTION} requests at a time, then answers all in order`, async () => {
    const total = MAX_IN_FLIGHT_PER_CONNECTION + 40;
    const s = await openStream(streamUrl(server.url, 'slow'));
    s.socket.send(request('busy', BUSY_ROWS));
    for (let i = 1; i < total; i++) s.socket.send(request(`r${i}`, 1));
    // Every message has been sent; the server holds the bound while the busy request runs.
    let peak = await waitPending(MAX_IN_FLIGHT_PER_CONNECTION);
    for (let i = 0; i < 5; i++) peak = Math.max(peak, await pending());
    assert.equal(peak, MAX_IN_FLIGHT_PER_CONNECTION);
    assert.equal((await s.nextJson()).id, 'busy');
    for (let i = 1; i < total; i++) assert.equal((await s.nextJson()).id, `r${i}`);
    s.socket.close();
  });

  it('drops the queued requests of a client that disconnects; the server keeps serving', async () => {
    const before = await stats();
    const s = await openStream(streamUrl(server.url, 'slow'));
    s.socket.send(request('busy', BUSY_ROWS));
    for (let i = 1; i <= 10; i++) s.socket.send(request(`q${i}`, 1));
    await waitPending(11);
    s.socket.terminate();
    await waitPending(0);
    const after = await stats();
    assert.equal((after?.execution_count ?? 0) - (before?.execution_count ?? 0), 1, 'only the busy request ran');
    assert.equal((after?.inference_stats.fail.count ?? 0) - (before?.inference_stats.fail.count ?? 0), 10);

    const next = await openStream(streamUrl(server.url, 'slow'));
    next.socket.send(request('after', 1));
    assert.equal((await next.nextJson()).id, 'after');
    next.socket.close();
  });
});
