// Flow control on ModelStreamInfer: one stream never has more than STREAM_MAX_IN_FLIGHT requests
// accepted and unanswered (the server stops reading; HTTP/2 flow control holds the rest), and
// every request is still answered once. The requests are held deterministically: a stateful
// model with one slot, taken by a sequence that stays open, keeps new sequences in its backlog.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { STREAM_MAX_IN_FLIGHT } from '../../../src/protocols/kserve-grpc/infer-handlers.js';
import { accumulatorModel } from '../../fixtures/stateful-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, streamInfer, unary, type Clients, type Message } from './grpc-client.js';

describe('ModelStreamInfer flow control', () => {
  let dir: string;
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    dir = await makeRepository(
      accumulatorModel('acc', {
        sequenceConfig: '  max_sequence_idle_microseconds: 600000000\n  oldest: { max_candidate_sequences: 1 }\n',
        extra: 'queue_policy: { max_queue_size: 1000 }\n',
      }),
    );
    server = await startTestServer({ modelRepository: dir, logLevel: 'warn' });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
    await removeRepository(dir);
  });

  const step = (id: string, sequence: number, flags: { start?: boolean; end?: boolean }): Message => ({
    model_name: 'acc',
    id,
    parameters: {
      sequence_id: { uint64_param: String(sequence) },
      sequence_start: { bool_param: flags.start === true },
      sequence_end: { bool_param: flags.end === true },
    },
    inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], contents: { int_contents: [1] } }],
  });
  const pending = async (): Promise<number> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^nv_inference_pending_request_count\{model="acc",version="1"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };

  it(`accepts at most ${STREAM_MAX_IN_FLIGHT} requests at a time, and answers them all`, async () => {
    // Sequence 1 takes the only slot and keeps it until its END.
    await unary(clients.inference, 'ModelInfer', step('hold', 1, { start: true }));
    const total = STREAM_MAX_IN_FLIGHT + 40;
    const stream = streamInfer(clients.inference);
    const ids: string[] = [];
    const errors: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: { error_message: string; infer_response: { id: string } }) => {
        if (m.error_message !== '') errors.push(m.error_message);
        ids.push(m.infer_response.id);
      });
      stream.on('error', reject);
      stream.on('status', (s: grpc.StatusObject) =>
        s.code === grpc.status.OK ? resolve() : reject(new Error(s.details)),
      );
    });
    for (let i = 0; i < total; i++) stream.write(step(`r${i}`, 100 + i, { start: true, end: true }));
    stream.end();
    let seen = 0;
    for (let i = 0; i < 1000 && seen < STREAM_MAX_IN_FLIGHT; i++) {
      seen = await pending();
      if (seen < STREAM_MAX_IN_FLIGHT) await sleep(5);
    }
    assert.equal(seen, STREAM_MAX_IN_FLIGHT);
    // Nothing can finish while sequence 1 holds the slot: a server that kept reading would now
    // hold all of them.
    await sleep(300);
    assert.equal(await pending(), STREAM_MAX_IN_FLIGHT);
    assert.equal(ids.length, 0);
    await unary(clients.inference, 'ModelInfer', step('release', 1, { end: true }));
    await done;
    assert.deepEqual(errors, []);
    assert.equal(ids.length, total);
    assert.equal(new Set(ids).size, total);
  });
});
