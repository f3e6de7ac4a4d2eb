// gRPC ModelConfig carries inferd's own settings in the fields proto/model_config.proto numbers
// from 1001, with the values GET /v2/models/{name}/config shows: the task with its embedding or
// text_generation block, queue_policy, the onnxruntime settings in optimization and adaptive
// batching. A tensor model has no task field, as over REST.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { startExamplesServer } from '../rest/rest-wire.js';
import { connect, unary, type Clients, type Message } from './grpc-client.js';

/** gRPC decodes 64-bit integers as strings (exact); REST gives JSON numbers. */
function numbersOf(message: Message): Message {
  return Object.fromEntries(
    Object.entries(message).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
  );
}

describe('ModelConfig over gRPC shows what REST /config shows of inferd settings', () => {
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    server = await startExamplesServer(['kjv-embed', 'kjv-tiny', 'iris']);
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
  });

  async function bothViews(name: string): Promise<{ grpc: Message; rest: Message }> {
    const { config } = (await unary(clients.inference, 'ModelConfig', { name })) as { config: Message };
    const rest = (await (await fetch(`${server.url}/v2/models/${name}/config`)).json()) as Message;
    return { grpc: config, rest };
  }

  it('an embedding model: task, embedding, queue_policy and the onnxruntime settings', async () => {
    const { grpc, rest } = await bothViews('kjv-embed');
    assert.equal(grpc.task, 'embedding');
    assert.deepEqual(grpc.embedding, { pooling: 'mean', normalize: true, max_tokens: 128 });
    assert.deepEqual(grpc.embedding, rest.embedding);
    assert.equal(grpc.text_generation, undefined);
    assert.deepEqual(numbersOf(grpc.queue_policy as Message), rest.queue_policy);
    const optimization = grpc.optimization as Message;
    const restOptimization = rest.optimization as Message;
    for (const field of ['graph_level', 'intra_op_threads', 'inter_op_threads', 'execution_providers'])
      assert.deepEqual(optimization[field], restOptimization[field], field);
    assert.equal(
      (grpc.dynamic_batching as Message).adaptive ?? false,
      (rest.dynamic_batching as Message).adaptive,
      'adaptive',
    );
  });

  it('a text-generation model: task and text_generation, inline execution', async () => {
    const { grpc, rest } = await bothViews('kjv-tiny');
    assert.equal(grpc.task, 'text-generation');
    assert.equal(grpc.embedding, undefined);
    const generation = grpc.text_generation as Message;
    assert.equal(typeof generation.max_running_sequences, 'number');
    assert.deepEqual(generation, rest.text_generation);
    assert.equal((grpc.optimization as Message).inline_execution, true);
  });

  it('a tensor model has no task, as over REST', async () => {
    const { grpc, rest } = await bothViews('iris');
    assert.equal(rest.task, undefined);
    assert.equal(grpc.task, undefined);
    assert.equal(grpc.embedding, undefined);
    assert.equal(grpc.text_generation, undefined);
  });
});
