// The non-inference RPCs answer as the REST routes do: liveness and readiness, server and model
// metadata, the model configuration as Triton's ModelConfig, statistics, the repository index,
// explicit load and unload, and grpc.health.v1 Check and Watch.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { startExamplesServer } from '../rest/rest-wire.js';
import { connect, simpleTypedRequest, unary, unaryError, type Clients, type Message } from './grpc-client.js';

describe('metadata, health, statistics and the repository over gRPC', () => {
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    // Explicit control mode with `simple` and `iris` loaded; `mlp` is in the repository, not loaded.
    server = await startExamplesServer(['simple', 'iris']);
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
  });

  it('ServerLive and ServerReady are true', async () => {
    assert.deepEqual(await unary(clients.inference, 'ServerLive', {}), { live: true });
    assert.deepEqual(await unary(clients.inference, 'ServerReady', {}), { ready: true });
  });

  it('ModelReady is true for a loaded model and version, false otherwise', async () => {
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'simple' }), { ready: true });
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'simple', version: '1' }), {
      ready: true,
    });
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'simple', version: '2' }), {
      ready: false,
    });
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'mlp' }), { ready: false });
    await unaryError(
      clients.inference,
      'ModelReady',
      { name: '../x' },
      grpc.status.INVALID_ARGUMENT,
      'invalid model name',
    );
  });

  it('ServerMetadata names the server and its extensions, as GET /v2 does', async () => {
    const rest = (await (await fetch(`${server.url}/v2`)).json()) as Message;
    assert.deepEqual(await unary(clients.inference, 'ServerMetadata', {}), rest);
  });

  it('ModelMetadata has the REST fields, shapes with -1 for the batch dimension', async () => {
    const m = await unary(clients.inference, 'ModelMetadata', { name: 'simple' });
    assert.deepEqual(m, {
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: ['-1', '16'] },
        { name: 'INPUT1', datatype: 'INT32', shape: ['-1', '16'] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: ['-1', '16'] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: ['-1', '16'] },
      ],
    });
    await unaryError(clients.inference, 'ModelMetadata', { name: 'nope' }, grpc.status.NOT_FOUND, "'nope'");
    await unaryError(clients.inference, 'ModelMetadata', { name: 'mlp' }, grpc.status.NOT_FOUND);
  });

  it("ModelConfig is Triton's ModelConfig message", async () => {
    const { config } = (await unary(clients.inference, 'ModelConfig', { name: 'iris' })) as { config: Message };
    assert.equal(config.name, 'iris');
    assert.equal(config.platform, 'onnxruntime_onnx');
    assert.equal(config.backend, 'onnxruntime');
    assert.equal(config.max_batch_size, 64);
    assert.deepEqual(config.input, [{ name: 'input', data_type: 'TYPE_FP32', dims: ['4'] }]);
    assert.deepEqual(config.output, [
      { name: 'probabilities', data_type: 'TYPE_FP32', dims: ['3'], label_filename: 'labels.txt' },
    ]);
    assert.deepEqual(config.version_policy, { latest: { num_versions: 1 }, policy_choice: 'latest' });
    assert.equal(config.default_model_filename, 'model.onnx');
    const groups = config.instance_group as Message[];
    assert.equal(groups[0]?.kind, 'KIND_CPU');
    assert.deepEqual(config.response_cache, { enable: false });
  });

  it('ModelStatistics counts the inferences of each version, as the REST stats do', async () => {
    const before = (await unary(clients.inference, 'ModelStatistics', { name: 'simple' })) as {
      model_stats: Message[];
    };
    assert.equal(before.model_stats.length, 1);
    const count0 = Number(before.model_stats[0]?.inference_count);
    await unary(clients.inference, 'ModelInfer', simpleTypedRequest());
    await unary(clients.inference, 'ModelInfer', simpleTypedRequest());
    const after = (await unary(clients.inference, 'ModelStatistics', { name: 'simple', version: '1' })) as {
      model_stats: { name: string; version: string; inference_count: string; inference_stats: Message }[];
    };
    const s = after.model_stats[0]!;
    assert.equal(s.name, 'simple');
    assert.equal(s.version, '1');
    assert.equal(Number(s.inference_count), count0 + 2);
    const rest = (await (await fetch(`${server.url}/v2/models/simple/stats`)).json()) as {
      model_stats: { inference_count: number; inference_stats: { success: { count: number } } }[];
    };
    assert.equal(rest.model_stats[0]?.inference_count, Number(s.inference_count));
    assert.equal(
      Number((s.inference_stats.success as Message).count),
      rest.model_stats[0]?.inference_stats.success.count,
    );
    const all = (await unary(clients.inference, 'ModelStatistics', {})) as { model_stats: { name: string }[] };
    assert.deepEqual(all.model_stats.map((m) => m.name).sort(), ['iris', 'simple']);
    await unaryError(clients.inference, 'ModelStatistics', { name: 'mlp' }, grpc.status.NOT_FOUND, 'not loaded');
  });

  it('RepositoryIndex lists every model folder; ready: true only the ready ones', async () => {
    const { models } = (await unary(clients.inference, 'RepositoryIndex', {})) as { models: Message[] };
    const mlp = models.find((m) => m.name === 'mlp');
    assert.deepEqual(mlp, { name: 'mlp', version: '', state: 'UNAVAILABLE', reason: 'not loaded' });
    assert.deepEqual(
      models.find((m) => m.name === 'simple'),
      { name: 'simple', version: '1', state: 'READY', reason: '' },
    );
    const ready = (await unary(clients.inference, 'RepositoryIndex', { ready: true })) as { models: Message[] };
    assert.deepEqual(ready.models.map((m) => m.name).sort(), ['iris', 'simple']);
  });

  it('RepositoryModelLoad and RepositoryModelUnload load and unload in explicit mode', async () => {
    await unary(clients.inference, 'RepositoryModelLoad', { model_name: 'mlp' });
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'mlp' }), { ready: true });
    await unary(clients.inference, 'RepositoryModelUnload', { model_name: 'mlp' });
    assert.deepEqual(await unary(clients.inference, 'ModelReady', { name: 'mlp' }), { ready: false });
    await unaryError(
      clients.inference,
      'RepositoryModelLoad',
      { model_name: 'mlp', parameters: { config: { string_param: '{}' } } },
      grpc.status.UNIMPLEMENTED,
      'config or file overrides',
    );
    await unaryError(clients.inference, 'RepositoryModelUnload', { model_name: 'nope' }, grpc.status.NOT_FOUND);
  });

  it('health Check is SERVING for the server and the inference service, NOT_FOUND for others', async () => {
    assert.deepEqual(await unary(clients.health, 'Check', {}), { status: 'SERVING' });
    assert.deepEqual(await unary(clients.health, 'Check', { service: 'inference.GRPCInferenceService' }), {
      status: 'SERVING',
    });
    await unaryError(clients.health, 'Check', { service: 'other.Service' }, grpc.status.NOT_FOUND, 'unknown service');
  });

  it('health Watch sends the current status at once', async () => {
    const watch = (
      clients.health as unknown as Record<string, (req: Message) => grpc.ClientReadableStream<Message>>
    ).Watch!.call(clients.health, { service: '' });
    const first = await new Promise<Message>((resolve, reject) => {
      watch.once('data', resolve);
      watch.once('error', reject);
    });
    assert.deepEqual(first, { status: 'SERVING' });
    watch.on('error', () => undefined);
    watch.cancel();
  });
});
