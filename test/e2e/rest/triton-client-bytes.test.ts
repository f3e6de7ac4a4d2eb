// Replays, over a raw TCP socket, the exact bytes Triton's Python HTTP client (tritonclient.http)
// sends for the `simple` model, in its JSON, mixed and binary forms, and checks the replies.
//
// How the bytes were reconstructed (triton-inference-server/client, src/python/library/tritonclient):
// - http/_utils.py `_get_inference_request`: the body is `rapidjson.dumps(infer_request)`, which
//   writes compact JSON (no spaces). Keys in insertion order: "id" (only when request_id != ""),
//   "inputs", "outputs" (only when outputs were given), then "parameters"; with no outputs it sets
//   parameters.binary_data_output = true. Binary input data follows the JSON in input order, and
//   the JSON's length is returned as the Inference-Header-Content-Length value.
// - http/_infer_input.py `InferInput._get_tensor`: {"name", "shape", "datatype"} then "parameters"
//   (binary_data_size, only when binary) then "data" (only when not binary);
//   `set_data_from_numpy(..., binary_data=True)` is the default and sends `tobytes()`.
// - http/_requested_output.py `InferRequestedOutput._get_tensor`: {"name", "parameters":
//   {"binary_data": <bool>}} (binary_data defaults to true).
// - http/_client.py `InferenceServerClient.infer`: adds the Inference-Header-Content-Length header
//   only when binary data follows; no Content-Type and no Accept-Encoding unless compression is
//   asked for; the request URI is "/v2/models/<name>/infer" plus any query string.
// - geventhttpclient client.py `HTTPClient._build_request`: "User-Agent: python/gevent-http-client-
//   <version>" first, then the caller's headers, then "Host" and "Content-Length", as
//   "Name: value\r\n" lines.
// The data is src/python/examples/simple_http_infer_client.py's: INPUT0 = arange(16) and
// INPUT1 = full(-1), both INT32 [1, 16].

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import {
  output,
  rawConversation,
  rawExchange,
  rawToReply,
  readInt32,
  splitBinaryReply,
  startExamplesServer,
  type JsonObject,
  type RawReply,
} from './rest-wire.js';

/** INPUT0 = arange(16, dtype=int32).tobytes(). */
const INPUT0_BYTES = Buffer.from(
  '000000000100000002000000030000000400000005000000060000000700000008000000090000000a0000000b0000000c0000000d0000000e0000000f000000',
  'hex',
);
/** INPUT1 = full((1, 16), -1, dtype=int32).tobytes(). */
const INPUT1_BYTES = Buffer.from(
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'hex',
);

/**
 * Both inputs with binary_data=False and both outputs requested with binary_data=False: a pure
 * JSON body and no Inference-Header-Content-Length header.
 */
const JSON_FORM = Buffer.from(
  'POST /v2/models/simple/infer HTTP/1.1\r\n' +
    'User-Agent: python/gevent-http-client-2.3.1\r\n' +
    'Host: localhost:8000\r\n' +
    'Content-Length: 340\r\n' +
    '\r\n' +
    '{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},' +
    '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","data":[-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1]}],' +
    '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":false}},{"name":"OUTPUT1","parameters":{"binary_data":false}}]}',
  'latin1',
);

/**
 * simple_http_infer_client.py `test_infer`: INPUT0 as JSON, INPUT1 binary; OUTPUT0 requested
 * binary, OUTPUT1 as JSON; query_params {'test_1': 1, 'test_2': 2}.
 */
const MIXED_FORM = Buffer.concat([
  Buffer.from(
    'POST /v2/models/simple/infer?test_1=1&test_2=2 HTTP/1.1\r\n' +
      'User-Agent: python/gevent-http-client-2.3.1\r\n' +
      'Inference-Header-Content-Length: 319\r\n' +
      'Host: localhost:8000\r\n' +
      'Content-Length: 383\r\n' +
      '\r\n' +
      '{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},' +
      '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}}],' +
      '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},{"name":"OUTPUT1","parameters":{"binary_data":false}}]}',
    'latin1',
  ),
  INPUT1_BYTES,
]);

