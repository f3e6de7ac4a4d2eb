// GET /v2/models/{m}[/versions/{v}]/infer/stream upgraded to a WebSocket: a stream of infer
// requests in the REST formats over one connection (docs/streaming.md). The model is resolved
// before the upgrade, so an unknown model is refused with the REST status and error body.

import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { ModelRepository } from '../../repository/model-repository.js';
import { InferStreamConnection } from './infer-stream-connection.js';
import { messageTooBig } from './stream-framing.js';
import type { UnsentAnswers } from '../common/request-gate.js';
import { requireKind } from '../../model-kinds/serving-kinds.js';
import type { IncomingMessage } from 'node:http';
import type { Routed } from '../../experiments/experiments.js';
import { VARIANT_HEADER } from '../../experiments/routing-headers.js';
import type { ServingPath } from '../../experiments/serving.js';

/** Requests one connection may have accepted and not yet answered before it stops reading. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 64;

/** The WebSocket close code for a message too big to process (RFC 6455 §7.4.1). */
const MESSAGE_TOO_BIG = 1009;

export interface InferStreamRouteOptions {
  readonly repository: ModelRepository;
  /** Names to versions (experiments included) and the request path's monitoring. */
  readonly serving: ServingPath;
  /** The server's --max-body-size, applied to each message. */
  readonly maxBodyBytes: number;
  readonly maxTensorBytes: number;
  readonly maxInFlight?: number;
  /** Where each connection's unsent replies are counted against the server's budget. */
  readonly unsent?: UnsentAnswers;
  /** Counts each error reply by its INF_ERR_* code. */
  readonly countError?: (reason: string) => void;
}

interface StreamParams {
  model: string;
  version?: string;
}

/**
 * ws closes a connection whose message is over maxPayload with 1009 but no reason; this socket's
 * close gives it one. (ws checks the length in the frame header, before buffering the payload.)
 */
function explainOversizeClose(socket: WebSocket, maxBytes: number): void {
  const close = socket.close.bind(socket);
  const reason = messageTooBig(maxBytes).message;
  socket.close = (code?: number, data?: string | Buffer): void =>
    close(code, code === MESSAGE_TOO_BIG && data === undefined ? reason : data);
}

export function registerInferStreamRoutes(app: FastifyInstance, options: InferStreamRouteOptions): void {
  const connections = new Set<InferStreamConnection>();
  const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT_PER_CONNECTION;

  void app.register(fastifyWebsocket, {
    options: { maxPayload: options.maxBodyBytes },
    errorHandler(error, socket, request) {
      // Protocol errors (an oversized message, a bad frame) are the client's; ws is already
      // closing the connection with the matching code. Anything else ends it at once.
      request.log.debug({ err: error }, 'websocket error');
      if (socket.readyState === socket.OPEN) socket.terminate();
    },
    // On shutdown each stream stops reading, finishes what it accepted and closes with 1001.
    preClose(done) {
      void Promise.allSettled([...connections].map((c) => c.shutdown())).then(() => done());
    },
  });

  /** An experiment's choice for each upgrading request: a stream stays on one variant. */
  const chosen = new WeakMap<FastifyRequest, Routed>();
  /** The same choice by the raw request, which is all ws's 'headers' event sees. */
  const chosenRaw = new WeakMap<IncomingMessage, Routed>();
  void app.register((scope, _opts, next) => {
    // The upgrade's 101 names the variant, as REST answers do (x-inferd-variant).
    scope.websocketServer.on('headers', (headers: string[], raw: IncomingMessage) => {
      const variant = chosenRaw.get(raw)?.variant;
      if (variant !== undefined) headers.push(`${VARIANT_HEADER}: ${variant.name}`);
    });
    // Throws the REST error (404 / 503 / 400, or 400 for a model that takes no tensors), which fastify's error handler answers before any upgrade.
    const resolveModel = (
      request: FastifyRequest<{ Params: StreamParams }>,
      _reply: FastifyReply,
      done: (err?: Error) => void,
    ): void => {
      const { model, version } = request.params;
      const experiments = options.serving.experiments;
      if (experiments.has(model)) {
        experiments
          .route(model, version, experiments.routingHeaderKey(model, request.headers))
          .then((routed) => {
            if (routed !== undefined) {
              requireKind(routed.mv, 'v2 infer');
              chosen.set(request, routed);
              chosenRaw.set(request.raw, routed);
            }
            done();
          })
          .catch((err: unknown) => done(err as Error));
        return;
      }
      try {
        requireKind(options.repository.resolve(model, version), 'v2 infer');
        done();
      } catch (err) {
        done(err as Error);
      }
    };
    const notUpgraded = async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      await reply
        .code(426)
        .header('upgrade', 'websocket')
        .type('application/json')
        .send(JSON.stringify({ error: 'this endpoint is a WebSocket: send a GET with Upgrade: websocket' }));
    };
    const open = (socket: WebSocket, request: FastifyRequest<{ Params: StreamParams }>): void => {
      explainOversizeClose(socket, options.maxBodyBytes);
      const connection = new InferStreamConnection(socket, {
        repository: options.repository,
        serving: options.serving,
        model: request.params.model,
        version: request.params.version,
        routed: chosen.get(request),
        maxTensorBytes: options.maxTensorBytes,
        maxInFlight,
        connectionId: String(request.id),
        log: request.log,
        ...(options.countError === undefined ? {} : { countError: options.countError }),
      });
      connections.add(connection);
      const untrack = options.unsent?.add(() => socket.bufferedAmount);
      request.log.debug({ model: request.params.model }, 'infer stream opened');
      socket.once('close', (code: number) => {
        untrack?.();
        connections.delete(connection);
        request.log.debug({ model: request.params.model, code }, 'infer stream closed');
      });
    };
    for (const url of ['/v2/models/:model/infer/stream', '/v2/models/:model/versions/:version/infer/stream']) {
      scope.route<{ Params: StreamParams }>({
        method: 'GET',
        url,
        preValidation: resolveModel,
        handler: notUpgraded,
        wsHandler: open,
      });
    }
    next();
  });
}
