// The per-connection cap over a real socket: a client pipelining many requests has at most the cap
// of them processed at once; the rest wait unprocessed (the socket stops reading) and run in
// order as answers go out. Another connection is not held up by the first.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import {
  JSON_DECODE_FACTOR,
  limitRequestsPerConnection,
  requestCharge,
  UnsentAnswers,
} from '../../../src/protocols/common/request-gate.js';

describe('limitRequestsPerConnection', () => {
  let server: http.Server;
  let port: number;
  const held: { url: string; res: http.ServerResponse }[] = [];
  let waiter: (() => void) | undefined;

  /** Resolves once `n` requests are being processed. */
  const processing = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (held.length >= n) resolve();
        else waiter = check;
      };
      check();
    });

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/other') {
        res.end('other');
        return;
      }
      held.push({ url: req.url ?? '', res });
      const w = waiter;
      waiter = undefined;
      w?.();
    });
    limitRequestsPerConnection(server, 2);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('processes two of six pipelined requests, then one more per answer, in order', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (d: string) => (received += d));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(Array.from({ length: 6 }, (_, i) => `GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await processing(2);
    // A second connection is served although the first has four waiting.
    const other = await fetch(`http://127.0.0.1:${port}/other`);
    assert.equal(await other.text(), 'other');
    assert.deepEqual(
      held.map((h) => h.url).filter((u) => u.startsWith('/r')),
      ['/r0', '/r1'],
      'only the cap is processed',
    );
    for (let answered = 0; answered < 6; answered++) {
      const next = held.find((h) => h.url === `/r${answered}`);
      assert.ok(next !== undefined, `/r${answered} is being processed`);
      next.res.end(`answer ${answered}`);
      if (answered + 2 < 6) await processing(held.filter((h) => h.url.startsWith('/r')).length + 1);
      const inFlight = held.filter((h) => h.url.startsWith('/r') && !h.res.writableEnded).length;
      assert.ok(inFlight <= 2, `${inFlight} in progress`);
    }
    await new Promise<void>((resolve) => {
      const check = (): void => (received.includes('answer 5') ? resolve() : void socket.once('data', check));
      check();
    });
    assert.deepEqual(
      [...received.matchAll(/answer (\d)/g)].map((m) => m[1]),
      ['0', '1', '2', '3', '4', '5'],
    );
    socket.destroy();
  });
});

describe('a client that does not read its answers', () => {
  it('gets its next pipelined request processed only once it has read what is unsent', async () => {
    const handled: string[] = [];
    const big = Buffer.alloc(8 * 1024 * 1024, 97);
    const server = http.createServer((req, res) => {
      handled.push(req.url ?? '');
      res.end(big);
    });
    limitRequestsPerConnection(server, 8);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause(); // reads nothing
    const answered = new Promise<void>((resolve) => {
      const poll = (): void => (handled.length >= 1 ? resolve() : void setImmediate(poll));
      poll();
    });
    socket.write(Array.from({ length: 4 }, (_, i) => `GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await answered;
    // The first answer (8 MiB) sits unsent: the next requests wait, however long the client waits.
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(handled, ['/r0']);
    // The client reads: the rest are processed, in order.
    let received = 0;
    const all = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= 4 * big.length) resolve();
      }),
    );
    socket.resume();
    await all;
    assert.deepEqual(handled, ['/r0', '/r1', '/r2', '/r3']);
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('requestCharge', () => {
  const MiB = 1024 * 1024;
  const request = (headers: Record<string, string>, config: { bodyAsBytes?: boolean } = {}): FastifyRequest =>
    ({ headers, routeOptions: { bodyLimit: 64 * MiB, config } }) as unknown as FastifyRequest;

  it('charges a JSON body JSON_DECODE_FACTOR times its length: the bytes, their text and the parsed values', () => {
    assert.equal(JSON_DECODE_FACTOR, 12);
    assert.equal(requestCharge(request({ 'content-length': '1000' }), 512 * MiB), 12000);
    // The content type does not matter: a v2 infer body is parsed as JSON whatever it says.
    assert.equal(
      requestCharge(request({ 'content-length': '1000', 'content-type': 'application/octet-stream' }), 512 * MiB),
      12000,
    );
  });

  it('charges only the JSON header of a binary-extension body as JSON', () => {
    const charge = requestCharge(
      request({ 'content-length': '100000', 'inference-header-content-length': '200' }),
      512 * MiB,
    );
    assert.equal(charge, 100000 + 11 * 200);
    // A header length past the body is not believed: the whole body is charged as JSON.
    assert.equal(
      requestCharge(request({ 'content-length': '100', 'inference-header-content-length': '900' }), 512 * MiB),
      1200,
    );
  });

  it('charges a body the route holds as bytes once, a chunked one its route limit, none without a body', () => {
    assert.equal(requestCharge(request({ 'content-length': '1000' }, { bodyAsBytes: true }), 512 * MiB), 1000);
    assert.equal(
      requestCharge(request({ 'transfer-encoding': 'chunked' }, { bodyAsBytes: true }), 512 * MiB),
      64 * MiB,
    );
    assert.equal(requestCharge(request({}), 512 * MiB), 0);
  });

  it('charges what decoding holds even past the budget (the gate then refuses it for good)', () => {
    assert.equal(requestCharge(request({ 'content-length': String(64 * MiB) }), 100 * MiB), 12 * 64 * MiB);
  });
});

describe('UnsentAnswers', () => {
  it('sums its sources until each is removed', () => {
    const unsent = new UnsentAnswers();
    let a = 10;
    const removeA = unsent.add(() => a);
    const removeB = unsent.add(() => 5);
    assert.equal(unsent.bytes(), 15);
    a = 100;
    assert.equal(unsent.bytes(), 105, 'read when asked, not when added');
    removeA();
    assert.equal(unsent.bytes(), 5);
    removeB();
    assert.equal(unsent.bytes(), 0);
  });

  it('counts a connection while it has requests active, with its socket buffer', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    const unsent = new UnsentAnswers();
    const server = http.createServer((_req, res) => res.end(big));
    limitRequestsPerConnection(server, 8, unsent);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // The kernel takes part of the 8 MiB; the rest waits in the socket's buffer, counted.
    while (unsent.bytes() === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.ok(unsent.bytes() > 0 && unsent.bytes() <= big.length + 1024, `${unsent.bytes()} bytes unsent`);
    socket.destroy();
    while (unsent.bytes() > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(unsent.bytes(), 0, 'a closed connection is no longer counted');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
