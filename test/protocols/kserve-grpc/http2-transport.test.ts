// The node:http2 transport's call life cycle, with handlers that hold their answer until the test
// lets go: a client's RST_STREAM cancels the call, a passed grpc-timeout ends it DEADLINE_EXCEEDED
// and cancels the work, and close() sends GOAWAY yet waits for the calls in flight to answer.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../../src/observability/logger.js';
import {
  serverStreamMethod,
  unaryMethod,
  type ServiceHandlers,
  type UnaryCallback,
} from '../../../src/protocols/kserve-grpc/grpc-call.js';
import type { GrpcTransport } from '../../../src/protocols/kserve-grpc/grpc-transport.js';
import { http2Transport } from '../../../src/protocols/kserve-grpc/http2-transport.js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';

type Answer = UnaryCallback<{ status: string }>;

interface Held {
  readonly answer: Answer;
  readonly cancelled: Promise<void>;
}

/** A Health service whose Check waits for the test: each call is handed over with its callback. */
function holdingHealth(): { arrived: () => Promise<Held>; handlers: ServiceHandlers } {
  const held: Held[] = [];
  const waiting: ((h: Held) => void)[] = [];
  return {
    arrived: () => {
      const next = held.shift();
      return next !== undefined ? Promise.resolve(next) : new Promise((resolve) => waiting.push(resolve));
    },
    handlers: {
      Check: unaryMethod<unknown, { status: string }>((call, answer) => {
        const cancelled = new Promise<void>((resolve) => call.onCancelled(resolve));
        const h = { answer, cancelled };
        const w = waiting.shift();
        if (w !== undefined) w(h);
        else held.push(h);
      }),
      Watch: serverStreamMethod(() => undefined),
    },
  };
}

// A broken cancellation would wait forever: the timeout turns that into a failure, it bounds no speed.
describe('the node:http2 transport', { timeout: 20_000 }, () => {
  let transport: GrpcTransport | undefined;
  let session: http2.ClientHttp2Session | undefined;
  afterEach(() => {
    session?.destroy();
    transport?.forceClose();
  });

  const start = async (): Promise<{
    arrived: () => Promise<Held>;
    call: (headers?: http2.OutgoingHttpHeaders) => Call;
  }> => {
    const protos = loadInferenceProtos();
    const health = holdingHealth();
    transport = http2Transport({
      services: [{ definition: protos.health.service, handlers: health.handlers }],
      logger: createLogger('silent'),
      maxMessageBytes: 1 << 20,
      maxConcurrentStreams: 128,
    });
    const port = await transport.listen('127.0.0.1', 0, undefined);
    const s = http2.connect(`http://127.0.0.1:${port}`);
    session = s;
    const body = protos.health.service.Check!.requestSerialize({ service: '' });
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    return {
      arrived: health.arrived,
      call: (headers = {}) => {
        const stream = s.request({
          ':method': 'POST',
          ':path': '/grpc.health.v1.Health/Check',
          'content-type': 'application/grpc',
          te: 'trailers',
          ...headers,
        });
        stream.end(frame);
        return new Call(stream);
      },
    };
  };

  it("cancels the call's work when the client resets the stream", async () => {
    const { arrived, call } = await start();
    const c = call();
    const held = await arrived();
    c.stream.close(http2.constants.NGHTTP2_CANCEL);
    await held.cancelled;
  });

  it('ends a call whose grpc-timeout passes with DEADLINE_EXCEEDED and cancels its work', async () => {
    const { arrived, call } = await start();
    const c = call({ 'grpc-timeout': '1n' });
    const held = await arrived();
    await held.cancelled;
    assert.equal((await c.status()).code, 4);
    // The late answer goes nowhere and breaks nothing.
    held.answer(null, { status: 'SERVING' });
  });

  it('sends GOAWAY on close yet answers the calls in flight before it resolves', async () => {
    const { arrived, call } = await start();
    const c = call();
    const held = await arrived();
    let closed = false;
    const goaway = new Promise<void>((resolve) => session?.once('goaway', () => resolve()));
    const closing = transport!.close().then(() => {
      closed = true;
    });
    await goaway;
    assert.equal(closed, false, 'close waits for the call in flight');
    held.answer(null, { status: 'SERVING' });
    assert.equal((await c.status()).code, 0);
    await closing;
    assert.equal(closed, true);
  });
});

class Call {
  private readonly ended: Promise<http2.IncomingHttpHeaders>;

  constructor(readonly stream: http2.ClientHttp2Stream) {
    this.ended = new Promise((resolve) => {
      let last: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => {
        last = h;
      });
      stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
        last = t;
      });
      stream.on('data', () => undefined);
      stream.on('close', () => resolve(last));
      stream.on('error', () => undefined);
    });
  }

  async status(): Promise<{ code: number }> {
    const headers = await this.ended;
    return { code: Number(headers['grpc-status']) };
  }
}
