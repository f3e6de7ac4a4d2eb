// A model folder without a config serves what its ONNX graph declares: inputs, outputs,
// datatypes and shapes, with max_batch_size 64 when every first dimension is dynamic and 0 when
// one is fixed. A config.json works like config.yaml.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { identityModel, simpleModel } from '../../../tools/examples/example-models.js';
import { GraphBuilder } from '../../../tools/onnx/onnx-builder.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { A16, B16, getJson, inferSimple, output, postJson, renamed } from './fixtures.js';

interface ConfigView {
  name: string;
  max_batch_size: number;
  input: { name: string; data_type: string; dims: number[] }[];
  output: { name: string; data_type: string; dims: number[] }[];
  runtime: { auto_completed: boolean };
}

interface MetadataView {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

/** Identity over a fixed [2,3] FP32 tensor: no batch dimension. */
function fixedModel(): { path: string; bytes: Uint8Array } {
  const onnx = new GraphBuilder('fixed')
    .input('x', 'FP32', [2, 3])
    .node('Identity', ['x'], ['y'])
    .output('y', 'FP32', [2, 3])
    .toBytes({ opset: 17, irVersion: 8 });
  return { path: 'fixed/1/model.onnx', bytes: onnx };
}

describe('auto-completed configs', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    const simpleJson = renamed(simpleModel(), 'simple_json').filter((f) => !f.path.endsWith('config.yaml'));
    repo = await makeRepository([
      ...identityModel('FP32'),
      ...identityModel('INT64'),
      fixedModel(),
      ...simpleJson,
      {
        path: 'simple_json/config.json',
        bytes: JSON.stringify({
          max_batch_size: 4,
          input: [
            { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
            { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
          ],
          output: [{ name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] }],
        }),
      },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('takes inputs, outputs, datatypes and shapes from the graph, with max_batch_size 64', async () => {
    const { status, body } = await getJson<ConfigView>(`${server.url}/v2/models/identity_fp32/config`);
    assert.equal(status, 200);
    assert.equal(body.name, 'identity_fp32');
    assert.equal(body.max_batch_size, 64);
    assert.deepEqual(body.input, [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [-1] }]);
    assert.deepEqual(body.output, [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [-1] }]);
    assert.equal(body.runtime.auto_completed, true);
  });

  it('shows the batch dimension in the metadata and carries the graph datatype', async () => {
    const { body } = await getJson<MetadataView>(`${server.url}/v2/models/identity_int64`);
    assert.deepEqual(body, {
      name: 'identity_int64',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'INPUT0', datatype: 'INT64', shape: [-1, -1] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'INT64', shape: [-1, -1] }],
    });
  });

  it('enforces the auto max_batch_size of 64', async () => {
    const infer = (rows: number) =>
      postJson<{ error?: string }>(`${server.url}/v2/models/identity_fp32/infer`, {
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [rows, 1], data: new Array<number>(rows).fill(1) }],
      });
    assert.equal((await infer(64)).status, 200);
    const over = await infer(65);
    assert.equal(over.status, 400);
    assert.match(over.body.error ?? '', /batch size 65, over model 'identity_fp32' max_batch_size 64/);
  });

  it('gives max_batch_size 0 and the full shape when the first dimension is fixed', async () => {
    const { body } = await getJson<ConfigView>(`${server.url}/v2/models/fixed/config`);
    assert.equal(body.max_batch_size, 0);
    assert.deepEqual(body.input, [{ name: 'x', data_type: 'TYPE_FP32', dims: [2, 3] }]);
    const reply = await postJson<{ outputs: { name: string; shape: number[]; data: number[] }[] }>(
      `${server.url}/v2/models/fixed/infer`,
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] },
    );
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.outputs[0]?.shape, [2, 3]);
    assert.deepEqual(reply.body.outputs[0]?.data, [1, 2, 3, 4, 5, 6]);
  });

  it('reads config.json: its max_batch_size and its output list are what is served', async () => {
    const { body } = await getJson<ConfigView>(`${server.url}/v2/models/simple_json/config`);
    assert.equal(body.max_batch_size, 4);
    assert.deepEqual(
      body.output.map((o) => o.name),
      ['OUTPUT0'],
    );
    assert.equal(body.runtime.auto_completed, false);
    const reply = await inferSimple(server.url, 'simple_json', A16, B16);
    assert.equal(reply.status, 200);
    assert.deepEqual(
      output(reply, 'OUTPUT0').data,
      A16.map((a) => a + 1),
    );
  });
});
