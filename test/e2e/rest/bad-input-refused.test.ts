// Every malformed or invalid request gets a 4xx {"error": "..."} that names the problem, never a
// stack trace; hostile shapes, oversized bodies and path-like model names are refused up front.

import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { simpleModel } from '../../../tools/examples/example-models.js';
import {
  SIMPLE_IN0,
  SIMPLE_IN1,
  SIMPLE_JSON_REQUEST,
  assertError,
  assertStillServing,
  binaryBody,
  frameBytes,
  int32Bytes,
  parseJson,
  postInfer,
  rawExchange,
  rawToReply,
  request,
  startExamplesServer,
  type JsonObject,
  type Reply,
} from './rest-wire.js';

const in0 = (over: Record<string, unknown> = {}) => ({
  name: 'INPUT0',
  shape: [1, 16],
  datatype: 'INT32',
  data: SIMPLE_IN0,
  ...over,
});
const in1 = (over: Record<string, unknown> = {}) => ({
  name: 'INPUT1',
  shape: [1, 16],
  datatype: 'INT32',
  data: SIMPLE_IN1,
  ...over,
});

interface Case {
  readonly title: string;
  readonly model?: string;
  /** Objects are sent as JSON; strings and bytes as they are. */
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly fragments: readonly string[];
}

/** A JSON header plus blobs, with the header length set as the binary extension requires. */
function binaryCase(header: unknown, blobs: Uint8Array[], headerLengthDelta = 0) {
  const { body, headerLength } = binaryBody(header, blobs);
  return { body, headers: { 'inference-header-content-length': String(headerLength + headerLengthDelta) } };
}

