// Model configuration (given and auto-completed) and Triton-format statistics over REST: counts
// and durations after a known number of inferences, the all-models listing, and 404s.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import {
  SIMPLE_IN0,
  SIMPLE_IN1,
  SIMPLE_JSON_REQUEST,
  assertError,
  parseJson,
  postInfer,
  request,
  startExamplesServer,
  type JsonObject,
} from './rest-wire.js';

interface Duration {
  count: number;
  ns: number;
}

interface ModelStatistics {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<string, Duration>;
  batch_stats: { batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[];
}

function modelStats(body: JsonObject): ModelStatistics[] {
  assert.deepEqual(Object.keys(body), ['model_stats']);
  assert.ok(Array.isArray(body.model_stats));
  return body.model_stats as ModelStatistics[];
}

describe('model configuration and statistics', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', 'identity_fp32', 'iris']);
  });
  after(async () => {
    await server.close();
  });

  it('simple config: max_batch_size 8, INT32 inputs and outputs of dims [16]', async () => {
    for (const path of ['/v2/models/simple/config', '/v2/models/simple/versions/1/config']) {
      const reply = await request(`${server.url}${path}`);
      assert.equal(reply.status, 200, reply.text);
      const config = parseJson(reply);
      assert.equal(config.name, 'simple');
      assert.equal(config.platform, 'onnxruntime_onnx');
      assert.equal(config.backend, 'onnxruntime');
      assert.equal(config.max_batch_size, 8);
      assert.deepEqual(config.input, [
        { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ]);
      assert.deepEqual(config.output, [
        { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ]);
      assert.deepEqual((config.runtime as JsonObject).auto_completed, false);
    }
  });

  it('identity_fp32 has no config file: the server completes one from the model', async () => {
    const config = parseJson(await request(`${server.url}/v2/models/identity_fp32/config`));
    assert.equal(config.name, 'identity_fp32');
    assert.equal(typeof config.max_batch_size, 'number');
    assert.ok((config.max_batch_size as number) > 0, 'a leading -1 dimension becomes the batch dimension');
    assert.deepEqual(config.input, [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [-1] }]);
    assert.deepEqual(config.output, [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [-1] }]);
    assert.equal((config.runtime as JsonObject).auto_completed, true);
  });

  it('iris config names its label file', async () => {
    const config = parseJson(await request(`${server.url}/v2/models/iris/config`));
    assert.equal(config.max_batch_size, 64);
    assert.deepEqual(config.output, [
      { name: 'probabilities', data_type: 'TYPE_FP32', dims: [3], label_filename: 'labels.txt' },
    ]);
  });

  it('config of an unknown model or version is 404', async () => {
    assertError(await request(`${server.url}/v2/models/nope/config`), 404, "'nope'");
    assertError(await request(`${server.url}/v2/models/simple/versions/3/config`), 404, 'version 3');
  });

  it('statistics start at zero', async () => {
    const [s, ...rest] = modelStats(parseJson(await request(`${server.url}/v2/models/simple/stats`)));
    assert.equal(rest.length, 0);
    assert.ok(s !== undefined);
    assert.equal(s.name, 'simple');
    assert.equal(s.version, '1');
    assert.equal(s.inference_count, 0);
    assert.equal(s.execution_count, 0);
    assert.deepEqual(s.inference_stats.success, { count: 0, ns: 0 });
    assert.deepEqual(s.batch_stats, []);
  });

  it('statistics after three inferences (batches 1, 1 and 2) count each phase once per request', async () => {
    const before = Date.now();
    for (let i = 0; i < 2; i++) {
      assert.equal((await postInfer(server, 'simple', SIMPLE_JSON_REQUEST)).status, 200);
    }
    const batch2 = await postInfer(server, 'simple', {
      inputs: [
        { name: 'INPUT0', shape: [2, 16], datatype: 'INT32', data: [...SIMPLE_IN0, ...SIMPLE_IN0] },
        { name: 'INPUT1', shape: [2, 16], datatype: 'INT32', data: [...SIMPLE_IN1, ...SIMPLE_IN1] },
      ],
    });
    assert.equal(batch2.status, 200);
    // A request refused while decoding never reaches the model and is not counted as a success.
    assert.equal((await postInfer(server, 'simple', { inputs: [] })).status, 400);

    for (const path of ['/v2/models/simple/stats', '/v2/models/simple/versions/1/stats']) {
      const reply = await request(`${server.url}${path}`);
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
      const [s] = modelStats(parseJson(reply));
      assert.ok(s !== undefined);
      assert.equal(s.name, 'simple');
      assert.equal(s.version, '1');
      assert.equal(s.inference_count, 4, 'a batch of 2 counts 2 inferences');
      assert.equal(s.execution_count, 3);
      assert.ok(s.last_inference >= before && s.last_inference <= Date.now(), 'last_inference is ms since epoch');
      const stats = s.inference_stats;
      assert.deepEqual(Object.keys(stats), [
        'success',
        'fail',
        'queue',
        'compute_input',
        'compute_infer',
        'compute_output',
        'cache_hit',
        'cache_miss',
      ]);
      for (const phase of ['success', 'queue', 'compute_input', 'compute_infer', 'compute_output']) {
        assert.equal(stats[phase]?.count, 3, `${phase} count`);
      }
      for (const phase of ['success', 'compute_infer']) {
        assert.ok((stats[phase]?.ns ?? 0) > 0, `${phase} ns > 0`);
      }
      const success = stats.success?.ns ?? 0;
      const parts = ['queue', 'compute_input', 'compute_infer', 'compute_output'].reduce(
        (sum, p) => sum + (stats[p]?.ns ?? 0),
        0,
      );
      assert.ok(parts <= success, `phases (${parts} ns) fit within the request time (${success} ns)`);
      assert.deepEqual(stats.fail, { count: 0, ns: 0 });
      assert.deepEqual(stats.cache_hit, { count: 0, ns: 0 });
      assert.deepEqual(stats.cache_miss, { count: 0, ns: 0 });

      assert.deepEqual(
        s.batch_stats.map((b) => [b.batch_size, b.compute_input.count, b.compute_infer.count, b.compute_output.count]),
        [
          [1, 2, 2, 2],
          [2, 1, 1, 1],
        ],
      );
      for (const b of s.batch_stats) assert.ok(b.compute_infer.ns > 0);
    }
  });

  it('/v2/models/stats lists every loaded model', async () => {
    const all = modelStats(parseJson(await request(`${server.url}/v2/models/stats`)));
    assert.deepEqual(all.map((s) => `${s.name}/${s.version}`).sort(), ['identity_fp32/1', 'iris/1', 'simple/1']);
    assert.equal(all.find((s) => s.name === 'simple')?.execution_count, 3);
    assert.equal(all.find((s) => s.name === 'iris')?.execution_count, 0);
  });

  it('statistics of an unknown model or version are 404; a non-numeric version is 400', async () => {
    assertError(await request(`${server.url}/v2/models/no_such_model/stats`), 404, "'no_such_model'");
    assertError(await request(`${server.url}/v2/models/simple/versions/9/stats`), 404, "'simple'", 'version 9');
    assertError(await request(`${server.url}/v2/models/simple/versions/one/stats`), 400, '"one"', 'positive integers');
  });
});
