// The gRPC services on Node's own node:http2 (`--grpc-server http2`, the default): gRPC over
// HTTP/2 as grpc/grpc doc/PROTOCOL-HTTP2.md has it, with only the work a call needs. Each stream
// is one call: its path picks the method (else UNIMPLEMENTED), a content-type other than
// application/grpc* is HTTP 415, grpc-timeout sets a deadline (DEADLINE_EXCEEDED, the work
// cancelled), RST_STREAM from the client cancels the work, gzip/deflate messages are inflated, a
// message over the limit is RESOURCE_EXHAUSTED, and every status goes out in trailers (or as a
// trailers-only response when nothing was sent). @grpc/grpc-js does the same with per-call
// objects, interceptor chains and stream wrappers that cost more than the protocol does
// (docs/grpc.md has the profile); its codecs (protobufjs through proto-loader) are kept.

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { secureContextOptions } from '../../security/tls.js';
import type { CallAccess } from './grpc-access.js';
import type { BidiCall, CallMetadata, CallStatus, MethodHandler, ServerStreamCall, UnaryCall } from './grpc-call.js';
import {
  ACCEPTED_ENCODINGS,
  encodeGrpcMessage,
  framePrefix,
  frameMessage,
  GrpcCallError,
  GrpcFrameReader,
  messageBytes,
  parseGrpcTimeout,
} from './grpc-framing.js';
import { GRPC_STATUS } from './grpc-status.js';
import { methodsOf, type GrpcTransport, type GrpcTransportOptions } from './grpc-transport.js';

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An unknown method's call never answers with a message. */
const nothingToSerialize = (): Buffer => Buffer.alloc(0);

/** Messages at most this large are framed with one copy; larger ones are written after their prefix. */
const COPY_FRAME_BYTES = 64 * 1024;

const STATUS_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries({
    OK: 0,
    CANCELLED: 1,
    UNKNOWN: 2,
    INVALID_ARGUMENT: 3,
    DEADLINE_EXCEEDED: 4,
    NOT_FOUND: 5,
    ALREADY_EXISTS: 6,
    PERMISSION_DENIED: 7,
    RESOURCE_EXHAUSTED: 8,
    FAILED_PRECONDITION: 9,
    ABORTED: 10,
    OUT_OF_RANGE: 11,
    UNIMPLEMENTED: 12,
    INTERNAL: 13,
    UNAVAILABLE: 14,
    DATA_LOSS: 15,
    UNAUTHENTICATED: 16,
  }).map(([name, code]) => [code, name]),
);

/** Headers that carry the protocol, not the application's metadata. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'te',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'accept-encoding',
]);

interface Route {
  readonly method: grpc.MethodDefinition<unknown, unknown>;
  readonly handler: MethodHandler;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** One header as metadata: the first value, `-bin` values base64-decoded; protocol headers are not metadata. */
function metadataValue(key: string, value: string | string[] | undefined): string | Buffer | undefined {
  if (key.startsWith(':') || RESERVED_HEADERS.has(key)) return undefined;
  const first = headerText(value);
  if (first === undefined) return undefined;
  return key.endsWith('-bin') ? Buffer.from(first, 'base64') : first;
}

/** The request headers as call metadata; a lookup reads the one header, the map is built on demand. */
function metadataOf(headers: http2.IncomingHttpHeaders): CallMetadata {
  return {
    get: (key) => metadataValue(key, headers[key]),
    getMap: () => {
      const map: Record<string, string | Buffer> = {};
      for (const [key, value] of Object.entries(headers)) {
        const v = metadataValue(key, value);
        if (v !== undefined) map[key] = v;
      }
      return map;
    },
  };
}

