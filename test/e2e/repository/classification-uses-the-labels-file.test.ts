// The classification extension returns "<value>:<index>:<label>" using the labels file the
// output's label_filename names (here from a config.json), and "<value>:<index>" without one.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { irisModel } from '../../../tools/examples/example-models.js';
import { GraphBuilder } from '../../../tools/onnx/onnx-builder.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { postJson } from './fixtures.js';

interface Reply {
  outputs?: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
  error?: string;
}

/** scores = Identity(x), FP32 [-1,3]; `labelled` adds a config.json naming labels.txt. */
function scoresModel(name: string, labelled: boolean): { path: string; bytes: Uint8Array | string }[] {
  const onnx = new GraphBuilder(name)
    .input('x', 'FP32', [-1, 3])
    .node('Identity', ['x'], ['scores'])
    .output('scores', 'FP32', [-1, 3])
    .toBytes({ opset: 17, irVersion: 8 });
  const files = [{ path: `${name}/1/model.onnx`, bytes: onnx }];
  if (!labelled) return files;
  return [
    ...files,
    {
      path: `${name}/config.json`,
      bytes: JSON.stringify({
        max_batch_size: 4,
        input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3] }],
        output: [{ name: 'scores', data_type: 'TYPE_FP32', dims: [3], label_filename: 'labels.txt' }],
      }),
    },
    { path: `${name}/labels.txt`, bytes: 'cat\ndog\nbird\n' },
  ];
}

describe('classification with labels', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([...scoresModel('pets', true), ...scoresModel('plain', false), ...irisModel()]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  const classify = (model: string, rows: number[][], k: number) =>
    postJson<Reply>(`${server.url}/v2/models/${model}/infer`, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: rows }],
      outputs: [{ name: 'scores', parameters: { classification: k } }],
    });

  it('returns the top k per batch item with labels from labels.txt', async () => {
    const reply = await classify(
      'pets',
      [
        [0.25, 0.5, 0.125],
        [0.75, 0, 0.25],
      ],
      2,
    );
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.outputs, [
      {
        name: 'scores',
        datatype: 'BYTES',
        shape: [2, 2],
        data: ['0.500000:1:dog', '0.250000:0:cat', '0.750000:0:cat', '0.250000:2:bird'],
      },
    ]);
  });

  it('leaves the label out when the output has no labels file', async () => {
    const reply = await classify('plain', [[0.25, 0.5, 0.125]], 1);
    assert.deepEqual(reply.body.outputs?.[0]?.data, ['0.500000:1']);
  });

  it('names the iris species from its labels.txt', async () => {
    const reply = await postJson<Reply>(`${server.url}/v2/models/iris/infer`, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
      outputs: [{ name: 'probabilities', parameters: { classification: 1 } }],
    });
    assert.equal(reply.status, 200);
    assert.match(String(reply.body.outputs?.[0]?.data[0]), /^0\.9\d{5}:0:setosa$/);
  });
});
