// What the HTTP listener holds, bounded: the request bytes in flight across every connection (a
// server-wide budget, reserved from each request's Content-Length before its body is read; a
// chunked body reserves its route's body limit), and the requests in flight on one connection
// (HTTP/1.1 pipelining: past the cap, or while the connection's unsent answers pass a watermark,
// further requests wait unprocessed and the socket stops reading, so a client that sends many
// requests and reads no answers holds a bounded number of answers in memory).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
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

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

interface SocketState {
  active: number;
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
export function limitRequestsPerConnection(server: Server, maxPerConnection: number): void {
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
    state.active++;
    res.once('close', () => {
      state.active--;
      pump(req.socket, state);
    });
    for (const listener of listeners) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let state = sockets.get(socket);
    if (state === undefined) {
      state = { active: 0, waiting: [], paused: false, awaitingDrain: false };
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

/** Request bytes held across the listener, and how often the budget refused one. */
export interface BodyBudgetStats {
  readonly bytesInFlight: number;
  readonly refusals: number;
}

/**
 * A server-wide budget of request body bytes in flight. An onRequest hook (after access control:
 * only admitted callers spend it) reserves the declared Content-Length, or the route's body limit
 * for a chunked body, and releases it when the answer is sent; a request that does not fit is a
 * 503 with Retry-After before a byte of its body is read.
 */
export function installBodyBudget(app: FastifyInstance, budgetBytes: number): () => BodyBudgetStats {
  let inFlight = 0;
  let refusals = 0;
  app.addHook('onRequest', (request, reply, done) => {
    const chunked = request.headers['transfer-encoding'] !== undefined;
    const bytes = declaredLength(request) ?? (chunked ? (request.routeOptions.bodyLimit ?? budgetBytes) : 0);
    if (bytes <= 0) {
      done();
      return;
    }
    if (inFlight + bytes > budgetBytes) {
      refusals++;
      done(
        new InferdError(
          'INF_ERR_UNAVAILABLE',
          `the server is receiving ${inFlight} bytes of requests and this one's ${bytes} would pass its budget of ${budgetBytes} (--max-inflight-request-size); retry shortly`,
          { headers: { 'retry-after': '1' } },
        ),
      );
      return;
    }
    inFlight += bytes;
    let held = true;
    reply.raw.once('close', () => {
      if (held) inFlight -= bytes;
      held = false;
    });
    done();
  });
  return () => ({ bytesInFlight: inFlight, refusals });
}
