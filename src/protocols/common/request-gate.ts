// What the HTTP listener holds, bounded: the request bytes in flight across every connection (a
// server-wide budget, reserved from each request's Content-Length, with what decoding it as JSON
// holds, before its body is read; a chunked body reserves its route's body limit), the answer
// bytes written and not yet read by their clients across every connection (past a budget, new
// requests are refused), and the requests in flight on one connection (HTTP/1.1 pipelining: past
// the cap, or while the connection's unsent answers pass a watermark, further requests wait
// unprocessed and the socket stops reading, so a client that sends many requests and reads no
// answers holds a bounded number of answers in memory).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InferdError } from '../../errors/index.js';
import { declaredLength } from './body-reader.js';

/**
 * Requests one HTTP/1.1 connection may have in progress before the rest wait. Answers on one
 * connection go out in order, so processing more pipelined requests at once gains little but
 * answers held in memory for a client that may not be reading.
 */
export const DEFAULT_MAX_REQUESTS_PER_CONNECTION = 8;

/** Answer bytes a connection may have waiting to be sent before its next request is processed. */
export const UNSENT_BYTES_WATERMARK = 4 * 1024 * 1024;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route holds its body as bytes and never parses it whole as JSON (charged once). */
    bodyAsBytes?: boolean;
  }
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

interface SocketState {
  active: number;
  /** Stops counting the connection's unsent answers (set while requests are active). */
  untrack: (() => void) | undefined;
  readonly waiting: [IncomingMessage, ServerResponse][];
  paused: boolean;
  awaitingDrain: boolean;
}

/**
 * Puts a per-connection bound in front of the server's request listeners (fastify's): the
 * listeners registered when this is called run for at most `maxPerConnection` requests of a
 * connection at a time, and not while the connection has more than UNSENT_BYTES_WATERMARK of
 * answers unsent (a client that does not read); the next request waits until both allow it, and
 * the socket stops reading meanwhile.
 */
export function limitRequestsPerConnection(server: Server, maxPerConnection: number, unsent?: UnsentAnswers): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const sockets = new WeakMap<Socket, SocketState>();
  const mayRun = (socket: Socket, state: SocketState): boolean =>
    state.active < maxPerConnection && (state.active === 0 || socket.writableLength < UNSENT_BYTES_WATERMARK);
  const pump = (socket: Socket, state: SocketState): void => {
    while (state.waiting.length > 0 && mayRun(socket, state)) {
      const next = state.waiting.shift();
      if (next !== undefined) dispatch(next[0], next[1], state);
    }
    if (state.waiting.length > 0) {
      // Held back by unsent answers: try again once the client has read them.
      if (!state.awaitingDrain && socket.writableLength >= UNSENT_BYTES_WATERMARK) {
        state.awaitingDrain = true;
        socket.once('drain', () => {
          state.awaitingDrain = false;
          pump(socket, state);
        });
      }
    } else if (state.paused) {
      state.paused = false;
      socket.resume();
    }
  };
  const dispatch = (req: IncomingMessage, res: ServerResponse, state: SocketState): void => {
    const socket = req.socket;
    // A connection's answers stay active until their last byte reaches the socket, so its unsent
    // bytes are counted while it has active requests.
    if (state.active++ === 0 && unsent !== undefined) state.untrack = unsent.add(() => socket.writableLength);
    res.once('close', () => {
      if (--state.active === 0) {
        state.untrack?.();
        state.untrack = undefined;
      }
      pump(req.socket, state);
    });
    for (const listener of listeners) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let state = sockets.get(socket);
    if (state === undefined) {
      state = { active: 0, untrack: undefined, waiting: [], paused: false, awaitingDrain: false };
      sockets.set(socket, state);
    }
    if (state.waiting.length === 0 && mayRun(socket, state)) {
      dispatch(req, res, state);
      return;
    }
    state.waiting.push([req, res]);
    if (!state.paused) {
      state.paused = true;
      socket.pause();
    }
  });
}

/**
 * What decoding a JSON body holds per byte of it, at worst: the bytes, their text, the parsed
 * values and the garbage collector's room. Short numbers are the worst case: V8 builds a parsed
 * array through a temporary copy, and a fraction like `0.5,` (4 bytes) takes 8 bytes or more as a
 * value. Measured with bench/flood.ts: one 60 MB body of such numbers took the server's RSS up by
 * 683 MiB (11.4 times). A body parsed as JSON is charged this many times its length; one whose
 * charge is over the whole budget is refused with 413 (it could never be admitted).
 */
export const JSON_DECODE_FACTOR = 12;

/** Answer bytes held in memory, waiting for clients to read them, summed over their sources. */
export class UnsentAnswers {
  private readonly sources = new Set<() => number>();

  /** Counts `source` (a connection's unsent bytes) until the returned function is called. */
  add(source: () => number): () => void {
    this.sources.add(source);
    return () => {
      this.sources.delete(source);
    };
  }

  bytes(): number {
    let total = 0;
    for (const source of this.sources) total += source();
    return total;
  }
}

/**
 * What a body of `bytes` bytes is charged: the bytes, and for a body parsed as JSON what decoding
 * it holds (only the JSON header of a binary-extension body, none for a route that keeps its body
 * as bytes).
 */