/** One call on one HTTP/2 stream: what it has sent, its deadline, its cancellation. */
class Http2Call {
  /** True once the status went out or the stream closed: nothing more is written. */
  finished = false;
  private headersSent = false;
  private trailers: http2.OutgoingHttpHeaders = {};
  private readonly cancelListeners: (() => void)[] = [];
  private deadlineTimer: NodeJS.Timeout | undefined;
  readonly deadlineMs: number | undefined;
  readonly metadata: CallMetadata;
  access: CallAccess | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    private readonly serialize: (message: unknown) => Buffer,
    private readonly options: GrpcTransportOptions,
  ) {
    this.metadata = metadataOf(headers);
    const timeout = headerText(headers['grpc-timeout']);
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout);
      this.deadlineMs = Date.now() + ms;
      // A timer longer than setTimeout's range (about 24.8 days) would fire at once; such a
      // deadline is as good as none for the timer, and the handlers still see it.
      if (ms <= MAX_TIMER_MS)
        this.deadlineTimer = setTimeout(() => {
          this.sendStatus({ code: GRPC_STATUS.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
          this.cancelled();
        }, ms);
    }
    stream.on('close', () => {
      if (this.finished) return;
      this.finished = true;
      this.access?.cancelled();
      this.cancelled();
    });
    stream.on('wantTrailers', () => {
      stream.sendTrailers(this.trailers);
    });
  }

  /** The stream was reset or closed under the call: nothing can be sent on it. */
  private gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  onCancelled(listener: () => void): void {
    this.cancelListeners.push(listener);
  }

  private cancelled(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    for (const listener of this.cancelListeners.splice(0)) listener();
  }

  private respond(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        'grpc-encoding': 'identity',
        'grpc-accept-encoding': ACCEPTED_ENCODINGS,
      },
      { waitForTrailers: true },
    );
  }

  /** The response message as its frame, or undefined (the call ended RESOURCE_EXHAUSTED) when too large. */
  private frame(message: unknown): Buffer[] | undefined {
    let body: Buffer;
    try {
      body = this.serialize(message);
    } catch (err) {
      this.options.logger.error({ err }, 'gRPC response could not be serialized');
      this.sendStatus({ code: GRPC_STATUS.INTERNAL, details: 'Error serializing response' });
      return undefined;
    }
    if (body.length > this.options.maxMessageBytes) {
      this.sendStatus({
        code: GRPC_STATUS.RESOURCE_EXHAUSTED,
        details: `Sent message larger than max (${body.length} vs. ${this.options.maxMessageBytes})`,
      });
      return undefined;
    }
    return body.length <= COPY_FRAME_BYTES ? [frameMessage(body)] : [framePrefix(body.length), body];
  }

  /** Writes one message; `flushed` runs once HTTP/2 has taken it. */
  write(message: unknown, flushed?: () => void): void {
    if (this.finished || this.gone()) return;
    const parts = this.frame(message);
    if (parts === undefined) return;
    this.respond();
    const last = parts.length - 1;
    parts.forEach((part, i) => this.stream.write(part, i === last ? flushed : undefined));
  }

  /** The unary answer: headers, the message and the OK trailers in one go. */
  answer(message: unknown): void {
    if (this.finished || this.gone()) return;
    const parts = this.frame(message);
    if (parts === undefined) return;
    this.respond();
    this.finish({ code: GRPC_STATUS.OK, details: '' });
    for (const part of parts.slice(0, -1)) this.stream.write(part);
    this.stream.end(parts[parts.length - 1]);
  }

  /** Ends the call with the status: in trailers after a response, else as a trailers-only response. */
  sendStatus(status: CallStatus): void {
    if (this.finished || this.gone()) return;
    if (this.headersSent) {
      this.finish(status);
      this.stream.end();
      return;
    }
    this.finish(status);
    this.stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        ...this.trailers,
      },
      { endStream: true },
    );
  }

  /** A refusal of the access gate: the gate has accounted for it already. */
  refuse(status: CallStatus): void {
    this.access = undefined;
    this.sendStatus(status);
  }

  private finish(status: CallStatus): void {
    this.finished = true;
    // What the client still sends is read and dropped, so the stream can close.
    this.stream.resume();
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.trailers = {
      ...status.trailers,
      'grpc-status': String(status.code),
      ...(status.details === '' ? {} : { 'grpc-message': encodeGrpcMessage(status.details) }),
    };
    this.access?.finished(status.code);
    if (status.code !== GRPC_STATUS.OK) this.options.countError?.(STATUS_NAMES.get(status.code) ?? String(status.code));
  }
}

/**
 * Reads a call's request messages: decoded, checked by the access gate, delivered in order while
 * not paused (a paused call stops reading the stream, so HTTP/2 flow control reaches the client).
 */
class MessageQueue {
  private readonly queue: unknown[] = [];
  private ended = false;
  private paused = false;
  private endDelivered = false;
  private readonly reader: GrpcFrameReader;
  private readonly encoding: string;
  onMessage: ((message: unknown) => void) | undefined;
  onEnd: (() => void) | undefined;