/**
 * simple_http_infer_client.py `test_infer_no_outputs`: the same inputs and no outputs, so the
 * client adds parameters.binary_data_output = true after "inputs".
 */
const NO_OUTPUTS_FORM = Buffer.concat([
  Buffer.from(
    'POST /v2/models/simple/infer?test_1=1&test_2=2 HTTP/1.1\r\n' +
      'User-Agent: python/gevent-http-client-2.3.1\r\n' +
      'Inference-Header-Content-Length: 241\r\n' +
      'Host: localhost:8000\r\n' +
      'Content-Length: 305\r\n' +
      '\r\n' +
      '{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},' +
      '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}}],' +
      '"parameters":{"binary_data_output":true}}',
    'latin1',
  ),
  INPUT1_BYTES,
]);

/**
 * The client's defaults: both inputs binary, InferRequestedOutput(name) for each output (binary),
 * request_id="1" and model_version="1" (the versioned URI).
 */
const BINARY_FORM = Buffer.concat([
  Buffer.from(
    'POST /v2/models/simple/versions/1/infer HTTP/1.1\r\n' +
      'User-Agent: python/gevent-http-client-2.3.1\r\n' +
      'Inference-Header-Content-Length: 317\r\n' +
      'Host: localhost:8000\r\n' +
      'Content-Length: 445\r\n' +
      '\r\n' +
      '{"id":"1","inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}},' +
      '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}}],' +
      '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},{"name":"OUTPUT1","parameters":{"binary_data":true}}]}',
    'latin1',
  ),
  INPUT0_BYTES,
  INPUT1_BYTES,
]);

/** simple_http_infer_client.py's "wrong_model_name" request, in the mixed form. */
const WRONG_MODEL_FORM = Buffer.concat([
  Buffer.from(
    MIXED_FORM.toString('latin1', 0, MIXED_FORM.indexOf('\r\n\r\n') + 4).replace('/simple/', '/wrong_model_name/'),
    'latin1',
  ),
  MIXED_FORM.subarray(MIXED_FORM.indexOf('\r\n\r\n') + 4),
]);

const SUM = Array.from({ length: 16 }, (_, i) => i - 1);
const DIFF = Array.from({ length: 16 }, (_, i) => i + 1);

/** Checks a fixture is self-consistent: Content-Length and Inference-Header-Content-Length. */
function checkFixture(bytes: Buffer): void {
  const split = bytes.indexOf('\r\n\r\n');
  const head = bytes.toString('latin1', 0, split);
  const body = bytes.subarray(split + 4);
  assert.equal(Number(/\r\nContent-Length: (\d+)/.exec(head)?.[1]), body.length, 'Content-Length');
  const headerLength = /\r\nInference-Header-Content-Length: (\d+)/.exec(head)?.[1];
  const jsonEnd = headerLength === undefined ? body.length : Number(headerLength);
  assert.doesNotThrow(() => JSON.parse(body.toString('utf8', 0, jsonEnd)), 'the JSON part parses alone');
  assert.doesNotMatch(head, /Content-Type|Accept-Encoding|Transfer-Encoding/i);
}

/** The response headers tritonclient reads, and what it needs to frame the body. */
function checkHead(reply: RawReply, binary: boolean): void {
  assert.equal(reply.statusLine, 'HTTP/1.1 200 OK');
  assert.equal(reply.headers.get('content-length'), String(reply.body.length));
  assert.equal(reply.headers.get('transfer-encoding'), undefined);
  assert.equal(reply.headers.get('content-encoding'), undefined);
  if (binary) {
    assert.equal(reply.headers.get('content-type'), 'application/octet-stream');
    assert.match(reply.headers.get('inference-header-content-length') ?? '', /^\d+$/);
  } else {
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(reply.headers.get('inference-header-content-length'), undefined);
  }
}

