// Builds the KServe v2 REST server on fastify: raw-body parsing (the binary tensor extension
// needs the bytes), the error mapping, request ids, and the route groups.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import { registerInferStreamRoutes } from '../kserve-ws/routes-infer-stream.js';
import { registerOpenAIRoutes } from '../openai/openai-api.js';
import { registerInferRoutes } from './routes-infer.js';
import { bodyOverLimit, makeErrorHandler, makeNotFoundHandler } from '../common/error-handler.js';
import type { ServerState } from '../common/server-state.js';
import { registerModelRoutes } from './routes-models.js';

export interface HttpServerOptions {
  readonly repository: ModelRepository;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly server: ServerState;
  readonly maxBodyBytes: number;
  readonly maxTensorBytes: number;
}

export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  let counter = 0;
  const prefix = process.pid.toString(36);
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance's default generics.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request access lines would cost more than a small model's inference; errors are logged.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: options.maxBodyBytes,
    genReqId: () => `${prefix}-${(++counter).toString(36)}`,
    return503OnClosing: true,
    // Bodies are read as bytes whatever their content type: JSON infer bodies may carry binary
    // tensors after the JSON header, and clients differ in the content type they send.
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler(makeErrorHandler({ format: 'kserve', bodyTooLarge: bodyOverLimit(options.maxBodyBytes) }));
  app.setNotFoundHandler(makeNotFoundHandler('kserve'));
  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    // While shutting down, a keep-alive connection whose request finishes would otherwise stay
    // open until its idle timeout and hold the shutdown for the whole grace period.
    if (!options.server.ready()) void reply.header('connection', 'close');
    done(null, payload);
  });

  registerModelRoutes(app, options.repository, options.server);
  registerInferRoutes(app, options.repository, options.maxTensorBytes);
  registerInferStreamRoutes(app, options);
  registerOpenAIRoutes(app, { repository: options.repository, maxBodyBytes: options.maxBodyBytes });
  app.get('/metrics', async (_req, reply) => {
    void reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  return app;
}

/** A listener that serves only /metrics (Triton's port 8002). */
export function buildMetricsServer(metrics: Metrics, logger: Logger): FastifyInstance {
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see buildHttpServer
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.setNotFoundHandler(makeNotFoundHandler('kserve', '; this port serves /metrics'));
  return app;
}