  constructor(
    private readonly call: Http2Call,
    headers: http2.IncomingHttpHeaders,
    private readonly route: Route,
    private readonly maxMessageBytes: number,
  ) {
    this.reader = new GrpcFrameReader(maxMessageBytes);
    this.encoding = headerText(headers['grpc-encoding']) ?? 'identity';
    call.stream.on('data', (chunk: Buffer) => this.received(chunk));
    call.stream.on('end', () => {
      this.ended = true;
      this.deliver();
    });
  }

  private received(chunk: Buffer): void {
    if (this.call.finished) return;
    try {
      for (const frame of this.reader.push(chunk)) {
        const bytes = messageBytes(frame, this.encoding, this.maxMessageBytes);
        let message: unknown;
        try {
          message = this.route.method.requestDeserialize(bytes);
        } catch {
          throw new GrpcCallError({ code: GRPC_STATUS.INTERNAL, details: 'Error deserializing request' });
        }
        const refusal = this.call.access?.admitMessage(message);
        if (refusal !== undefined) {
          this.call.refuse(refusal);
          return;
        }
        this.queue.push(message);
      }
    } catch (err) {
      if (!(err instanceof GrpcCallError)) throw err;
      this.call.sendStatus(err.status);
      this.call.stream.resume();
      return;
    }
    this.deliver();
  }

  deliver(): void {
    while (!this.paused && !this.call.finished && this.queue.length > 0) this.onMessage?.(this.queue.shift());
    if (this.ended && this.queue.length === 0 && !this.endDelivered && !this.call.finished) {
      if (this.reader.pendingBytes > 0) {
        this.call.sendStatus({ code: GRPC_STATUS.INTERNAL, details: 'The request ended inside a message' });
        return;
      }
      this.endDelivered = true;
      this.onEnd?.();
    }
  }

  pause(): void {
    this.paused = true;
    this.call.stream.pause();
  }

  resume(): void {
    this.paused = false;
    this.call.stream.resume();
    this.deliver();
  }

  isPaused(): boolean {
    return this.paused;
  }
}

/** Unary and server-streaming calls take exactly one request message, run at the client's half-close. */
function singleRequest(call: Http2Call, queue: MessageQueue, run: (request: unknown) => void): void {
  let request: unknown;
  let received = false;
  queue.onMessage = (message) => {
    if (received) {
      call.sendStatus({
        code: GRPC_STATUS.UNIMPLEMENTED,
        details: 'Received a second request message for a method that takes one',
      });
      return;
    }
    received = true;
    request = message;
  };
  queue.onEnd = () => {
    if (!received) {
      call.sendStatus({ code: GRPC_STATUS.UNIMPLEMENTED, details: 'The request ended before its message' });
      return;
    }
    run(request);
  };
}

function dispatch(call: Http2Call, queue: MessageQueue, handler: MethodHandler): void {
  switch (handler.kind) {
    case 'unary':
      singleRequest(call, queue, (request) => {
        const view: UnaryCall<unknown> = {
          request,
          metadata: call.metadata,
          deadlineMs: call.deadlineMs,
          onCancelled: (listener) => call.onCancelled(listener),
        };
        handler.handle(view as UnaryCall<never>, (failure, response) => {
          if (failure === null) call.answer(response);
          else call.sendStatus(failure);
        });
      });
      return;
    case 'server-stream':
      singleRequest(call, queue, (request) => {
        const view: ServerStreamCall<unknown, unknown> = {
          request,
          metadata: call.metadata,
          deadlineMs: call.deadlineMs,
          onCancelled: (listener) => call.onCancelled(listener),
          write: (message) => call.write(message),
          end: () => call.sendStatus({ code: GRPC_STATUS.OK, details: '' }),
        };
        handler.handle(view as ServerStreamCall<never, unknown>);
      });
      return;
    case 'bidi': {
      const view: BidiCall<unknown, unknown> = {
        metadata: call.metadata,
        deadlineMs: call.deadlineMs,
        onCancelled: (listener) => call.onCancelled(listener),
        onMessage: (listener) => {
          queue.onMessage = listener;
          queue.deliver();
        },
        onEnd: (listener) => {
          queue.onEnd = listener;
          queue.deliver();
        },
        write: (message, flushed) => call.write(message, flushed),
        end: () => call.sendStatus({ code: GRPC_STATUS.OK, details: '' }),
        pause: () => queue.pause(),
        resume: () => queue.resume(),
        isPaused: () => queue.isPaused(),
      };
      handler.handle(view as BidiCall<never, unknown>);
      return;
    }
  }
}

