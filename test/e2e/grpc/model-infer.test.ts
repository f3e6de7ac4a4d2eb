// ModelInfer over gRPC: typed and raw inputs, outputs in raw_output_contents, requested outputs,
// the response id, and classification, on the example `simple` and `iris` models.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { startExamplesServer } from '../rest/rest-wire.js';
import {
  connect,
  output,
  outputs,
  readInt32,
  SIMPLE_DIFF,
  SIMPLE_SUM,
  simpleRawRequest,
  simpleTypedRequest,
  unary,
  type Clients,
} from './grpc-client.js';

describe('ModelInfer', () => {
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    server = await startExamplesServer(['simple', 'iris']);
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
  });

  it('answers typed int_contents with every output in raw_output_contents', async () => {
    const response = await unary(clients.inference, 'ModelInfer', simpleTypedRequest({ id: 'req-7' }));
    assert.equal(response.model_name, 'simple');
    assert.equal(response.model_version, '1');
    assert.equal(response.id, 'req-7');
    const byName = outputs(response);
    assert.deepEqual([...byName.keys()], ['OUTPUT0', 'OUTPUT1']);
    const out0 = output(response, 'OUTPUT0');
    assert.equal(out0.datatype, 'INT32');
    assert.deepEqual(out0.shape, [1, 16]);
    assert.deepEqual(readInt32(out0.raw), SIMPLE_SUM);
    assert.deepEqual(readInt32(output(response, 'OUTPUT1').raw), SIMPLE_DIFF);
  });

  it('answers raw_input_contents the same way', async () => {
    const response = await unary(clients.inference, 'ModelInfer', simpleRawRequest({ model_version: '1' }));
    assert.deepEqual(readInt32(output(response, 'OUTPUT0').raw), SIMPLE_SUM);
    assert.deepEqual(readInt32(output(response, 'OUTPUT1').raw), SIMPLE_DIFF);
  });

  it('returns only the requested outputs, in the order asked', async () => {
    const response = await unary(clients.inference, 'ModelInfer', simpleRawRequest({ outputs: [{ name: 'OUTPUT1' }] }));
    assert.deepEqual([...outputs(response).keys()], ['OUTPUT1']);
    assert.deepEqual(readInt32(output(response, 'OUTPUT1').raw), SIMPLE_DIFF);
  });

  it('batches: a [3,16] request gets [3,16] outputs row by row', async () => {
    const in0 = Array.from({ length: 48 }, (_, i) => i);
    const in1 = Array.from({ length: 48 }, () => 2);
    const response = await unary(clients.inference, 'ModelInfer', {
      model_name: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [3, 16], contents: { int_contents: in0 } },
        { name: 'INPUT1', datatype: 'INT32', shape: [3, 16], contents: { int_contents: in1 } },
      ],
    });
    const out0 = output(response, 'OUTPUT0');
    assert.deepEqual(out0.shape, [3, 16]);
    assert.deepEqual(
      readInt32(out0.raw),
      in0.map((v) => v + 2),
    );
  });

  it('applies the classification parameter as REST does: top-k "value:index:label" as BYTES', async () => {
    const setosa = [5.1, 3.5, 1.4, 0.2];
    const response = await unary(clients.inference, 'ModelInfer', {
      model_name: 'iris',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: setosa } }],
      outputs: [{ name: 'probabilities', parameters: { classification: { int64_param: 2 } } }],
    });
    const o = output(response, 'probabilities');
    assert.equal(o.datatype, 'BYTES');
    assert.deepEqual(o.shape, [1, 2]);
    // Binary BYTES: 4-byte little-endian length, then the text.
    const first = o.raw.toString('utf8', 4, 4 + o.raw.readUInt32LE(0));
    assert.match(first, /^0\.\d{6}:0:setosa$/);

    const rest = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: setosa }],
        outputs: [{ name: 'probabilities', parameters: { classification: 2 } }],
      }),
    });
    const restBody = (await rest.json()) as { outputs: { data: string[] }[] };
    assert.equal(restBody.outputs[0]?.data[0], first, 'the same text as over REST');
  });
});
