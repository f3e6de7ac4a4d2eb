// SIGTERM (server.close()) loses nothing: answers larger than the socket buffers reach clients that
// read slowly, in full; a request whose body is still arriving is answered; during the drain delay
// readiness is false on every probe while new connections are still served; then the listener
// closes and idle keep-alive connections end with a FIN, not a reset. The drain delay and the grace
// period run on scripted timers, so nothing here waits on the wall clock.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { identityModel } from '../../../tools/examples/example-models.js';
import type { ShutdownTimers } from '../../../src/server.js';
import { makeRepository, removeRepository, startTestServer } from '../../helpers/test-server.js';
import { connect, unary } from '../grpc/grpc-client.js';
import { arrivedRequests, inferSlow, slowModel, waitFor } from '../repository/fixtures.js';

/** Sleeps that end only when the test says so, in the order they were asked for. */
class ScriptedTimers implements ShutdownTimers {
  readonly asked: number[] = [];
  private readonly waiting: (() => void)[] = [];
  private notify: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    this.asked.push(ms);
    this.notify?.();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once `count` sleeps have been asked for. */
  async asks(count: number): Promise<void> {
    while (this.asked.length < count) await new Promise<void>((resolve) => (this.notify = resolve));
  }

  /** Ends the `index`-th sleep (0-based). */
  end(index: number): void {
    this.waiting[index]?.();
  }
}

const VALUES = 400_000;

/** A JSON infer body of ~3.5 MB for identity_fp32: 400,000 floats in [1, VALUES]. */
function bigBody(seed: number): { body: string; values: number[] } {
  const values = Array.from({ length: VALUES }, (_, i) => ((i * 7919 + seed) % 100_000) / 7 + 0.5);
  const body = JSON.stringify({
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, VALUES], data: values }],
  });
  return { body, values };
}

interface Exchange {
  /** Resolves with the response once its headers arrived (the body is paused). */
  readonly headers: Promise<http.IncomingMessage>;
  /** Resumes reading and resolves with the whole body. */
  readAll(): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>;
}

/** POSTs a body on its own connection and pauses the response as soon as its headers arrive. */
function pausedPost(port: number, path: string, body: string): Exchange {
  let response: http.IncomingMessage | undefined;
  const headers = new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.pause();
        response = res;
        resolve(res);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  return {
    headers,
    async readAll() {
      const res = response ?? (await headers);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      await new Promise<void>((resolve, reject) => {
        res.on('end', resolve);
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.resume();
      });
      return { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers };
    },
  };
}

/** A GET on a fresh connection. */
function freshGet(port: number, path: string): Promise<{ status: number; text: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text,
          ...(res.headers.connection === undefined ? {} : { connection: res.headers.connection }),
        }),
      );
    });
    req.on('error', reject);
  });
}