describe("bytes sent by Triton's Python HTTP client", () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple']);
  });
  after(async () => {
    await server.close();
  });

  it('the fixtures are self-consistent', () => {
    for (const f of [JSON_FORM, MIXED_FORM, NO_OUTPUTS_FORM, BINARY_FORM, WRONG_MODEL_FORM]) checkFixture(f);
  });

  it('JSON form: a JSON reply with both outputs', async () => {
    const reply = await rawExchange(server.httpPort, JSON_FORM);
    checkHead(reply, false);
    assert.deepEqual(JSON.parse(reply.body.toString('utf8')), {
      model_name: 'simple',
      model_version: '1',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], data: SUM },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: DIFF },
      ],
    });
  });

  it("simple_http_infer_client's test_infer: OUTPUT0 binary, OUTPUT1 JSON", async () => {
    const reply = await rawExchange(server.httpPort, MIXED_FORM);
    checkHead(reply, true);
    const { header, blobs } = splitBinaryReply(rawToReply(reply));
    assert.deepEqual(header, {
      model_name: 'simple',
      model_version: '1',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: DIFF },
      ],
    });
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SUM);
  });

  it("simple_http_infer_client's test_infer_no_outputs: every output binary", async () => {
    const reply = await rawExchange(server.httpPort, NO_OUTPUTS_FORM);
    checkHead(reply, true);
    const { header, blobs } = splitBinaryReply(rawToReply(reply));
    assert.deepEqual(
      (header.outputs as JsonObject[]).map((o) => [o.name, o.datatype, o.shape, o.parameters]),
      [
        ['OUTPUT0', 'INT32', [1, 16], { binary_data_size: 64 }],
        ['OUTPUT1', 'INT32', [1, 16], { binary_data_size: 64 }],
      ],
    );
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SUM);
    assert.deepEqual(readInt32(blobs.get('OUTPUT1') ?? Buffer.alloc(0)), DIFF);
  });

  it('binary form with a request id and a version: the id comes back, outputs binary', async () => {
    const reply = await rawExchange(server.httpPort, BINARY_FORM);
    checkHead(reply, true);
    const { header, blobs } = splitBinaryReply(rawToReply(reply));
    assert.equal(header.id, '1');
    assert.equal(header.model_version, '1');
    assert.deepEqual(output(header, 'OUTPUT0').parameters, { binary_data_size: 64 });
    assert.deepEqual(readInt32(blobs.get('OUTPUT0') ?? Buffer.alloc(0)), SUM);
    assert.deepEqual(readInt32(blobs.get('OUTPUT1') ?? Buffer.alloc(0)), DIFF);
  });

  it('all four on one keep-alive connection, as the client reuses its socket', async () => {
    const replies = await rawConversation(server.httpPort, [JSON_FORM, MIXED_FORM, NO_OUTPUTS_FORM, BINARY_FORM]);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200, 200],
    );
    for (const r of replies) assert.notEqual(r.headers.get('connection'), 'close');
    const last = splitBinaryReply(rawToReply(replies[3] as RawReply));
    assert.deepEqual(readInt32(last.blobs.get('OUTPUT1') ?? Buffer.alloc(0)), DIFF);
  });

  it('an unknown model gets the {"error"} body the client turns into InferenceServerException', async () => {
    const reply = await rawExchange(server.httpPort, WRONG_MODEL_FORM);
    assert.equal(reply.statusLine, 'HTTP/1.1 404 Not Found');
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    const body = JSON.parse(reply.body.toString('utf8')) as JsonObject;
    assert.deepEqual(Object.keys(body), ['error']);
    assert.match(String(body.error), /^Request for unknown model: 'wrong_model_name' is not found$/);
  });
});
