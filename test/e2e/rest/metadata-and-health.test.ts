// Health, server metadata, model metadata and model readiness over real HTTP, with and without
// a version in the path, and the 404 that names an unknown version.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { assertError, parseJson, request, startExamplesServer } from './rest-wire.js';

const SIMPLE_METADATA = {
  name: 'simple',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
    { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
  ],
  outputs: [
    { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
    { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
  ],
};

describe('health and metadata endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', 'iris']);
  });
  after(async () => {
    await server.close();
  });

  for (const path of ['/v2/health/live', '/v2/health/ready']) {
    it(`GET ${path} is 200 with an empty body`, async () => {
      const reply = await request(`${server.url}${path}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.length, 0);
      assert.equal(reply.headers.get('content-length'), '0');
    });
  }

  it('GET /v2 names the server, its version and every extension', async () => {
    const reply = await request(`${server.url}/v2`);
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    const body = parseJson(reply);
    assert.equal(body.name, 'inferd');
    assert.match(String(body.version), /^\d+\.\d+\.\d+/);
    assert.deepEqual(body.extensions, [
      'classification',
      'sequence',
      'model_repository',
      'model_configuration',
      'binary_tensor_data',
      'parameters',
      'statistics',
      'trace',
    ]);
  });

  it('GET / maps the API, /version gives the version, /v2/models lists the models', async () => {
    const root = parseJson(await request(`${server.url}/`));
    assert.equal(root.name, 'inferd');
    assert.equal(root.ready, true);
    assert.equal((root.endpoints as Record<string, string>).kserve_v2, '/v2');
    const version = parseJson(await request(`${server.url}/version`));
    assert.match(String(version.version), /^\d+\.\d+\.\d+/);
    const models = parseJson(await request(`${server.url}/v2/models`));
    const rows = models.models as { name: string; version?: string; state: string }[];
    assert.deepEqual(
      rows.filter((r) => r.state === 'READY').map((r) => [r.name, r.version]),
      [
        ['iris', '1'],
        ['simple', '1'],
      ],
    );
    // The example models not loaded are listed too, not as READY.
    assert.ok(rows.some((r) => r.name === 'mlp' && r.state !== 'READY'));
  });

  it('model metadata lists versions, platform and full shapes (batch dimension -1)', async () => {
    const reply = await request(`${server.url}/v2/models/simple`);
    assert.equal(reply.status, 200);
    assert.deepEqual(parseJson(reply), SIMPLE_METADATA);
  });

  it('model metadata with an explicit version is the same document', async () => {
    const reply = await request(`${server.url}/v2/models/simple/versions/1`);
    assert.equal(reply.status, 200);
    assert.deepEqual(parseJson(reply), SIMPLE_METADATA);
  });

  it('iris metadata shows its FP32 [-1,4] input and [-1,3] output', async () => {
    const body = parseJson(await request(`${server.url}/v2/models/iris`));
    assert.deepEqual(body.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(body.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
  });

  it('model ready is 200 with an empty body, with and without a version', async () => {
    for (const path of ['/v2/models/simple/ready', '/v2/models/simple/versions/1/ready']) {
      const reply = await request(`${server.url}${path}`);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.body.length, 0, path);
    }
  });

  it('model ready of an unknown version or unloaded model is 400 with an empty body', async () => {
    for (const path of ['/v2/models/simple/versions/2/ready', '/v2/models/mlp/ready', '/v2/models/nope/ready']) {
      const reply = await request(`${server.url}${path}`);
      assert.equal(reply.status, 400, path);
      assert.equal(reply.body.length, 0, path);
    }
  });

  it('metadata of an unknown version is 404 naming the version and what is served', async () => {
    const message = assertError(
      await request(`${server.url}/v2/models/simple/versions/7`),
      404,
      'version 7',
      "'simple'",
    );
    assert.equal(message, "Request for unknown model: 'simple' version 7 is not found; serving version(s) 1");
  });

  it('metadata of an unknown model is 404 naming the model', async () => {
    assertError(await request(`${server.url}/v2/models/no_such_model`), 404, "'no_such_model'");
  });

  it('every reply carries an x-request-id', async () => {
    const a = await request(`${server.url}/v2/health/live`);
    const b = await request(`${server.url}/v2/health/live`);
    const idA = a.headers.get('x-request-id');
    const idB = b.headers.get('x-request-id');
    assert.ok(idA !== null && idA.length > 0);
    assert.notEqual(idA, idB);
  });
});
