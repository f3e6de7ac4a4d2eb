// The model configuration endpoints (REST and gRPC) report sequence_batching in Triton's form, so
// tools that read a stateful model's config see its state, controls and strategy.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, unary, type Clients } from '../grpc/grpc-client.js';

let server: TestServer;
let clients: Clients;

before(async () => {
  server = await startTestServer({
    modelRepository: EXAMPLES_DIR,
    modelControlMode: 'explicit',
    loadModels: ['silero_vad'],
    logLevel: 'warn',
  });
  clients = connect(server);
});

after(async () => {
  clients.close();
  await server.close();
});

const expected = {
  max_sequence_idle_microseconds: 10_000_000,
  control_input: [],
  state: [
    {
      input_name: 'h',
      output_name: 'hn',
      data_type: 'TYPE_FP32',
      dims: [2, 1, 64],
      initial_state: [{ data_type: 'TYPE_FP32', dims: [2, 1, 64], zero_data: true }],
    },
    {
      input_name: 'c',
      output_name: 'cn',
      data_type: 'TYPE_FP32',
      dims: [2, 1, 64],
      initial_state: [{ data_type: 'TYPE_FP32', dims: [2, 1, 64], zero_data: true }],
    },
  ],
  oldest: { max_candidate_sequences: 64, preferred_batch_size: [], max_queue_delay_microseconds: 0 },
};

test('REST model config shows sequence_batching with its states and strategy', async () => {
  const res = await fetch(`${server.url}/v2/models/silero_vad/config`);
  assert.equal(res.status, 200);
  const config = (await res.json()) as Record<string, unknown>;
  assert.deepEqual(config.sequence_batching, expected);
  assert.equal(config.dynamic_batching, undefined);
});

test('gRPC ModelConfig carries the same sequence_batching message', async () => {
  const reply = await unary(clients.inference, 'ModelConfig', { name: 'silero_vad', version: '' });
  const config = reply.config as Record<string, unknown>;
  const seq = config.sequence_batching as Record<string, unknown>;
  assert.equal(String(seq.max_sequence_idle_microseconds), '10000000');
  const states = seq.state as Record<string, unknown>[];
  assert.deepEqual(
    states.map((s) => [s.input_name, s.output_name, s.data_type, (s.dims as unknown[]).map(String)]),
    [
      ['h', 'hn', 'TYPE_FP32', ['2', '1', '64']],
      ['c', 'cn', 'TYPE_FP32', ['2', '1', '64']],
    ],
  );
  const oldest = seq.oldest as Record<string, unknown>;
  assert.equal(oldest.max_candidate_sequences, 64);
});
