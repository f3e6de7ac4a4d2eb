// Every error answer is counted by protocol and reason in inferd_request_errors_total, the
// client's own mistakes included (they never reach a model's failure counts): a malformed REST
// body, an unknown model, an unknown route, a WebSocket message for an input the model lacks, and
// a gRPC call for an unknown model. Each is also logged at info level, not as a server error.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, unaryError, type Clients } from '../grpc/grpc-client.js';
import { metricValue, scrape } from '../repository/fixtures.js';
import { streamUrl } from '../streaming/stream-client.js';

describe('error answers are counted by reason', () => {
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
    });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
  });

  it('counts REST, WebSocket and gRPC errors, and logs them below error level', async () => {
    const count = async (protocol: string, reason: string): Promise<number> =>
      metricValue(await scrape(server.url), 'inferd_request_errors_total', { protocol, reason }) ?? 0;

    const malformed = await fetch(`${server.url}/v2/models/simple/infer`, { method: 'POST', body: '{"inputs": [' });
    assert.equal(malformed.status, 400);
    await malformed.arrayBuffer();
    for (let i = 0; i < 2; i++) {
      const unknown = await fetch(`${server.url}/v2/models/nope/infer`, { method: 'POST', body: '{}' });
      assert.equal(unknown.status, 404);
      await unknown.arrayBuffer();
    }
    const route = await fetch(`${server.url}/v2/nowhere`);
    assert.equal(route.status, 404);
    await route.arrayBuffer();

    const socket = new WebSocket(streamUrl(server.url, 'simple'));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => socket.once('message', (d: Buffer) => resolve(d.toString('utf8'))));
    socket.send(JSON.stringify({ inputs: [{ name: 'NOPE', datatype: 'INT32', shape: [1, 16], data: [] }] }));
    assert.match(await reply, /NOPE/);
    socket.close();

    await unaryError(clients.inference, 'ModelMetadata', { name: 'nope' }, grpc.status.NOT_FOUND);

    assert.equal(await count('http', 'INF_ERR_MALFORMED_BODY'), 1);
    assert.equal(await count('http', 'INF_ERR_MODEL_NOT_FOUND'), 2);
    assert.equal(await count('http', 'INF_ERR_NOT_FOUND'), 1);
    assert.equal(await count('websocket', 'INF_ERR_INVALID_ARGUMENT'), 1);
    assert.equal(await count('grpc', 'NOT_FOUND'), 1);
    assert.ok(!server.logs.some((l) => (l.level as number) >= 50), 'no error-level log line');
    assert.ok(server.logs.some((l) => l.level === 30 && l.code === 'INF_ERR_MALFORMED_BODY'));
  });
});
