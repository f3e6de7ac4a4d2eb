// Fuzzing against the real server: mutated requests over REST (JSON and binary), the OpenAI API,
// the WebSocket infer stream and gRPC ModelInfer. No reply may be a 5xx (other than a 503 or 429
// with Retry-After), no connection may be reset, no error may be logged, and the server still
// answers a valid request afterwards.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { connect, simpleRawRequest, unary, type Clients, type Message } from '../e2e/grpc/grpc-client.js';
import { openStream, streamUrl } from '../e2e/streaming/stream-client.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../helpers/test-server.js';
import { CaseCounter, SERVER_RUNS, hostileJson, mutatedBytes, mutatedJson, params } from './fuzz-support.js';

const counter = new CaseCounter();
let server: TestServer;
let clients: Clients;

before(async () => {
  server = await startTestServer({ modelRepository: EXAMPLES_DIR, loadModels: ['simple', 'kjv-tiny', 'bert-rerank'] });
  clients = connect(server);
});
after(async () => {
  clients.close();
  await server.close();
});

const SIMPLE_JSON = {
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
};

function binaryBody(): { body: Buffer; headerLength: number } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: ['INPUT0', 'INPUT1'].map((name) => ({
        name,
        datatype: 'INT32',
        shape: [1, 16],
        parameters: { binary_data_size: 64 },
      })),
    }),
  );
  return { body: Buffer.concat([header, Buffer.alloc(128, 1)]), headerLength: header.length };
}

/** Posts and checks the reply: no 5xx but a 503/429 with Retry-After, a readable body. */
async function post(path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  await res.arrayBuffer();
  if (res.status >= 500) {
    assert.ok(
      (res.status === 503 || res.status === 429) && res.headers.get('retry-after') !== null,
      `${path} answered ${res.status}`,
    );
  }
  return res.status;
}

function noErrorLogged(): void {
  const errors = server.logs.filter((l) => typeof l.level === 'number' && l.level >= 50);
  assert.deepEqual(errors, [], 'no error-level log line');
}

async function stillServing(): Promise<void> {
  assert.equal(await post('/v2/models/simple/infer', JSON.stringify(SIMPLE_JSON)), 200);
}

describe('the real server under mutated requests', () => {
  it('REST JSON infer', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedJson(fc.constant(SIMPLE_JSON)), async (request) => {
        counter.add('rest json');
        await post('/v2/models/simple/infer', JSON.stringify(request) ?? '');
      }),
      params(SERVER_RUNS),
    );
    noErrorLogged();
    await stillServing();
  });

  it('REST binary infer, with wrong header lengths', async () => {
    const valid = binaryBody();
    await fc.assert(
      fc.asyncProperty(
        mutatedBytes(fc.constant(valid.body)),
        fc.oneof(fc.constant(String(valid.headerLength)), fc.nat(400).map(String), fc.constantFrom('-1', 'x', '')),
        async (body, length) => {
          counter.add('rest binary');
          await post('/v2/models/simple/infer', body, {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': length,
          });
        },
      ),
      params(SERVER_RUNS),
    );
    noErrorLogged();
    await stillServing();
  });

  it('OpenAI endpoints', async () => {
    const valid = {
      '/v1/chat/completions': { model: 'kjv-tiny', max_tokens: 2, messages: [{ role: 'user', content: 'In the' }] },
      '/v1/completions': { model: 'kjv-tiny', max_tokens: 2, prompt: 'In the' },
      '/tokenize': { model: 'kjv-tiny', prompt: 'In the beginning' },
      '/detokenize': { model: 'kjv-tiny', tokens: [1, 2, 3] },
      '/v1/rerank': { model: 'bert-rerank', query: 'the cat', documents: ['eats fish', { text: 'paris' }], top_n: 1 },
      '/rerank': { model: 'bert-rerank', query: 'the cat', texts: ['eats fish'], truncate: true, raw_scores: true },
      '/v1/score': { model: 'bert-rerank', text_1: ['the cat'], text_2: ['eats fish'] },
    } as const;
    const endpoint = fc.constantFrom(...(Object.keys(valid) as (keyof typeof valid)[]));
    await fc.assert(
      fc.asyncProperty(
        endpoint.chain((e) => fc.tuple(fc.constant(e), fc.oneof(mutatedJson(fc.constant(valid[e])), hostileJson))),
        async ([path, body]) => {
          counter.add('openai');
          const mutated = { ...(typeof body === 'object' && body !== null ? body : { body }) };
          // Keep generation short: a mutation may raise max_tokens, which is valid but slow.
          if ('max_tokens' in mutated && typeof mutated.max_tokens === 'number') mutated.max_tokens = 2;
          await post(path, JSON.stringify(Array.isArray(body) ? body : mutated));
        },
      ),
      params(SERVER_RUNS),
    );
    noErrorLogged();
    await stillServing();
  });

  it('WebSocket infer stream', async () => {
    const stream = await openStream(streamUrl(server.url, 'simple'));
    const valid = binaryBody();
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(valid.headerLength);
    const framed = Buffer.concat([prefix, valid.body]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedBytes(fc.constant(framed)).map((b) => ({ binary: true, data: b })),
          mutatedJson(fc.constant(SIMPLE_JSON)).map((j) => ({
            binary: false,
            data: Buffer.from(JSON.stringify(j) ?? ''),
          })),
        ),
        async ({ binary, data }) => {
          counter.add('websocket');
          stream.socket.send(data, { binary });
          const reply = await stream.nextJson();
          if (typeof reply.status === 'number') assert.ok(reply.status < 500, `stream replied ${reply.status}`);
        },
      ),
      params(SERVER_RUNS),
    );
    stream.socket.close();
    noErrorLogged();
    await stillServing();
  });

  it('gRPC ModelInfer', async () => {
    const valid = simpleRawRequest();
    await fc.assert(
      fc.asyncProperty(mutatedJson(fc.constant(valid)), async (request) => {
        counter.add('grpc');
        fc.pre(typeof request === 'object' && request !== null); // a message is an object
        try {
          await unary(clients.inference, 'ModelInfer', request as Message);
        } catch (err) {
          const e = err as grpc.ServiceError;
          // INTERNAL, UNKNOWN and UNAVAILABLE (a reset) are the gRPC 5xx; a client-side serialization error of a
          // message that cannot be encoded at all is no server reply and is skipped.
          if (e.code === undefined || e.details.startsWith('Request message serialization failure')) return;
          assert.ok(
            e.code !== grpc.status.INTERNAL && e.code !== grpc.status.UNKNOWN && e.code !== grpc.status.UNAVAILABLE,
            `ModelInfer answered ${e.code}: ${e.details}`,
          );
        }
      }),
      params(SERVER_RUNS),
    );
    noErrorLogged();
    await unary(clients.inference, 'ModelInfer', valid);
  });
});

it('reports the cases run', (t) => {
  assert.ok(counter.total > 0);
  counter.report(t, 'server');
});