export function bodyCharge(request: FastifyRequest, bytes: number): number {
  if (bytes <= 0) return 0;
  if (request.routeOptions.config.bodyAsBytes === true) return bytes;
  // Triton's binary extension: only the JSON header in front of the tensor bytes is parsed.
  const header = Number(request.headers['inference-header-content-length']);
  const jsonBytes = Number.isSafeInteger(header) && header >= 0 && header <= bytes ? header : bytes;
  return bytes + jsonBytes * (JSON_DECODE_FACTOR - 1);
}

/**
 * The bytes a request is charged before its body is read: bodyCharge of its declared length. A
 * chunked body, whose size is unknown, is first charged its route's body limit as bytes; its
 * decoding is charged once it has arrived (ChargeSettler).
 */
export function requestCharge(request: FastifyRequest, budgetBytes: number): number {
  const declared = declaredLength(request);
  if (declared !== undefined) return bodyCharge(request, declared);
  return request.headers['transfer-encoding'] !== undefined ? (request.routeOptions.bodyLimit ?? budgetBytes) : 0;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set by the memory gate on a chunked request: the body reader calls it with the length that
     * arrived, before the body is used, and fails the request with the error it returns (the
     * body's decoding does not fit the budget).
     */
    settleCharge: ((length: number) => Error | undefined) | undefined;
  }
}

/** What the memory gate holds and how often it refused. */
export interface MemoryGateStats {
  /** Request bytes charged (received or being received, and their decoding). */
  readonly bytesInFlight: number;
  readonly refusals: number;
  /** Answer bytes written and not yet read by their clients, over every connection. */
  readonly unsentBytes: number;
  readonly unsentRefusals: number;
}

export interface MemoryGateOptions {
  /** Request bytes the listener may hold at once (--max-inflight-request-size). */
  readonly requestBudget: number;
  /** Unsent answer bytes past which new requests are refused (--max-unsent-response-size), and their sources. */
  readonly unsent?: { readonly budget: number; readonly answers: UnsentAnswers };
}

const retryShortly = { headers: { 'retry-after': '1' } };

/**
 * A server-wide bound of what requests make the server hold. An onRequest hook (after access
 * control: only admitted callers spend it) reserves each request's charge (requestCharge: its
 * declared length, with its decoding when it is JSON) and releases it when the answer is sent; a
 * request that does not fit is a 503 with Retry-After before a byte of its body is read. While
 * clients leave more than the unsent budget of answers unread, inference and batch API requests
 * are refused the same way (health, metadata, statistics and metrics still answer), so clients
 * that do not read cannot make the server hold ever more answers for them.
 */
export function installMemoryGate(app: FastifyInstance, options: MemoryGateOptions): () => MemoryGateStats {
  const budgetBytes = options.requestBudget;
  let inFlight = 0;
  let refusals = 0;
  let unsentRefusals = 0;
  /** Why `bytes` cannot be held now (`own`: what the request holds already), or undefined when it can. */
  const refusal = (request: FastifyRequest, bytes: number, own: number): InferdError | undefined => {
    if (bytes > budgetBytes) {
      // Could never be admitted, so it is refused for good rather than asked to retry.
      refusals++;
      const length = declaredLength(request);
      return new InferdError(
        'INF_ERR_BODY_TOO_LARGE',
        `decoding this ${length === undefined ? 'chunked' : `${length}-byte`} JSON body would hold about ${bytes} bytes, more than the server's budget of ${budgetBytes} (--max-inflight-request-size); send large tensors in the binary format (Inference-Header-Content-Length) or raise the budget`,
      );
    }
    if (inFlight - own + bytes > budgetBytes) {
      refusals++;
      return new InferdError(
        'INF_ERR_UNAVAILABLE',
        `the server holds ${inFlight - own} bytes of requests and this one needs ${bytes} (its body, and its decoding when it is JSON), past its budget of ${budgetBytes} (--max-inflight-request-size); retry shortly`,
        retryShortly,
      );
    }
    return undefined;
  };
  app.decorateRequest('settleCharge', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    if (options.unsent !== undefined) {
      // Only the requests whose answers can be large: inference and the batch API (file downloads).
      const group = request.routeOptions.config.access?.group;
      if (group === 'inference' || group === 'batch') {
        const unsent = options.unsent.answers.bytes();
        if (unsent > options.unsent.budget) {
          unsentRefusals++;
          done(
            new InferdError(
              'INF_ERR_UNAVAILABLE',
              `the server holds ${unsent} bytes of answers its clients have not read, past its budget of ${options.unsent.budget} (--max-unsent-response-size); retry shortly`,
              retryShortly,
            ),
          );
          return;
        }
      }
    }
    const bytes = requestCharge(request, budgetBytes);
    if (bytes <= 0) {
      done();
      return;
    }
    const refused = refusal(request, bytes, 0);
    if (refused !== undefined) {
      done(refused);
      return;
    }
    let held = bytes;
    inFlight += held;
    reply.raw.once('close', () => {
      inFlight -= held;
      held = 0;
    });
    if (declaredLength(request) === undefined)
      request.settleCharge = (length) => {
        const needed = bodyCharge(request, length);
        if (needed <= held) {
          // Less than the route's limit arrived: the rest of the reservation goes back.
          inFlight -= held - needed;
          held = needed;
          return undefined;
        }
        const err = refusal(request, needed, held);
        if (err === undefined) {
          inFlight += needed - held;
          held = needed;
        }
        return err;
      };
    done();
  });
  return () => ({
    bytesInFlight: inFlight,
    refusals,
    unsentBytes: options.unsent?.answers.bytes() ?? 0,
    unsentRefusals,
  });
}
