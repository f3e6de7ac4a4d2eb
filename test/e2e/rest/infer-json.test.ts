// JSON inference over real HTTP: exact results of `simple`, flat and nested data, request ids,
// choosing outputs, and every identity datatype round-tripping through the server unchanged.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { IDENTITY_TYPES, identityModelName } from '../../../tools/examples/example-models.js';
import {
  SIMPLE_DIFF,
  SIMPLE_IN0,
  SIMPLE_IN1,
  SIMPLE_JSON_REQUEST,
  SIMPLE_SUM,
  output,
  parseJson,
  postInfer,
  request,
  startExamplesServer,
} from './rest-wire.js';

describe('JSON inference', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', ...IDENTITY_TYPES.map((t) => identityModelName(t))]);
  });
  after(async () => {
    await server.close();
  });

  it('simple returns the exact sum and difference as a JSON document', async () => {
    const reply = await postInfer(server, 'simple', SIMPLE_JSON_REQUEST);
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(reply.headers.get('inference-header-content-length'), null);
    assert.deepEqual(parseJson(reply), {
      model_name: 'simple',
      model_version: '1',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], data: SIMPLE_SUM },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: SIMPLE_DIFF },
      ],
    });
  });

  it('accepts nested data and a batch of two, answering with flat data', async () => {
    const a = SIMPLE_IN0.map((v) => v * 3 - 20);
    const b = SIMPLE_IN0.map((v) => 1000 - v);
    const reply = await postInfer(server, 'simple', {
      inputs: [
        { name: 'INPUT0', shape: [2, 16], datatype: 'INT32', data: [SIMPLE_IN0, a] },
        { name: 'INPUT1', shape: [2, 16], datatype: 'INT32', data: [SIMPLE_IN1, b] },
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    const body = parseJson(reply);
    assert.deepEqual(output(body, 'OUTPUT0'), {
      name: 'OUTPUT0',
      datatype: 'INT32',
      shape: [2, 16],
      data: [...SIMPLE_SUM, ...a.map((v, i) => v + (b[i] ?? 0))],
    });
    assert.deepEqual(output(body, 'OUTPUT1').data, [...SIMPLE_DIFF, ...a.map((v, i) => v - (b[i] ?? 0))]);
  });

  it('takes negative and extreme INT32 values exactly', async () => {
    const x = [-2147483648, 2147483647, -1, 0, ...Array.from({ length: 12 }, (_, i) => i * 1000)];
    const y = [0, 0, -1, 0, ...Array.from({ length: 12 }, () => -7)];
    const reply = await postInfer(server, 'simple', {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: x },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: y },
      ],
    });
    const body = parseJson(reply);
    assert.deepEqual(
      output(body, 'OUTPUT0').data,
      x.map((v, i) => v + (y[i] ?? 0)),
    );
    assert.deepEqual(
      output(body, 'OUTPUT1').data,
      x.map((v, i) => v - (y[i] ?? 0)),
    );
  });

  it('echoes the request id, and leaves it out when none was sent', async () => {
    const withId = parseJson(await postInfer(server, 'simple', { id: 'req-42 ünïcode', ...SIMPLE_JSON_REQUEST }));
    assert.equal(withId.id, 'req-42 ünïcode');
    assert.deepEqual(Object.keys(withId), ['model_name', 'model_version', 'id', 'outputs']);

    const withoutId = parseJson(await postInfer(server, 'simple', SIMPLE_JSON_REQUEST));
    assert.deepEqual(Object.keys(withoutId), ['model_name', 'model_version', 'outputs']);
  });

  it('returns only the requested output', async () => {
    const reply = await postInfer(server, 'simple', { ...SIMPLE_JSON_REQUEST, outputs: [{ name: 'OUTPUT1' }] });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(parseJson(reply).outputs, [
      { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: SIMPLE_DIFF },
    ]);
  });

  it('returns requested outputs in the order they were asked for', async () => {
    const reply = await postInfer(server, 'simple', {
      ...SIMPLE_JSON_REQUEST,
      outputs: [{ name: 'OUTPUT1' }, { name: 'OUTPUT0' }],
    });
    const names = (parseJson(reply).outputs as { name: string }[]).map((o) => o.name);
    assert.deepEqual(names, ['OUTPUT1', 'OUTPUT0']);
  });

  it('serves the version named in the path', async () => {
    const reply = await request(`${server.url}/v2/models/simple/versions/1/infer`, {
      body: JSON.stringify(SIMPLE_JSON_REQUEST),
    });
    assert.equal(reply.status, 200, reply.text);
    const body = parseJson(reply);
    assert.equal(body.model_version, '1');
    assert.deepEqual(output(body, 'OUTPUT0').data, SIMPLE_SUM);
  });

  it('accepts a body sent with no Content-Type at all', async () => {
    const reply = await request(`${server.url}/v2/models/simple/infer`, {
      body: new TextEncoder().encode(JSON.stringify(SIMPLE_JSON_REQUEST)),
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(output(parseJson(reply), 'OUTPUT0').data, SIMPLE_SUM);
  });

  /** Values per identity type; each must come back exactly (as JSON values) with the same shape. */
  const ROUND_TRIPS: Record<(typeof IDENTITY_TYPES)[number], { shape: number[]; data: unknown[] }> = {
    BOOL: { shape: [2, 2], data: [true, false, false, true] },
    UINT8: { shape: [1, 4], data: [0, 1, 128, 255] },
    UINT16: { shape: [1, 3], data: [0, 65535, 1234] },
    UINT32: { shape: [1, 3], data: [0, 4294967295, 7] },
    UINT64: { shape: [1, 3], data: [0, 9007199254740991, 42] },
    INT8: { shape: [1, 3], data: [-128, 127, 0] },
    INT16: { shape: [1, 3], data: [-32768, 32767, -1] },
    INT32: { shape: [1, 3], data: [-2147483648, 2147483647, 42] },
    INT64: { shape: [1, 3], data: [-9007199254740991, 9007199254740991, -5] },
    // Every value is exactly representable in binary16: halves, powers of two, the largest
    // finite (65504), the smallest normal (2^-14) and the smallest subnormal (2^-24).
    FP16: { shape: [2, 3], data: [1.5, -2, 65504, 0.00006103515625, 5.960464477539063e-8, 0.25] },
    FP32: { shape: [1, 4], data: [0.5, -1.25, 3.4028234663852886e38, 1.401298464324817e-45] },
    FP64: { shape: [1, 4], data: [0.1, 1e300, -2.5, 5e-324] },
    BYTES: { shape: [1, 5], data: ['plain', 'héllo wörld', '日本語', '🎉 emoji', ''] },
  };

  for (const datatype of IDENTITY_TYPES) {
    it(`${datatype} round-trips through identity_${datatype.toLowerCase()}`, async () => {
      const { shape, data } = ROUND_TRIPS[datatype];
      const model = identityModelName(datatype);
      const reply = await postInfer(server, model, {
        inputs: [{ name: 'INPUT0', shape, datatype, data }],
      });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(parseJson(reply), {
        model_name: model,
        model_version: '1',
        outputs: [{ name: 'OUTPUT0', datatype, shape, data }],
      });
    });
  }

  it('FP32 values that are not exactly representable come back as their nearest float', async () => {
    const data = [0.1, 1 / 3, -2.7];
    const reply = await postInfer(server, 'identity_fp32', {
      inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'FP32', data }],
    });
    assert.deepEqual(
      output(parseJson(reply), 'OUTPUT0').data,
      data.map((v) => Math.fround(v)),
    );
  });

  it('64-bit integers beyond 2^53 round-trip exactly as decimal strings in, exact JSON numbers out', async () => {
    const int64 = await postInfer(server, 'identity_int64', {
      inputs: [
        {
          name: 'INPUT0',
          shape: [1, 3],
          datatype: 'INT64',
          data: ['-9223372036854775808', '9223372036854775807', '9007199254740993'],
        },
      ],
    });
    assert.equal(int64.status, 200, int64.text);
    assert.ok(int64.text.includes('"data":[-9223372036854775808,9223372036854775807,9007199254740993]'), int64.text);

    const uint64 = await postInfer(server, 'identity_uint64', {
      inputs: [{ name: 'INPUT0', shape: [1, 2], datatype: 'UINT64', data: ['18446744073709551615', '1'] }],
    });
    assert.equal(uint64.status, 200, uint64.text);
    assert.ok(uint64.text.includes('"data":[18446744073709551615,1]'), uint64.text);
  });

  it('FP16 values are rounded to the nearest binary16 value', async () => {
    const reply = await postInfer(server, 'identity_fp16', {
      inputs: [{ name: 'INPUT0', shape: [1, 2], datatype: 'FP16', data: [0.1, 1000.3] }],
    });
    // 0.1 → 0x2E66 = 0.0999755859375; 1000.3 → 1000.5 (spacing 0.5 between 512 and 1024).
    assert.deepEqual(output(parseJson(reply), 'OUTPUT0').data, [0.0999755859375, 1000.5]);
  });
});
