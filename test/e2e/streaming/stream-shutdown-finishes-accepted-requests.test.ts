// On shutdown an open WebSocket stream is not cut off: the requests it accepted finish and are
// answered, then the server closes the connection with 1001.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { slowModel } from '../../fixtures/slow-model.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { openStream, streamUrl } from './stream-client.js';

const N = 256;

describe('WebSocket infer stream: shutdown', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    const [model] = slowModel('slow', N, 64);
    assert.ok(model !== undefined);
    dir = await makeRepository([
      model,
      { path: 'slow/config.yaml', bytes: 'max_batch_size: 512\noptimization: { intra_op_threads: 1 }\n' },
    ]);
    server = await startTestServer({ modelRepository: dir });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  it('answers every accepted request, then closes with 1001', async () => {
    const s = await openStream(streamUrl(server.url, 'slow'));
    const request = (id: string, rows: number) =>
      JSON.stringify({
        id,
        inputs: [{ name: 'X', shape: [rows, N], datatype: 'FP32', data: new Array<number>(rows * N).fill(1) }],
        outputs: [{ name: 'Y', parameters: { binary_data: true } }],
      });
    s.socket.send(request('busy', 512));
    for (let i = 1; i <= 5; i++) s.socket.send(request(`r${i}`, 1));
    // Wait until the server holds all six, so none of them is still unread when shutdown starts.
    let held = false;
    for (let i = 0; i < 500 && !held; i++) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      held = /^nv_inference_pending_request_count\{model="slow",version="1"\} 6$/m.test(text);
      if (!held) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(held, 'the server accepted all six requests');
    const shutdownStart = Date.now();
    const closing = server.close();
    const ids: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await s.nextJson();
      assert.equal(reply.error, undefined, JSON.stringify(reply));
      ids.push(reply.id);
    }
    assert.deepEqual(ids, ['busy', 'r1', 'r2', 'r3', 'r4', 'r5']);
    assert.deepEqual(await s.closed, { code: 1001, reason: 'server shutting down' });
    await closing;
    // The server reads the client's close frame: it does not sit out ws's 30 s close timeout.
    const seconds = (Date.now() - shutdownStart) / 1000;
    assert.ok(seconds < 15, `shutdown took ${seconds} s`);
  });
});
