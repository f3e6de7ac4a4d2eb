// The one error handler as each edge registers it (KServe REST, OpenAI, the batch API): the HTTP
// framework's own request errors, our refusals and unknown failures come out with the edge's body,
// the table's status, Retry-After on every 429 and 503, and a log line under the request id.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { batchApiErrors } from '../../../src/batch-api/batch-api.js';
import { InferdError } from '../../../src/errors/index.js';
import {
  bodyOverLimit,
  makeErrorHandler,
  makeNotFoundHandler,
  type ErrorEdge,
} from '../../../src/protocols/common/error-handler.js';

const LIMIT = 64;

const EDGES: Record<string, ErrorEdge> = {
  kserve: { format: 'kserve', bodyTooLarge: bodyOverLimit(LIMIT) },
  openai: { format: 'openai', bodyTooLarge: bodyOverLimit(LIMIT) },
  batch: batchApiErrors(LIMIT),
};

/** What the routes throw, by path. */
const THROWN: Record<string, () => unknown> = {
  // As the schedulers throw a full queue.
  '/queue-full': () => new InferdError('INF_ERR_QUEUE_FULL', 'queue is full', { headers: { 'retry-after': '1' } }),
  // As the generation engine spells it.
  '/queue-full-capitalised': () =>
    new InferdError('INF_ERR_QUEUE_FULL', 'queue is full', { headers: { 'Retry-After': '1' } }),
  '/queue-full-bare': () => new InferdError('INF_ERR_QUEUE_FULL', 'queue is full'),
  '/queue-full-own-wait': () =>
    new InferdError('INF_ERR_QUEUE_FULL', 'queue is full', { headers: { 'retry-after': '7' } }),
  '/model-unavailable': () => new InferdError('INF_ERR_MODEL_UNAVAILABLE', "model 'm' is not ready (loading)"),
  '/unavailable': () => new InferdError('INF_ERR_UNAVAILABLE', 'the server is shutting down'),
  '/runtime': () => new InferdError('INF_ERR_RUNTIME', 'onnxruntime failed'),
  '/bug': () => new TypeError('x is undefined'),
  '/bad-field': () => new InferdError('INF_ERR_INVALID_ARGUMENT', 'bad n', { param: 'n', apiCode: 'invalid_n' }),
};

interface Edge {
  readonly app: FastifyInstance;
  readonly logs: Record<string, unknown>[];
}

async function startEdge(edge: ErrorEdge): Promise<Edge> {
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const app = Fastify({ bodyLimit: LIMIT, logger: { level: 'debug', stream }, disableRequestLogging: true });
  app.setErrorHandler(makeErrorHandler(edge));
  app.setNotFoundHandler(makeNotFoundHandler(edge.format));
  // The default JSON parser stays, so the framework's own parse errors are exercised.
  app.post('/echo', (req) => ({ got: req.body }));
  for (const [path, thrown] of Object.entries(THROWN)) {
    app.get(path, () => {
      throw thrown();
    });
  }
  await app.ready();
  return { app, logs };
}

type OpenAIBody = { error: { message: string; type: string; param: string | null; code: string | null } };