describe('drain: every answer in full', () => {
  let repo = '';

  before(async () => {
    repo = await makeRepository([...identityModel('FP32'), ...slowModel('slow')]);
  });

  after(async () => {
    await removeRepository(repo);
  });

  it('delivers answers larger than the socket buffers to clients that read slowly', async () => {
    const timers = new ScriptedTimers();
    const server = await startTestServer({ modelRepository: repo }, { timers });
    try {
      const sent = [1, 2, 3, 4, 5, 6].map((seed) => bigBody(seed));
      const exchanges = sent.map(({ body }) => pausedPost(server.httpPort, '/v2/models/identity_fp32/infer', body));
      // Every answer has been produced and is being written when the signal comes.
      await Promise.all(exchanges.map((e) => e.headers));
      const closed = server.close();
      await timers.asks(1); // the grace period has started: the listener is closing
      const replies = await Promise.all(exchanges.map((e) => e.readAll()));
      for (const [i, reply] of replies.entries()) {
        assert.equal(reply.status, 200);
        assert.equal(reply.text.length, Number(reply.headers['content-length']), `answer ${i} is whole`);
        const parsed = JSON.parse(reply.text) as { outputs: { data: number[] }[] };
        const data = parsed.outputs[0]?.data ?? [];
        assert.equal(data.length, VALUES);
        assert.equal(data[VALUES - 1], Math.fround(sent[i]?.values[VALUES - 1] ?? NaN));
      }
      await closed;
      assert.ok(!server.logs.some((l) => l.msg === 'grace period over: closing the connections still open'));
    } finally {
      await server.close();
    }
  });

  it('answers a request whose body is still arriving when the signal comes', async () => {
    const timers = new ScriptedTimers();
    const server = await startTestServer({ modelRepository: repo }, { timers });
    try {
      const { body, values } = bigBody(9);
      const socket = net.connect(server.httpPort, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      const chunks: Buffer[] = [];
      const continued = new Promise<void>((resolve) =>
        socket.on('data', (c: Buffer) => {
          chunks.push(c);
          if (Buffer.concat(chunks).includes('100 Continue')) resolve();
        }),
      );
      const ended = new Promise<void>((resolve) => socket.once('end', resolve));
      const half = Math.floor(body.length / 2);
      // The server answers 100 Continue once it has read the headers: the request is in.
      socket.write(
        `POST /v2/models/identity_fp32/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `expect: 100-continue\r\ncontent-length: ${body.length}\r\n\r\n`,
      );
      await continued;
      socket.write(body.slice(0, half));
      const closed = server.close();
      await timers.asks(1);
      // (A client that half-closes would have its request aborted by Node: it keeps the socket open.)
      socket.write(body.slice(half));
      await ended; // the server closes the connection after the answer
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head, payload] = splitResponse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.match(head, /\r\nconnection: close\r\n/i);
      const data = (JSON.parse(payload) as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [];
      assert.equal(data.length, values.length);
      await closed;
    } finally {
      await server.close();
    }
  });

  it('stays reachable but unready for the drain delay, then stops accepting', async () => {
    const timers = new ScriptedTimers();
    const server = await startTestServer(
      { modelRepository: repo, drainDelaySeconds: 7, shutdownGraceSeconds: 11 },
      { timers },
    );
    const grpc = connect(server);
    try {
      // A keep-alive connection that is idle when the listener closes.
      const idle = net.connect(server.httpPort, '127.0.0.1');
      await new Promise<void>((resolve) => idle.once('connect', resolve));
      idle.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
      await new Promise<void>((resolve) => idle.once('data', () => resolve()));
      const idleEnd = new Promise<string>((resolve) => {
        idle.once('end', () => resolve('end'));
        idle.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });

      const closed = server.close();
      await timers.asks(1);
      assert.deepEqual(timers.asked, [7000], 'the drain delay is asked for first');

      assert.equal((await freshGet(server.httpPort, '/v2/health/ready')).status, 400);
      const ready = await freshGet(server.httpPort, '/ready');
      assert.deepEqual([ready.status, JSON.parse(ready.text)], [503, { status: 'draining' }]);
      assert.equal((await freshGet(server.httpPort, '/v2/health/live')).status, 200);
      assert.equal((await freshGet(server.httpPort, '/health')).status, 200);
      const health = await unary(grpc.health, 'Check', { service: '' });
      assert.equal(health.status, 'NOT_SERVING');
      const serverReady = await unary(grpc.inference, 'ServerReady', {});
      assert.equal(serverReady.ready, false);

      // New connections are still accepted and served, and told to go elsewhere next time.
      const served = await inferSlow(server.url, 'slow', 4);
      assert.equal(served.status, 200);
      const meta = await freshGet(server.httpPort, '/v2/models/slow');
      assert.equal(meta.status, 200);
      assert.equal(meta.connection, 'close');
      const grpcServed = await unary(grpc.inference, 'ModelInfer', {
        model_name: 'slow',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [2] } }],
      });
      assert.equal(grpcServed.model_name, 'slow');
      assert.equal(server.logs.filter((l) => l.msg?.toString().startsWith('shutting down')).length, 0);

      timers.end(0); // the drain delay is over
      await timers.asks(2);
      assert.deepEqual(timers.asked, [7000, 11_000], 'then the grace period');
      assert.equal(await idleEnd, 'end', 'the idle keep-alive connection got a FIN');
      await closed;
      await assert.rejects(freshGet(server.httpPort, '/v2/health/live'), { code: 'ECONNREFUSED' });
    } finally {
      grpc.close();
      await server.close();
    }
  });

  it('finishes a gRPC call in flight when the listener closes (GOAWAY)', async () => {
    const timers = new ScriptedTimers();
    const server = await startTestServer({ modelRepository: repo }, { timers });
    const grpc = connect(server);
    try {
      const call = unary(grpc.inference, 'ModelInfer', {
        model_name: 'slow',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [3] } }],
      });
      await waitFor(
        async () => (await arrivedRequests(server.url, { model: 'slow', version: '1' })) === 1,
        10_000,
        'the gRPC call to reach the server',
      );
      const closed = server.close();
      await timers.asks(1); // the listeners are closing
      const answer = await call;
      assert.equal(answer.model_name, 'slow');
      await closed;
    } finally {
      grpc.close();
      await server.close();
    }
  });

  it('cuts what still runs when the grace period ends, and says so', async () => {
    const timers = new ScriptedTimers();
    const server = await startTestServer({ modelRepository: repo }, { timers });
    try {
      const slow = Array.from({ length: 4 }, (_, i) => inferSlow(server.url, 'slow', i).catch((err: Error) => err));
      await waitFor(
        async () => (await arrivedRequests(server.url, { model: 'slow', version: '1' })) === 4,
        10_000,
        'four slow requests to reach the server',
      );
      const closed = server.close();
      await timers.asks(1);
      timers.end(0); // no time left
      await closed;
      const warning = server.logs.find((l) => l.msg === 'grace period over: closing the connections still open');
      assert.ok(warning !== undefined, 'the cut is logged');
      assert.ok(Number(warning.openConnections) >= 1);
      const outcomes = await Promise.all(slow);
      assert.ok(
        outcomes.some((o) => o instanceof Error),
        'a request still running when the grace period ended was cut',
      );
    } finally {
      await server.close();
    }
  });
});

function splitResponse(raw: string): [string, string] {
  const at = raw.indexOf('\r\n\r\n');
  return [raw.slice(0, at + 2), raw.slice(at + 4)];
}