/** The client's address as grpc-js names peers ("ipv4:1.2.3.4:5678", "ipv6:[::1]:5678"), once per connection. */
const peers = new WeakMap<http2.Http2Session, string>();
function peerOf(stream: http2.ServerHttp2Stream): string {
  const session = stream.session;
  const known = session === undefined ? undefined : peers.get(session);
  if (known !== undefined) return known;
  const socket = session?.socket;
  const address = socket?.remoteAddress ?? '';
  const port = socket?.remotePort ?? 0;
  const peer = address.includes(':') ? `ipv6:[${address}]:${port}` : `ipv4:${address}:${port}`;
  if (session !== undefined) peers.set(session, peer);
  return peer;
}

export function http2Transport(options: GrpcTransportOptions): GrpcTransport {
  const routes = new Map<string, Route>();
  for (const service of options.services)
    for (const { path, method, name } of methodsOf(service)) {
      const handler = service.handlers[name];
      if (handler !== undefined) routes.set(path, { method, handler });
    }
  const sessions = new Set<http2.ServerHttp2Session>();
  let server: http2.Http2Server | http2.Http2SecureServer | undefined;
  let closed: Promise<void> | undefined;

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    // A stream error (a reset mid-write) is followed by 'close', which cancels the call.
    stream.on('error', () => undefined);
    const contentType = headerText(headers['content-type']);
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      // PROTOCOL-HTTP2.md: a request that is not gRPC gets an HTTP status, 415 for the content type.
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = headerText(headers[':path']) ?? '';
    const route = routes.get(path);
    let call: Http2Call;
    try {
      call = new Http2Call(stream, headers, route?.method.responseSerialize ?? nothingToSerialize, options);
    } catch (err) {
      if (!(err instanceof GrpcCallError)) throw err;
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc+proto',
          'grpc-status': String(err.status.code),
          'grpc-message': encodeGrpcMessage(err.status.details),
        },
        { endStream: true },
      );
      options.countError?.(STATUS_NAMES.get(err.status.code) ?? String(err.status.code));
      return;
    }
    if (route === undefined) {
      call.sendStatus({
        code: GRPC_STATUS.UNIMPLEMENTED,
        details: `The server does not implement the method ${path}`,
      });
      stream.resume();
      return;
    }
    const queue = new MessageQueue(call, headers, route, options.maxMessageBytes);
    if (options.access !== undefined) {
      const access = options.access(path, peerOf(stream));
      const refusal = access.admitMetadata(call.metadata);
      if (refusal !== undefined) {
        call.refuse(refusal);
        stream.resume();
        return;
      }
      call.access = access;
    }
    dispatch(call, queue, route.handler);
  };

  const settings: http2.Settings = { maxConcurrentStreams: options.maxConcurrentStreams };
  // Node's default session memory cap (10 MB) makes nghttp2 refuse streams while large tensors are
  // in flight, and its behaviour once reached is poor (grpc-js lifts it for the same reason); the
  // message limit, the stream cap and the handlers' unsent-bytes watermark bound what a connection
  // holds instead.
  const maxSessionMemory = Number.MAX_SAFE_INTEGER;
  const track = (session: http2.ServerHttp2Session): void => {
    sessions.add(session);
    session.on('error', () => undefined);
    session.once('close', () => sessions.delete(session));
    if (closed !== undefined) session.close();
  };

  return {
    listen(host, port, tls) {
      const created =
        tls === undefined
          ? http2.createServer({ settings, maxSessionMemory })
          : http2.createSecureServer({
              settings,
              maxSessionMemory,
              ...secureContextOptions(tls.material),
              ...(tls.mutual ? { requestCert: true, rejectUnauthorized: true } : {}),
            });
      if (tls !== undefined) tls.keepCurrent(created);
      created.on('stream', onStream);
      created.on('session', track);
      server = created;
      return new Promise((resolve, reject) => {
        created.once('error', reject);
        created.listen(port, host, () => {
          created.off('error', reject);
          resolve((created.address() as AddressInfo).port);
        });
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (server === undefined || !server.listening) {
          resolve();
          return;
        }
        // GOAWAY on each connection: clients open no new calls there, and a session closes
        // once its calls in flight (streams included) have ended.
        server.close(() => resolve());
        for (const session of sessions) session.close();
      });
      return closed;
    },
    forceClose() {
      for (const session of sessions) session.destroy();
      sessions.clear();
      if (server?.listening === true) server.close();
    },
  };
}