describe('one error handler, three edges', () => {
  const edges = new Map<string, Edge>();
  before(async () => {
    for (const [name, edge] of Object.entries(EDGES)) edges.set(name, await startEdge(edge));
  });
  after(async () => {
    for (const edge of edges.values()) await edge.app.close();
  });

  const get = (name: string, url: string) => edges.get(name)!.app.inject({ method: 'GET', url });
  const tooLarge = (name: string) =>
    edges.get(name)!.app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'x'.repeat(LIMIT) }),
    });

  it('answers a body over the limit with 413 in each edge’s format and limit message', async () => {
    const kserve = await tooLarge('kserve');
    assert.equal(kserve.statusCode, 413);
    assert.match(String(kserve.headers['content-type']), /^application\/json/);
    assert.deepEqual(kserve.json(), { error: `request body is over the limit of ${LIMIT} bytes` });

    const openai = await tooLarge('openai');
    assert.equal(openai.statusCode, 413);
    assert.deepEqual(openai.json(), {
      error: {
        message: `request body is over the limit of ${LIMIT} bytes`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });

    const batch = await tooLarge('batch');
    assert.equal(batch.statusCode, 413);
    assert.deepEqual(batch.json(), {
      error: {
        message: `upload is over the limit of ${LIMIT} bytes (--max-batch-file-size)`,
        type: 'invalid_request_error',
        param: 'file',
        code: 'file_too_large',
      },
    });
  });

  it('answers the framework’s other request errors (an empty JSON body) with 400 in each format', async () => {
    for (const name of edges.keys()) {
      const res = await edges.get(name)!.app.inject({
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': 'application/json' },
        payload: '',
      });
      assert.equal(res.statusCode, 400, name);
      const body = res.json<Record<string, unknown>>();
      if (name === 'kserve') assert.equal(typeof body.error, 'string');
      else assert.equal((body as OpenAIBody).error.type, 'invalid_request_error', name);
    }
  });

  it('gives every 429 and 503 a Retry-After, on every edge', async () => {
    for (const name of edges.keys()) {
      for (const [path, status] of [
        ['/queue-full', 429],
        ['/queue-full-bare', 429],
        ['/model-unavailable', 503],
        ['/unavailable', 503],
      ] as const) {
        const res = await get(name, path);
        assert.equal(res.statusCode, status, `${name} ${path}`);
        assert.equal(res.headers['retry-after'], '1', `${name} ${path}`);
      }
    }
  });

  it('keeps an error’s own Retry-After, once, however it is spelled', async () => {
    for (const name of edges.keys()) {
      assert.equal((await get(name, '/queue-full-own-wait')).headers['retry-after'], '7', name);
      const rawHeaders = (await get(name, '/queue-full-capitalised')).raw.res.getHeaders();
      assert.deepEqual(
        Object.entries(rawHeaders).filter(([k]) => k.toLowerCase() === 'retry-after'),
        [['retry-after', '1']],
        name,
      );
    }
  });

  it('sends no Retry-After on other errors', async () => {
    for (const name of edges.keys()) {
      for (const path of ['/runtime', '/bad-field', '/bug', '/nowhere']) {
        assert.equal((await get(name, path)).headers['retry-after'], undefined, `${name} ${path}`);
      }
    }
  });

  it('writes OpenAI’s default codes and the error’s own param and code', async () => {
    for (const name of ['openai', 'batch']) {
      const full = (await get(name, '/queue-full')).json<OpenAIBody>();
      assert.deepEqual(full.error, {
        message: 'queue is full',
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      });
      const unavailable = (await get(name, '/model-unavailable')).json<OpenAIBody>();
      assert.equal(unavailable.error.type, 'service_unavailable');
      const field = (await get(name, '/bad-field')).json<OpenAIBody>();
      assert.deepEqual(field.error, { message: 'bad n', type: 'invalid_request_error', param: 'n', code: 'invalid_n' });
    }
    assert.deepEqual((await get('kserve', '/bad-field')).json(), { error: 'bad n' });
  });

  it('answers an unknown failure with a 500 naming the request id, logged at error under that id', async () => {
    for (const [name, edge] of edges) {
      const res = await get(name, '/bug');
      assert.equal(res.statusCode, 500);
      const message = name === 'kserve' ? res.json<{ error: string }>().error : res.json<OpenAIBody>().error.message;
      const id = /^internal error \(request id (\S+)\)$/.exec(message)?.[1];
      assert.ok(id !== undefined, `${name}: ${message}`);
      const lines = edge.logs.filter((l) => l.reqId === id);
      assert.equal(lines.length, 1, name);
      assert.equal(lines[0]?.level, 50, name);
      assert.equal(lines[0]?.msg, 'unhandled error', name);
      assert.match(JSON.stringify(lines[0]?.err), /x is undefined/);
    }
  });

  it('logs a server-side InferdError at error level and a client error at info, naming the id in a 500', async () => {
    for (const [name, edge] of edges) {
      const res = await get(name, '/runtime');
      assert.equal(res.statusCode, 500);
      const message = name === 'kserve' ? res.json<{ error: string }>().error : res.json<OpenAIBody>().error.message;
      const id = /^onnxruntime failed \(request id (\S+)\)$/.exec(message)?.[1];
      assert.ok(id !== undefined, `${name}: ${message}`);
      const line = edge.logs.find((l) => l.reqId === id);
      assert.equal(line?.level, 50, name);
      assert.equal(line?.msg, 'onnxruntime failed', name);
      assert.equal(line?.code, 'INF_ERR_RUNTIME');

      await get(name, '/bad-field');
      const info = edge.logs.find((l) => l.msg === 'bad n');
      assert.equal(info?.level, 30, name);
      assert.equal(info?.code, 'INF_ERR_INVALID_ARGUMENT');
    }
  });

  it('answers an unknown route with 404 in the edge’s format', async () => {
    assert.deepEqual((await get('kserve', '/nowhere')).json(), { error: 'no route for GET /nowhere' });
    const openai = await get('batch', '/nowhere?x=1');
    assert.equal(openai.statusCode, 404);
    assert.deepEqual(openai.json<OpenAIBody>().error, {
      message: 'no route for GET /nowhere',
      type: 'not_found_error',
      param: null,
      code: null,
    });
  });
});
