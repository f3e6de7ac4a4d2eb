// What the HTTP listener holds, bounded: the request bytes in flight across every connection (a
// server-wide budget, reserved from each request's Content-Length before its body is read; a
// chunked body reserves its route's body limit), and the requests in flight on one connection
// (HTTP/1.1 pipelining: past the cap, further requests wait unprocessed and the socket stops
// reading, so a client that sends many requests and reads no answers holds at most that many
// answers in memory, as the WebSocket and gRPC edges already bound their streams).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { InferdError } from '../../errors/index.js';

/** Requests one HTTP/1.1 connection may have in progress before the rest wait (the WebSocket and gRPC streams' 64). */
export const DEFAULT_MAX_REQUESTS_PER_CONNECTION = 64;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

interface SocketState {
  active: number;
  readonly waiting: [IncomingMessage, ServerResponse][];
  paused: boolean;
}

/**
 * Puts a per-connection cap in front of the server's request listeners (fastify's): the listeners
 * registered when this is called run for at most `maxPerConnection` requests of a connection at a
 * time; the next waits until one is answered, and the socket stops reading meanwhile.
 */
export function limitRequestsPerConnection(server: Server, maxPerConnection: number): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const sockets = new WeakMap<Socket, SocketState>();
  const dispatch = (req: IncomingMessage, res: ServerResponse, state: SocketState): void => {
    state.active++;
    res.once('close', () => {
      state.active--;
      const next = state.waiting.shift();
      if (next !== undefined) dispatch(next[0], next[1], state);
      else if (state.paused && state.active < maxPerConnection) {
        state.paused = false;
        req.socket.resume();
      }
    });
    for (const listener of listeners) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let state = sockets.get(socket);
    if (state === undefined) {
      state = { active: 0, waiting: [], paused: false };
      sockets.set(socket, state);
    }
    if (state.active < maxPerConnection) {
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
    const declared = request.headers['content-length'];
    const chunked = request.headers['transfer-encoding'] !== undefined;
    let bytes = 0;
    if (declared !== undefined) bytes = Number(declared);
    else if (chunked) bytes = request.routeOptions.bodyLimit ?? budgetBytes;
    if (!Number.isFinite(bytes) || bytes <= 0) {
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
