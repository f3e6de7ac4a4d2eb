// Builds the KServe v2 gRPC server (inference.GRPCInferenceService and grpc.health.v1.Health) on
// @grpc/grpc-js, with message limits raised to the server's body size limit in both directions,
// and its graceful shutdown: stop taking calls, let streams finish their work, then close.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../observability/logger.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { ServerState } from '../common/server-state.js';
import type { ServingPath } from '../../experiments/serving.js';
import { accessInterceptor, checkServiceAccess, type GrpcAccessOptions } from './grpc-access.js';
import { feedbackHandlers, loadFeedbackProto } from './feedback-service.js';
import { healthService } from './health-service.js';
import type { Predictions } from '../../monitoring/predictions.js';
import { modelInferHandler, modelStreamInferHandler, type InferContext } from './infer-handlers.js';
import { loadInferenceProtos } from './proto-definitions.js';
import { serviceHandlers } from './service-handlers.js';

export interface GrpcServerOptions {
  readonly repository: ModelRepository;
  /** Names to versions (experiments included) and the request path's monitoring. */
  readonly serving: ServingPath;
  readonly logger: Logger;
  readonly server: ServerState;
  /** Largest message accepted or sent (--max-body-size); larger ones fail RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  readonly maxTensorBytes: number;
  /** Who may call what (every RPC of every service passes this interceptor); absent = no checks. */
  readonly access?: Omit<GrpcAccessOptions, 'logger'>;
  /** Counts each call that ends in an error, by its status name (INVALID_ARGUMENT, ...). */
  readonly countError?: (reason: string) => void;
  /** Delayed labels (inferd.v1.Feedback); absent = the service is not served. */
  readonly predictions?: Predictions;
}

/** Sees every call's status on its way out, access refusals included, and counts the errors. */
function errorCountInterceptor(count: (reason: string) => void): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        if (status.code !== grpc.status.OK) count(grpc.status[status.code] ?? String(status.code));
        next(status);
      },
    });
}

export interface GrpcEdge {
  /**
   * Binds host:port (0 = a free port) with the given credentials (TLS, or
   * `grpc.ServerCredentials.createInsecure()` for plaintext) and returns the bound port.
   */
  listen(host: string, port: number, credentials: grpc.ServerCredentials): Promise<number>;
  /** Stops accepting calls and resolves once the calls in flight (streams included) have finished. */
  drain(): Promise<void>;
  /** Cancels whatever is still running. */
  forceClose(): void;
  /** Health watchers hear the new status; call once the server has become ready. */
  readinessChanged(): void;
}

/** Open calls per gRPC connection (nginx's http2_max_concurrent_streams default is 128). */
export const GRPC_MAX_CONCURRENT_STREAMS = 128;

export function buildGrpcServer(options: GrpcServerOptions): GrpcEdge {
  // grpc-js writes its own errors to stderr as bare "E ..." lines (a failed bind, say); the server
  // reports those itself, so grpc-js's lines go to the log at debug level.
  grpc.setLogger({
    error: (...args: unknown[]) => options.logger.debug({ grpc: args.map(String).join(' ') }, 'grpc-js'),
  });
  const protos = loadInferenceProtos();
  const grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    // Channelz keeps per-call tracing for an admin service inferd does not expose.
    'grpc.enable_channelz': 0,
    // Calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; clients
    // queue the rest): without it a client that opens unary calls and reads no answers could make
    // the server hold answers without limit.
    'grpc.max_concurrent_streams': GRPC_MAX_CONCURRENT_STREAMS,
    interceptors: [
      ...(options.countError === undefined ? [] : [errorCountInterceptor(options.countError)]),
      ...(options.access === undefined ? [] : [accessInterceptor({ ...options.access, logger: options.logger })]),
    ],
  });
  let counter = 0;
  const prefix = `${process.pid.toString(36)}-g`;
  let closing = false;
  const ctx: InferContext = {
    repository: options.repository,
    server: options.server,
    logger: options.logger,
    maxTensorBytes: options.maxTensorBytes,
    serving: options.serving,
    nextRequestId: () => `${prefix}${(++counter).toString(36)}`,
    closing: () => closing,
    openStreams: new Set(),
  };
  const health = healthService(options.server);
  // Every RPC of every service declares its API group (grpc-access.ts) before it can be served.
  checkServiceAccess(protos.inference.service);
  checkServiceAccess(protos.health.service);
  grpcServer.addService(protos.inference.service, {
    ...serviceHandlers(ctx),
    ModelInfer: modelInferHandler(ctx),
    ModelStreamInfer: modelStreamInferHandler(ctx),
  });
  grpcServer.addService(protos.health.service, health.implementation);
  if (options.predictions !== undefined) {
    const feedback = loadFeedbackProto();
    checkServiceAccess(feedback.service);
    grpcServer.addService(feedback.service, feedbackHandlers(ctx, options.predictions));
  }

  return {
    listen(host, port, credentials) {
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise((resolve, reject) => {
        grpcServer.bindAsync(address, credentials, (err, bound) => (err === null ? resolve(bound) : reject(err)));
      });
    },
    drain() {
      closing = true;
      health.endWatches();
      // Streams with nothing in flight end now; the others end when their last response is written.
      for (const finishIfIdle of [...ctx.openStreams]) finishIfIdle();
      return new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
    },
    forceClose() {
      grpcServer.forceShutdown();
    },
    readinessChanged() {
      health.notifyWatchers();
    },
  };
}
