// Builds the KServe v2 gRPC server (inference.GRPCInferenceService, grpc.health.v1.Health and,
// with predictions, inferd.v1.Feedback) on the chosen transport (node:http2 or @grpc/grpc-js),
// with message limits at the server's body size limit in both directions, and its graceful
// shutdown: stop taking calls, let streams finish their work, then close.

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../observability/logger.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { TlsFileWatcher } from '../../security/tls.js';
import type { ServerState } from '../common/server-state.js';
import type { ServingPath } from '../../experiments/serving.js';
import { accessGate, checkServiceAccess, type GrpcAccessOptions } from './grpc-access.js';
import { feedbackHandlers, loadFeedbackProto } from './feedback-service.js';
import { grpcJsTransport } from './grpc-js-transport.js';
import type { GrpcService, GrpcTransport, GrpcTransportOptions } from './grpc-transport.js';
import { healthService } from './health-service.js';
import { http2Transport } from './http2-transport.js';
import type { Predictions } from '../../monitoring/predictions.js';
import { decodeModelInferRequestMessage, encodeModelInferResponseMessage } from './infer-message-codec.js';
import { modelInferHandler, modelStreamInferHandler, type InferContext } from './infer-handlers.js';
import { loadInferenceProtos } from './proto-definitions.js';
import { serviceHandlers } from './service-handlers.js';
import type { ModelInferResponse } from './wire-types.js';

/** The gRPC transports (--grpc-server): Node's own HTTP/2, or @grpc/grpc-js. */
export const GRPC_SERVERS = ['http2', 'grpc-js'] as const;
export type GrpcServerKind = (typeof GRPC_SERVERS)[number];

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
  /** The transport; http2 unless told otherwise. */
  readonly transport?: GrpcServerKind;
}

export interface GrpcEdge {
  /** Binds host:port (0 = a free port), TLS following the watcher or plaintext; returns the bound port. */
  listen(host: string, port: number, tls: TlsFileWatcher | undefined): Promise<number>;
  /** Stops accepting calls and resolves once the calls in flight (streams included) have finished. */
  drain(): Promise<void>;
  /** Cancels whatever is still running. */
  forceClose(): void;
  /** Health watchers hear the new status; call once the server has become ready. */
  readinessChanged(): void;
}

/** Open calls per gRPC connection (nginx's http2_max_concurrent_streams default is 128). */
export const GRPC_MAX_CONCURRENT_STREAMS = 128;

/**
 * The inference service's definition with the hand-written codec (infer-message-codec.ts) for the
 * hot messages: ModelInferRequest in (unary and stream) and ModelInferResponse out (unary). A copy:
 * the cached definition also serves clients.
 */
function withInferCodec(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const infer = service.ModelInfer;
  const stream = service.ModelStreamInfer;
  if (infer === undefined || stream === undefined) return service;
  const serialize = infer.responseSerialize;
  return {
    ...service,
    ModelInfer: {
      ...infer,
      requestDeserialize: decodeModelInferRequestMessage,
      responseSerialize: (message: unknown) =>
        encodeModelInferResponseMessage(message as ModelInferResponse) ?? serialize(message),
    },
    ModelStreamInfer: { ...stream, requestDeserialize: decodeModelInferRequestMessage },
  };
}

export function buildGrpcServer(options: GrpcServerOptions): GrpcEdge {
  const protos = loadInferenceProtos();
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
  const services: GrpcService[] = [
    {
      definition: withInferCodec(protos.inference.service),
      handlers: {
        ...serviceHandlers(ctx),
        ModelInfer: modelInferHandler(ctx),
        ModelStreamInfer: modelStreamInferHandler(ctx),
      },
    },
    { definition: protos.health.service, handlers: health.implementation },
  ];
  if (options.predictions !== undefined)
    services.push({ definition: loadFeedbackProto().service, handlers: feedbackHandlers(ctx, options.predictions) });
  // Every RPC of every service declares its API group (grpc-access.ts) before it can be served.
  for (const service of services) checkServiceAccess(service.definition);
  const transportOptions: GrpcTransportOptions = {
    services,
    logger: options.logger,
    maxMessageBytes: options.maxMessageBytes,
    // Calls one connection may have open at once (clients queue the rest): without it a client
    // that opens unary calls and reads no answers could make the server hold answers without limit.
    maxConcurrentStreams: GRPC_MAX_CONCURRENT_STREAMS,
    ...(options.access === undefined ? {} : { access: accessGate({ ...options.access, logger: options.logger }) }),
    ...(options.countError === undefined ? {} : { countError: options.countError }),
  };
  const transport: GrpcTransport =
    options.transport === 'grpc-js' ? grpcJsTransport(transportOptions) : http2Transport(transportOptions);

  return {
    listen(host, port, tls) {
      return transport.listen(host, port, tls);
    },
    drain() {
      closing = true;
      health.endWatches();
      // Streams with nothing in flight end now; the others end when their last response is written.
      for (const finishIfIdle of [...ctx.openStreams]) finishIfIdle();
      return transport.close();
    },
    forceClose() {
      transport.forceClose();
    },
    readinessChanged() {
      health.notifyWatchers();
    },
  };
}
