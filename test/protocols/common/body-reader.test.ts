// The body reader over a real HTTP exchange: a declared body arrives whole in one buffer of that
// size; a chunked one is joined; a body over the route's limit is a 413 with fastify's own code;
// the rest of the request path (Content-Length mismatches) is covered by the REST tests.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { readBody } from '../../../src/protocols/common/body-reader.js';

describe('readBody', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = Fastify({ bodyLimit: 1000 });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', readBody);
    app.setErrorHandler((err: { code?: string; statusCode?: number }, _req, reply) => {
      void reply.code(err.statusCode ?? 500).send({ code: err.code });
    });
    app.post('/echo', (req) => ({ length: (req.body as Buffer).length, text: (req.body as Buffer).toString() }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as net.AddressInfo).port;
  });
  after(() => app.close());

  const raw = (text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
      let out = '';
      socket.setEncoding('utf8').on('data', (d: string) => (out += d));
      socket.once('close', () => resolve(out));
      socket.once('error', reject);
    });

  it('reads a declared body whole, and a chunked one joined', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'hello world' });
    assert.deepEqual(await res.json(), { length: 11, text: 'hello world' });
    const chunked = await raw(
      'POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    );
    assert.match(chunked, /\{"length":11,"text":"hello world"\}/);
  });

  it('answers a body over the limit 413 with fastify’s code, declared or chunked', async () => {
    const declared = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(1001) });
    assert.equal(declared.status, 413);
    assert.deepEqual(await declared.json(), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    const chunk = 'y'.repeat(600);
    const chunked = await raw(
      `POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1\.1 413/);
  });
});