const CASES: readonly Case[] = [
  { title: 'malformed JSON', body: '{"inputs": [', status: 400, fragments: ['malformed JSON'] },
  {
    title: "an input in Triton's shared memory",
    body: {
      inputs: [
        in0({ data: undefined, parameters: { shared_memory_region: 'in0', shared_memory_byte_size: 64 } }),
        in1(),
      ],
    },
    status: 501,
    fragments: ["input 'INPUT0' names shared_memory_region", 'shared-memory extension', 'JSON "data"'],
  },
  {
    title: "an output to Triton's shared memory",
    body: {
      inputs: [in0(), in1()],
      outputs: [{ name: 'OUTPUT0', parameters: { shared_memory_region: 'out0', shared_memory_byte_size: 64 } }],
    },
    status: 501,
    fragments: ["output 'OUTPUT0' names shared_memory_region"],
  },
  { title: 'an empty body', body: '', status: 400, fragments: ['malformed JSON'] },
  { title: 'a JSON array body', body: '[1, 2]', status: 400, fragments: ['JSON object'] },
  { title: 'a JSON string body', body: '"infer"', status: 400, fragments: ['JSON object'] },
  { title: 'a JSON null body', body: 'null', status: 400, fragments: ['JSON object'] },
  { title: 'no inputs field', body: {}, status: 400, fragments: ['"inputs"'] },
  { title: 'an empty inputs array', body: { inputs: [] }, status: 400, fragments: ['non-empty "inputs"'] },
  { title: 'inputs not an array', body: { inputs: { INPUT0: [1] } }, status: 400, fragments: ['"inputs" array'] },
  { title: 'an input that is not an object', body: { inputs: [7] }, status: 400, fragments: ['inputs[0]', 'object'] },
  {
    title: 'an input without a name',
    body: { inputs: [in0({ name: undefined })] },
    status: 400,
    fragments: ['inputs[0]', '"name"'],
  },
  {
    title: 'a non-string request id',
    body: { id: 12, inputs: [in0(), in1()] },
    status: 400,
    fragments: ['"id"', 'string', '12'],
  },
  {
    title: 'an unknown input name',
    body: { inputs: [in0(), in1(), in0({ name: 'BOGUS' })] },
    status: 400,
    fragments: ["'BOGUS'", "'simple'", "'INPUT0', 'INPUT1'"],
  },
  { title: 'a missing input', body: { inputs: [in0()] }, status: 400, fragments: ["missing 'INPUT1'", "'simple'"] },
  {
    title: 'a duplicate input',
    body: { inputs: [in0(), in1(), in0()] },
    status: 400,
    fragments: ["'INPUT0'", 'more than once'],
  },
  {
    title: 'the wrong datatype',
    body: { inputs: [in0({ datatype: 'FP32' }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", 'FP32', 'expects INT32'],
  },
  {
    title: 'an unknown datatype string',
    body: { inputs: [in0({ datatype: 'INT33' }), in1()] },
    status: 400,
    fragments: ['unknown datatype "INT33"', "'INPUT0'"],
  },
  {
    title: 'no data',
    body: { inputs: [in0({ data: undefined }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", '"data"'],
  },
  {
    title: 'data not an array',
    body: { inputs: [in0({ data: 5 }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", 'data must be an array'],
  },
  {
    title: 'data shorter than the shape',
    body: { inputs: [in0({ data: SIMPLE_IN0.slice(1) }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", 'expected 16 elements', '[1,16]', 'got 15'],
  },
  {
    title: 'data longer than the shape',
    body: { inputs: [in0(), in1({ data: [...SIMPLE_IN1, 1] })] },
    status: 400,
    fragments: ["'INPUT1'", 'expected 16 elements', 'got 17'],
  },
  {
    title: 'nested data with a short row',
    body: { inputs: [in0({ shape: [2, 16], data: [SIMPLE_IN0, SIMPLE_IN0.slice(1)] }), in1({ shape: [2, 16] })] },
    status: 400,
    fragments: ["'INPUT0'", 'expected 32 elements', '[2,16]', 'got 31'],
  },
  {
    title: 'an out-of-range UINT8 (300)',
    model: 'identity_uint8',
    body: { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'UINT8', data: [1, 300, 2] }] },
    status: 400,
    fragments: ["'INPUT0'", 'UINT8 element 1', '300', 'out of range [0, 255]'],
  },
  {
    title: 'an INT32 out of range',
    body: { inputs: [in0({ data: [...SIMPLE_IN0.slice(0, 15), 2147483648] }), in1()] },
    status: 400,
    fragments: ['INT32 element 15', '2147483648', 'out of range'],
  },
  {
    title: 'a non-integer INT32 (1.5)',
    body: { inputs: [in0({ data: [0, 1, 1.5, ...SIMPLE_IN0.slice(3)] }), in1()] },
    status: 400,
    fragments: ['INT32 element 2', 'integer', '1.5'],
  },
  {
    title: 'a string where numbers are expected',
    body: { inputs: [in0(), in1({ data: ['1', ...SIMPLE_IN1.slice(1)] })] },
    status: 400,
    fragments: ["'INPUT1'", 'INT32 element 0', 'integer', '"1"'],
  },
  {
    title: 'a string where FP32 numbers are expected',
    model: 'identity_fp32',
    body: { inputs: [{ name: 'INPUT0', shape: [1, 2], datatype: 'FP32', data: [1, 'two'] }] },
    status: 400,
    fragments: ['FP32 element 1', 'number', '"two"'],
  },
  {
    title: 'a number where BYTES strings are expected',
    model: 'identity_bytes',
    body: { inputs: [{ name: 'INPUT0', shape: [1, 2], datatype: 'BYTES', data: ['a', 2] }] },
    status: 400,
    fragments: ['BYTES element 1', 'string'],
  },
  {
    title: 'a negative dimension',
    body: { inputs: [in0({ shape: [-1, 16] }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", 'shape[0]', 'non-negative integer', '-1'],
  },
  {
    title: 'a non-integer dimension',
    body: { inputs: [in0({ shape: [1, 16.5] }), in1()] },
    status: 400,
    fragments: ['shape[1]', 'non-negative integer', '16.5'],
  },
  {
    title: 'a shape that is not an array',
    body: { inputs: [in0({ shape: '1x16' }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", 'shape must be an array'],
  },
  {
    title: 'a batch over max_batch_size',
    body: {
      inputs: [
        in0({ shape: [9, 16], data: Array(9).fill(SIMPLE_IN0) }),
        in1({ shape: [9, 16], data: Array(9).fill(SIMPLE_IN1) }),
      ],
    },
    status: 400,
    fragments: ['batch size 9', 'max_batch_size 8', "'simple'"],
  },
  {
    title: 'a shape of the wrong rank',
    body: { inputs: [in0({ shape: [16] }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", '[16]', 'expects [-1,16]', 'rank 2'],
  },
  {
    title: 'a wrong fixed dimension',
    body: { inputs: [in0({ shape: [1, 15], data: SIMPLE_IN0.slice(1) }), in1()] },
    status: 400,
    fragments: ["'INPUT0'", '[1,15]', 'expects [-1,16]'],
  },
  {
    title: 'inputs whose batch sizes disagree',
    body: { inputs: [in0(), in1({ shape: [2, 16], data: [SIMPLE_IN1, SIMPLE_IN1] })] },
    status: 400,
    fragments: ['different batch sizes', '1, 2'],
  },
  {
    title: 'an unknown output',
    body: { ...SIMPLE_JSON_REQUEST, outputs: [{ name: 'OUTPUT9' }] },
    status: 400,
    fragments: ["'OUTPUT9'", "'simple'", "'OUTPUT0', 'OUTPUT1'"],
  },
  {
    title: 'an output asked for twice',
    body: { ...SIMPLE_JSON_REQUEST, outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT0' }] },
    status: 400,
    fragments: ["'OUTPUT0'", 'more than once'],
  },
  {
    title: 'binary_data that is not a boolean',
    body: { ...SIMPLE_JSON_REQUEST, outputs: [{ name: 'OUTPUT0', parameters: { binary_data: 'yes' } }] },
    status: 400,
    fragments: ["'OUTPUT0'", 'binary_data'],
  },
  {
    title: 'classification of a BYTES output',
    model: 'identity_bytes',
    body: {
      inputs: [{ name: 'INPUT0', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] }],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 1 } }],
    },
    status: 400,
    fragments: ["'OUTPUT0'", 'BYTES', 'classified'],
  },
  {
    title: 'a non-numeric Inference-Header-Content-Length',
    body: SIMPLE_JSON_REQUEST,
    headers: { 'inference-header-content-length': 'abc' },
    status: 400,
    fragments: ['Inference-Header-Content-Length', 'non-negative integer', '"abc"'],
  },
  {
    title: 'a negative Inference-Header-Content-Length',
    body: SIMPLE_JSON_REQUEST,
    headers: { 'inference-header-content-length': '-5' },
    status: 400,
    fragments: ['Inference-Header-Content-Length', '"-5"'],
  },
  {
    title: 'an Inference-Header-Content-Length in exponent form',
    body: SIMPLE_JSON_REQUEST,
    headers: { 'inference-header-content-length': '1e3' },
    status: 400,
    fragments: ['Inference-Header-Content-Length', '"1e3"'],
  },
  {
    title: 'an Inference-Header-Content-Length larger than the body',
    ...binaryCase({ inputs: [in0(), in1()] }, [], 100),
    status: 400,
    fragments: ['Inference-Header-Content-Length', 'past the end'],
  },
  {
    title: 'an Inference-Header-Content-Length that cuts the JSON short',
    ...binaryCase({ inputs: [in0(), in1()] }, [], -3),
    status: 400,
    fragments: ['malformed JSON'],
  },
  {
    title: 'binary_data_size running past the end of the body',
    ...binaryCase({ inputs: [in0(), in1({ data: undefined, parameters: { binary_data_size: 64 } })] }, [
      Buffer.alloc(60),
    ]),
    status: 400,
    fragments: ["'INPUT1'", '64 bytes', 'runs past the end'],
  },
  {
    title: 'extra bytes after the tensor data',
    ...binaryCase({ inputs: [in0(), in1({ data: undefined, parameters: { binary_data_size: 64 } })] }, [
      int32Bytes(SIMPLE_IN1),
      Buffer.from('junk'),
    ]),
    status: 400,
    fragments: ['4 bytes after the tensor data'],
  },
  {
    title: 'binary data after a header that declares none',
    ...binaryCase({ inputs: [in0(), in1()] }, [Buffer.from([1, 2, 3])]),
    status: 400,
    fragments: ['3 bytes after the tensor data'],
  },
  {
    title: 'binary_data_size without the Inference-Header-Content-Length header',
    body: { inputs: [in0(), in1({ data: undefined, parameters: { binary_data_size: 64 } })] },
    status: 400,
    fragments: ["'INPUT1'", 'binary_data_size', 'no Inference-Header-Content-Length'],
  },
  {
    title: 'binary_data_size that does not match the shape',
    ...binaryCase({ inputs: [in0(), in1({ data: undefined, parameters: { binary_data_size: 60 } })] }, [
      Buffer.alloc(60),
    ]),
    status: 400,
    fragments: ["'INPUT1'", 'expected 64 bytes', 'got 60'],
  },
  {
    title: 'a negative binary_data_size',
    ...binaryCase({ inputs: [in0(), in1({ data: undefined, parameters: { binary_data_size: -4 } })] }, []),
    status: 400,
    fragments: ["'INPUT1'", 'binary_data_size', 'non-negative integer'],
  },
  {
    title: 'both data and binary_data_size',
    ...binaryCase({ inputs: [in0(), in1({ parameters: { binary_data_size: 64 } })] }, [int32Bytes(SIMPLE_IN1)]),
    status: 400,
    fragments: ["'INPUT1'", 'both', 'binary_data_size'],
  },
  {
    title: 'BYTES binary data whose length prefix runs past its end',
    model: 'identity_bytes',
    ...binaryCase(
      { inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: 7 } }] },
      [Buffer.from([9, 0, 0, 0, 0x61, 0x62, 0x63])],
    ),
    status: 400,
    fragments: ["'INPUT0'", 'BYTES element 0', 'length 9', 'past the end'],
  },
  {
    title: 'BYTES binary data with more elements than the shape',
    model: 'identity_bytes',
    ...binaryCase(
      { inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: 10 } }] },
      [frameBytes(['a', 'b'])],
    ),
    status: 400,
    fragments: ["'INPUT0'", 'expected 1 BYTES elements'],
  },
];

/** Sends a request with its target exactly as written: fetch would normalize "..", "%2e%2e" and "\". */
async function raw(server: TestServer, method: string, target: string, body = ''): Promise<Reply> {
  const bytes = Buffer.from(
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    'latin1',
  );
  return rawToReply(await rawExchange(server.httpPort, bytes));
}

const INFER_BODY = JSON.stringify({
  inputs: [
    { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(1) },
    { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(1) },
  ],
});

/** Names as they appear in the URL, and the decoded name the error should quote. */
const HOSTILE: readonly [string, string][] = [
  ['..%2Foutside_model', '../outside_model'],
  ['..%2F..%2Fetc', '../../etc'],
  ['%2E%2E%2Foutside_model', '../outside_model'],
  ['%2e%2e', '..'],
  ['..', '..'],
  ['a%2Fb', 'a/b'],
  ['%2Fetc%2Fpasswd', '/etc/passwd'],
  ['..%5Coutside_model', '..\\outside_model'],
  ['simple%00', 'simple\u0000'],
  ['.hidden', '.hidden'],
];

describe('bad input is refused with a 4xx that names the problem', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', 'identity_fp32', 'identity_uint8', 'identity_bytes']);
  });
  after(async () => {
    await server.close();
  });

  for (const c of CASES) {
    it(`${c.title} → ${c.status}`, async () => {
      const reply = await postInfer(server, c.model ?? 'simple', c.body, c.headers);
      assertError(reply, c.status, ...c.fragments);
      await assertStillServing(server);
    });
  }

  it('an unknown model → 404 naming it', async () => {
    assertError(
      await postInfer(server, 'no_such_model', SIMPLE_JSON_REQUEST),
      404,
      "Request for unknown model: 'no_such_model' is not found",
    );
    await assertStillServing(server);
  });

  it('a model in the repository that is not loaded → 404', async () => {
    assertError(await postInfer(server, 'mlp', SIMPLE_JSON_REQUEST), 404, "'mlp'");
  });

  it('an unknown version → 404 naming it; a non-numeric version → 400', async () => {
    const url = `${server.url}/v2/models/simple/versions`;
    const body = JSON.stringify(SIMPLE_JSON_REQUEST);
    assertError(
      await request(`${url}/5/infer`, { body }),
      404,
      "Request for unknown model: 'simple' version 5 is not found",
    );
    for (const v of ['latest', '1.0', '-1', '0', '01']) {
      assertError(await request(`${url}/${v}/infer`, { body }), 400, `invalid version "${v}"`, 'positive integers');
    }
    await assertStillServing(server);
  });

  it('unknown routes and wrong methods → 404 JSON naming the route', async () => {
    assertError(await request(`${server.url}/v2/nothing/here`), 404, 'no route', 'GET /v2/nothing/here');
    assertError(await request(`${server.url}/v2/models/simple/infer`), 404, 'GET /v2/models/simple/infer');
    assertError(await request(`${server.url}/v3`, { body: '{}' }), 404, 'POST /v3');
  });

  it('absurd shapes are refused at once, before any tensor memory exists', async () => {
    const cases: { model: string; body: unknown; headers?: Record<string, string>; fragments: string[] }[] = [
      {
        model: 'identity_fp32',
        body: { inputs: [{ name: 'INPUT0', shape: [1e9, 1e9], datatype: 'FP32', data: [] }] },
        fragments: ['batch size 1000000000', 'max_batch_size'],
      },
      {
        model: 'identity_fp32',
        body: { inputs: [{ name: 'INPUT0', shape: [1, 1e9], datatype: 'FP32', data: [] }] },
        fragments: ['[1,1000000000]', '4000000000 bytes', 'over the limit'],
      },
      {
        model: 'identity_fp32',
        body: { inputs: [{ name: 'INPUT0', shape: [64, 2 ** 52], datatype: 'FP32', data: [] }] },
        fragments: ["'INPUT0'", 'more than 2^53'],
      },
      {
        model: 'simple',
        body: { inputs: [in0({ shape: [4294967296, 16], data: [] }), in1()] },
        fragments: ['batch size 4294967296', 'max_batch_size 8'],
      },
      {
        model: 'identity_bytes',
        body: { inputs: [{ name: 'INPUT0', shape: [1, 1e12], datatype: 'BYTES', data: [] }] },
        fragments: ["'INPUT0'", 'BYTES', 'over the limit'],
      },
      {
        model: 'identity_fp32',
        ...binaryCase(
          { inputs: [{ name: 'INPUT0', shape: [1, 1e9], datatype: 'FP32', parameters: { binary_data_size: 4e9 } }] },
          [Buffer.alloc(16)],
        ),
        fragments: ['[1,1000000000]', 'over the limit'],
      },
    ];
    for (const c of cases) {
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      const reply: Reply = await postInfer(server, c.model, c.body, c.headers);
      const elapsed = performance.now() - started;
      assertError(reply, 400, ...c.fragments);
      assert.ok(elapsed < 1500, `refused in ${elapsed.toFixed(0)} ms`);
      const grown = process.memoryUsage().rss - rssBefore;
      assert.ok(grown < 64 * 1024 * 1024, `memory grew by ${grown} bytes`);
    }
    await assertStillServing(server);
  });

  it('refused requests do not reach the model, so none is counted in its statistics', async () => {
    const reply = await request(`${server.url}/v2/models/identity_bytes/stats`);
    const stats = (parseJson(reply).model_stats as JsonObject[])[0] as JsonObject;
    assert.equal(stats.execution_count, 0);
    assert.deepEqual((stats.inference_stats as JsonObject).success, { count: 0, ns: 0 });
  });

  it('client errors are not logged as server errors', () => {
    const errors = server.logs.filter((l) => typeof l.level === 'number' && l.level >= 50);
    assert.deepEqual(errors, []);
  });
});

describe('on a server of its own: a 4096-byte body limit, and a model folder beside the repository', () => {
  let root: string;
  let small: TestServer;
  let outsideMtime: number;

  before(async () => {
    // root/repo is the repository; root/outside_model is a valid model folder beside it.
    root = await makeRepository([
      ...simpleModel().map((f) => ({ ...f, path: `repo/${f.path}` })),
      ...simpleModel().map((f) => ({ ...f, path: f.path.replace(/^simple\//, 'outside_model/') })),
    ]);
    outsideMtime = (await stat(path.join(root, 'outside_model', '1', 'model.onnx'))).mtimeMs;
    small = await startTestServer({
      modelRepository: path.join(root, 'repo'),
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
      maxBodyBytes: 4096,
    });
  });
  after(async () => {
    await small.close();
    await removeRepository(root);
  });

  describe('a body over the configured size limit', () => {
    it('is refused with 413 naming the limit, and the server serves on', async () => {
      const padded = JSON.stringify({ ...SIMPLE_JSON_REQUEST, id: 'x'.repeat(5000) });
      assert.ok(padded.length > 4096);
      const reply = await postInfer(small, 'simple', padded);
      assertError(reply, 413, 'over the limit of 4096 bytes');
      await assertStillServing(small);
    });

    it('a binary body over the limit is refused the same way', async () => {
      const { body, headerLength } = binaryBody({ inputs: [in0(), in1()] }, [Buffer.alloc(8000)]);
      const reply = await postInfer(small, 'simple', body, {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(headerLength),
      });
      assertError(reply, 413, '4096 bytes');
      await assertStillServing(small);
    });
  });

  describe('model names with path characters ("..", "/", "\\", encoded or not)', () => {
    for (const [encoded, decoded] of HOSTILE) {
      it(`"${encoded}" is refused with 400 on infer, metadata, ready, config, stats and load`, async () => {
        const quoted = JSON.stringify(decoded);
        const targets: [string, string, string][] = [
          ['POST', `/v2/models/${encoded}/infer`, INFER_BODY],
          ['POST', `/v2/models/${encoded}/versions/1/infer`, INFER_BODY],
          ['GET', `/v2/models/${encoded}`, ''],
          ['GET', `/v2/models/${encoded}/ready`, ''],
          ['GET', `/v2/models/${encoded}/config`, ''],
          ['GET', `/v2/models/${encoded}/stats`, ''],
          ['POST', `/v2/repository/models/${encoded}/load`, '{}'],
        ];
        for (const [method, target, body] of targets) {
          const reply = await raw(small, method, target, body);
          assertError(reply, 400, `invalid model name ${quoted}`);
        }
      });
    }

    it('"../outside_model" in a raw path is not normalized into another route', async () => {
      const reply = await raw(small, 'POST', '/v2/models/../outside_model/infer', INFER_BODY);
      assertError(reply, 404, 'no route');
    });

    it('the folder beside the repository was never loaded, served or touched', async () => {
      const index = await request(`${small.url}/v2/repository/index`, { body: '{}' });
      assert.equal(index.status, 200, index.text);
      const rows = JSON.parse(index.text) as { name: string }[];
      assert.deepEqual(
        rows.map((r) => r.name),
        ['simple'],
      );
      const stats = parseJson(await request(`${small.url}/v2/models/stats`));
      assert.deepEqual(
        (stats.model_stats as { name: string }[]).map((s) => s.name),
        ['simple'],
      );
      assert.equal((await stat(path.join(root, 'outside_model', '1', 'model.onnx'))).mtimeMs, outsideMtime);
      const mentions = small.logs.filter((l) => JSON.stringify(l).includes('outside_model'));
      assert.deepEqual(mentions, [], 'no log line shows an attempt to read outside the repository');
      await assertStillServing(small);
    });
  });
});
