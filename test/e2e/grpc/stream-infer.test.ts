// ModelStreamInfer: every request on the stream is answered once, with its id; a refused request
// is answered with error_message (and its id) and the stream goes on; many requests may be in
// flight at once; the responses of one sequence come back in request order, and a uint64
// sequence_id reaches the model exactly.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { accumulatorModel } from '../../fixtures/stateful-models.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  writeFiles,
  type TestServer,
} from '../../helpers/test-server.js';
import {
  connect,
  output,
  readInt32,
  SIMPLE_DIFF,
  SIMPLE_SUM,
  simpleRawRequest,
  simpleTypedRequest,
  streamInfer,
  type Clients,
  type Message,
} from './grpc-client.js';

interface StreamResponse {
  error_message: string;
  infer_response: Message & { id: string };
}

/** Writes every request, half-closes, and collects the responses until the server ends the stream. */
function exchange(clients: Clients, requests: readonly Message[]): Promise<StreamResponse[]> {
  const stream = streamInfer(clients.inference);
  const responses: StreamResponse[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (m: StreamResponse) => responses.push(m));
    stream.on('error', reject);
    stream.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve(responses);
    });
    for (const r of requests) stream.write(r);
    stream.end();
  });
}

describe('ModelStreamInfer', () => {
  let dir: string;
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    const simpleFiles = await Promise.all(
      ['simple/config.yaml', 'simple/1/model.onnx'].map(async (p) => ({
        path: p,
        bytes: await readFile(path.join(EXAMPLES_DIR, p)),
      })),
    );
    dir = await makeRepository(accumulatorModel('acc'));
    await writeFiles(dir, simpleFiles);
    server = await startTestServer({ modelRepository: dir, logLevel: 'warn' });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
    await removeRepository(dir);
  });

  it('answers interleaved good and bad requests, each once with its id, and keeps going', async () => {
    const badShape = simpleTypedRequest({ id: 'bad-shape' });
    (badShape.inputs as Message[])[0]!.shape = [1, 15];
    const mixed = simpleRawRequest({ id: 'mixed' });
    (mixed.inputs as Message[])[0]!.contents = { int_contents: [1] };
    const requests = [
      simpleTypedRequest({ id: 'good-1' }),
      badShape,
      simpleRawRequest({ id: 'good-2' }),
      simpleTypedRequest({ id: 'unknown', model_name: 'nope' }),
      mixed,
      simpleTypedRequest({ id: 'good-3' }),
    ];
    const responses = await exchange(clients, requests);
    assert.equal(responses.length, requests.length);
    const byId = new Map(responses.map((r) => [r.infer_response.id, r]));
    assert.deepEqual([...byId.keys()].sort(), ['bad-shape', 'good-1', 'good-2', 'good-3', 'mixed', 'unknown']);
    for (const id of ['good-1', 'good-2', 'good-3']) {
      const r = byId.get(id)!;
      assert.equal(r.error_message, '');
      assert.deepEqual(readInt32(output(r.infer_response, 'OUTPUT0').raw), SIMPLE_SUM);
      assert.deepEqual(readInt32(output(r.infer_response, 'OUTPUT1').raw), SIMPLE_DIFF);
    }
    assert.match(byId.get('bad-shape')!.error_message, /input 'INPUT0' has shape \[1,15\]/);
    assert.equal(byId.get('unknown')!.error_message, "Request for unknown model: 'nope' is not found");
    assert.equal(byId.get('unknown')!.infer_response.model_name, 'nope');
    assert.match(byId.get('mixed')!.error_message, /no input may have contents/);
  });

  it('pipelines: 200 requests written at once are all answered', async () => {
    const requests = Array.from({ length: 200 }, (_, i) => simpleRawRequest({ id: `r${i}` }));
    const responses = await exchange(clients, requests);
    assert.equal(responses.length, 200);
    assert.ok(responses.every((r) => r.error_message === ''));
    assert.equal(new Set(responses.map((r) => r.infer_response.id)).size, 200);
  });

  it('answers the requests of one sequence in order, with a uint64 sequence_id kept exact', async () => {
    const big = '18446744073709551615';
    const step = (id: string, seq: Message, value: number, flags: Message = {}): Message => ({
      model_name: 'acc',
      id,
      parameters: { sequence_id: seq, ...flags },
      inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], contents: { int_contents: [value] } }],
    });
    const start = { sequence_start: { bool_param: true } };
    const end = { sequence_end: { bool_param: true } };
    const requests: Message[] = [];
    for (let i = 1; i <= 5; i++) {
      requests.push(step(`a${i}`, { uint64_param: big }, i, i === 1 ? start : i === 5 ? end : {}));
      requests.push(step(`b${i}`, { int64_param: 7 }, 10 * i, i === 1 ? start : i === 5 ? end : {}));
    }
    const responses = await exchange(clients, requests);
    assert.equal(responses.length, 10);
    for (const r of responses) assert.equal(r.error_message, '', r.error_message);
    const a = responses.filter((r) => r.infer_response.id.startsWith('a'));
    const b = responses.filter((r) => r.infer_response.id.startsWith('b'));
    assert.deepEqual(
      a.map((r) => r.infer_response.id),
      ['a1', 'a2', 'a3', 'a4', 'a5'],
    );
    assert.deepEqual(
      b.map((r) => r.infer_response.id),
      ['b1', 'b2', 'b3', 'b4', 'b5'],
    );
    assert.deepEqual(
      a.map((r) => readInt32(output(r.infer_response, 'SUM').raw)[0]),
      [1, 3, 6, 10, 15],
    );
    assert.deepEqual(
      b.map((r) => readInt32(output(r.infer_response, 'SUM').raw)[0]),
      [10, 30, 60, 100, 150],
    );
    const corrid = output(a[0]!.infer_response, 'CORRID_OUT').raw;
    assert.equal(corrid.readBigUInt64LE(0).toString(), big);
  });

  it('keeps one sequence in order whether its id is sent as int64_param or uint64_param', async () => {
    const step = (id: string, seq: Message, flags: Message, shape: number[]): Message => ({
      model_name: 'acc',
      id,
      parameters: { sequence_id: seq, ...flags },
      inputs: [{ name: 'INPUT', datatype: 'INT32', shape, contents: { int_contents: [1] } }],
    });
    // The refused second request fails at once, before the first has run; its reply still waits.
    const responses = await exchange(clients, [
      step('first', { int64_param: 41 }, { sequence_start: { bool_param: true } }, [1, 1]),
      step('refused', { uint64_param: '41' }, {}, [1, 2]),
      step('last', { uint64_param: '41' }, { sequence_end: { bool_param: true } }, [1, 1]),
    ]);
    assert.deepEqual(
      responses.map((r) => r.infer_response.id),
      ['first', 'refused', 'last'],
    );
    assert.equal(responses[0]!.error_message, '');
    assert.match(responses[1]!.error_message, /input 'INPUT' has shape \[1,2\]/);
    assert.equal(readInt32(output(responses[2]!.infer_response, 'SUM').raw)[0], 2);
  });
});
