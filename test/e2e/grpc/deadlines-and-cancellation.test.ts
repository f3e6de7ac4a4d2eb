// A call's deadline becomes its request timeout, and a cancelled call drops its queued work: in
// both cases the request leaves the queue without reaching onnxruntime. The "timeout" parameter
// behaves as over REST.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { slowModel } from '../../fixtures/slow-model.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, unary, type Clients, type Message } from './grpc-client.js';

const N = 1024;
/** Rows of the request that keeps the single instance busy (about 27 GFLOP: a second or more). */
const BUSY_ROWS = 64;

interface Stats {
  model_stats: { execution_count: number; inference_stats: { fail: { count: number } } }[];
}

describe('deadlines and cancellation over gRPC', () => {
  let dir: string;
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    const [model] = slowModel('slow', N, 200);
    assert.ok(model !== undefined);
    dir = await makeRepository([model, { path: 'slow/config.yaml', bytes: 'optimization: { intra_op_threads: 1 }\n' }]);
    server = await startTestServer({ modelRepository: dir, logLevel: 'warn' });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
    await removeRepository(dir);
  });

  const request = (rows: number, extra: Message = {}): Message => ({
    model_name: 'slow',
    inputs: [{ name: 'X', datatype: 'FP32', shape: [rows, N] }],
    raw_input_contents: [Buffer.from(new Float32Array(rows * N).fill(1).buffer)],
    ...extra,
  });
  const stats = async () =>
    ((await (await fetch(`${server.url}/v2/models/slow/stats`)).json()) as Stats).model_stats[0]!;
  /** Waits until the server reports `n` requests queued or executing for the model. */
  const waitPending = async (n: number) => {
    for (let i = 0; i < 500; i++) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const m = /^nv_inference_pending_request_count\{model="slow",version="1"\} (\d+)$/m.exec(text);
      if (Number(m?.[1] ?? 0) === n) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.fail(`never saw ${n} pending requests`);
  };
  const code = (p: Promise<unknown>): Promise<grpc.status> =>
    p.then(
      () => grpc.status.OK,
      (err: grpc.ServiceError) => err.code,
    );

  it('a deadline that passes while the request waits drops it from the queue', async () => {
    const before = await stats();
    const busy = unary(clients.inference, 'ModelInfer', request(BUSY_ROWS));
    await waitPending(1);
    const late = code(unary(clients.inference, 'ModelInfer', request(1), { deadline: Date.now() + 150 }));
    assert.equal(await late, grpc.status.DEADLINE_EXCEEDED);
    await busy;
    await waitPending(0);
    const now = await stats();
    assert.equal(now.execution_count, before.execution_count + 1, 'only the busy request ran');
    assert.equal(now.inference_stats.fail.count, before.inference_stats.fail.count + 1);
  });

  it('the "timeout" parameter is answered DEADLINE_EXCEEDED with the REST message', async () => {
    const busy = unary(clients.inference, 'ModelInfer', request(BUSY_ROWS));
    await waitPending(1);
    await assert.rejects(
      unary(clients.inference, 'ModelInfer', request(1, { parameters: { timeout: { int64_param: 100_000 } } })),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
        assert.equal(err.details, 'request timed out: its 100000 µs timeout passed while it waited in the queue');
        return true;
      },
    );
    await busy;
  });

  it('a call cancelled while queued is dropped before it runs', async () => {
    await waitPending(0);
    const before = await stats();
    const busy = unary(clients.inference, 'ModelInfer', request(BUSY_ROWS));
    await waitPending(1);
    const client = clients.inference as unknown as Record<
      string,
      (req: Message, cb: (err: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall
    >;
    const cancelled = new Promise<grpc.status>((resolve) => {
      const call = client.ModelInfer!.call(clients.inference, request(1), (err) =>
        resolve(err?.code ?? grpc.status.OK),
      );
      void waitPending(2).then(() => call.cancel());
    });
    assert.equal(await cancelled, grpc.status.CANCELLED);
    await waitPending(1);
    await busy;
    await waitPending(0);
    const now = await stats();
    assert.equal(now.execution_count, before.execution_count + 1, 'only the busy request ran');
    assert.equal(now.inference_stats.fail.count, before.inference_stats.fail.count + 1);
  });
});
