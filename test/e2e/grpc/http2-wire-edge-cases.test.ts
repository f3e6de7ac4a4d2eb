// The gRPC wire as PROTOCOL-HTTP2.md has it, read frame by frame with node:http2 as the client
// (no gRPC library in between) against the default transport: trailers-only errors, HTTP 415 for
// a foreign content type, gzip and deflate messages, messages split over DATA frames, the size
// limit before and after decompression, grpc-timeout, and percent-encoded grpc-message.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';
import type { TestServer } from '../../helpers/test-server.js';
import { startExamplesServer } from '../rest/rest-wire.js';
import { readInt32, SIMPLE_SUM, simpleRawRequest, type Message } from './grpc-client.js';

const MAX_BYTES = 64 * 1024;
const MODEL_INFER = '/inference.GRPCInferenceService/ModelInfer';

interface Reply {
  readonly headers: http2.IncomingHttpHeaders;
  /** Trailers after a response, or undefined for a trailers-only reply. */
  readonly trailers: http2.IncomingHttpHeaders | undefined;
  readonly data: Buffer;
}

/** The status headers of a reply: the trailers, or the headers of a trailers-only reply. */
function status(reply: Reply): { code: number; message: string } {
  const from = reply.trailers ?? reply.headers;
  return { code: Number(from['grpc-status']), message: decodeURIComponent(String(from['grpc-message'] ?? '')) };
}

function frame(body: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

const protos = loadInferenceProtos();
const inferMethod = protos.inference.service.ModelInfer!;
const encodeInfer = (message: Message): Buffer => inferMethod.requestSerialize(message);

/** The messages of a response body. */
function messages(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length;) {
    const length = data.readUInt32BE(offset + 1);
    out.push(data.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return out;
}

describe('the gRPC wire, frame by frame', () => {
  let server: TestServer;
  let session: http2.ClientHttp2Session;

  before(async () => {
    server = await startExamplesServer(['simple'], { maxBodyBytes: MAX_BYTES });
    session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  });
  after(async () => {
    session.close();
    await server.close();
  });

  /** Sends one request: the headers, then each chunk as its own write, then the end. */
  const call = (headers: http2.OutgoingHttpHeaders, chunks: readonly Buffer[]): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': MODEL_INFER,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headers,
      });
      let responseHeaders: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      const data: Buffer[] = [];
      stream.on('response', (h) => {
        responseHeaders = h;
      });
      stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
        trailers = t;
      });
      stream.on('data', (chunk: Buffer) => data.push(chunk));
      stream.on('end', () => resolve({ headers: responseHeaders, trailers, data: Buffer.concat(data) }));
      stream.on('error', reject);
      for (const chunk of chunks) stream.write(chunk);
      stream.end();
    });

  const assertSimpleAnswer = (reply: Reply): void => {
    assert.deepEqual(status(reply), { code: 0, message: '' });
    const [body] = messages(reply.data);
    assert.ok(body !== undefined, 'one response message');
    const response = inferMethod.responseDeserialize(body) as { raw_output_contents: Buffer[] };
    assert.deepEqual(readInt32(response.raw_output_contents[0]!), SIMPLE_SUM);
  };

  it('answers with headers, one message and OK trailers, naming the encodings it accepts', async () => {
    const reply = await call({}, [frame(encodeInfer(simpleRawRequest()))]);
    assert.equal(reply.headers[':status'], 200);
    assert.match(String(reply.headers['content-type']), /^application\/grpc/);
    assert.deepEqual(String(reply.headers['grpc-accept-encoding']).split(',').sort(), ['deflate', 'gzip', 'identity']);
    assertSimpleAnswer(reply);
  });

  it('reads a message split over many DATA frames', async () => {
    const bytes = frame(encodeInfer(simpleRawRequest()));
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    assertSimpleAnswer(await call({}, chunks));
  });

  it('reads gzip and deflate messages', async () => {
    const body = encodeInfer(simpleRawRequest());
    assertSimpleAnswer(await call({ 'grpc-encoding': 'gzip' }, [frame(gzipSync(body), true)]));
    assertSimpleAnswer(await call({ 'grpc-encoding': 'deflate' }, [frame(deflateSync(body), true)]));
  });

  it('refuses an unknown encoding with UNIMPLEMENTED', async () => {
    const reply = await call({ 'grpc-encoding': 'snappy' }, [frame(Buffer.from('xx'), true)]);
    assert.equal(status(reply).code, 12);
    assert.match(status(reply).message, /unsupported encoding "snappy"/);
  });

  it('answers a foreign content type with HTTP 415', async () => {
    const reply = await call({ 'content-type': 'application/json' }, [Buffer.from('{}')]);
    assert.equal(reply.headers[':status'], 415);
    assert.equal(reply.headers['grpc-status'], undefined);
  });

  it('answers an unknown method trailers-only with UNIMPLEMENTED', async () => {
    const reply = await call({ ':path': '/inference.GRPCInferenceService/NoSuchRpc' }, [frame(Buffer.alloc(0))]);
    assert.equal(reply.trailers, undefined, 'the status is in the only HEADERS frame');
    assert.equal(reply.data.length, 0);
    assert.equal(status(reply).code, 12);
    assert.match(status(reply).message, /NoSuchRpc/);
  });

  it('answers a failed call trailers-only, its message percent-encoded', async () => {
    const reply = await call({}, [frame(encodeInfer(simpleRawRequest({ model_name: 'modèle-ü' })))]);
    assert.equal(reply.trailers, undefined);
    const raw = String(reply.headers['grpc-message']);
    assert.match(raw, /^[\x20-\x7e]*$/, 'printable ASCII on the wire');
    assert.match(raw, /%C3%A8/, 'è as its UTF-8 bytes');
    assert.equal(status(reply).code, 3, 'an invalid model name');
    assert.match(status(reply).message, /modèle-ü/);
  });

  it('refuses a message declared over the limit with RESOURCE_EXHAUSTED, before reading it', async () => {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(MAX_BYTES + 1, 1);
    const reply = await call({}, [prefix]);
    assert.equal(status(reply).code, 8);
    assert.match(status(reply).message, new RegExp(`larger than max \\(${MAX_BYTES + 1} vs. ${MAX_BYTES}\\)`));
  });

  it('refuses a message that decompresses past the limit with RESOURCE_EXHAUSTED', async () => {
    const reply = await call({ 'grpc-encoding': 'gzip' }, [frame(gzipSync(Buffer.alloc(MAX_BYTES * 4)), true)]);
    assert.equal(status(reply).code, 8);
    assert.match(status(reply).message, /decompresses to a size larger than/);
  });

  it('ends a call whose grpc-timeout has passed with DEADLINE_EXCEEDED', async () => {
    const reply = await call({ 'grpc-timeout': '1n' }, [frame(encodeInfer(simpleRawRequest()))]);
    assert.equal(status(reply).code, 4);
  });

  it('refuses a malformed grpc-timeout with INTERNAL, naming the value', async () => {
    const reply = await call({ 'grpc-timeout': 'soon' }, [frame(encodeInfer(simpleRawRequest()))]);
    assert.equal(status(reply).code, 13);
    assert.match(status(reply).message, /grpc-timeout value "soon"/);
  });

  it('keeps serving on the same connection after every refusal', async () => {
    assertSimpleAnswer(await call({}, [frame(encodeInfer(simpleRawRequest()))]));
  });
});
