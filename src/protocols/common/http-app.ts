// The HTTP listener every HTTP edge shares (KServe v2 REST, the WebSocket stream, the OpenAI API,
// the Files and Batch API): raw-body parsing (the binary tensor extension needs the bytes), the
// default error and not-found replies, request ids, the probes other servers' users expect
// (`/health`, `/ready`), and closing keep-alive connections while the server drains. The edges register on it as sibling route
// groups (server.ts); the metrics route is served here and on its own port. Both listeners serve
// HTTPS when given TLS options, and the HTTP listener answers CORS when given origins.

import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { registerCors } from './cors.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { bodyOverLimit, makeErrorHandler, makeNotFoundHandler } from './error-handler.js';
import { installAccessControl, type AccessControlOptions } from './http-access.js';
import { readBody } from './body-reader.js';
import { installMemoryGate, type MemoryGateOptions, type MemoryGateStats } from './request-gate.js';
import type { ServerState } from './server-state.js';

export interface HttpAppOptions {
  readonly logger: Logger;
  readonly server: ServerState;
  readonly maxBodyBytes: number;
  /** Who may call what: installed ahead of every route (each must declare its access). */
  readonly access?: AccessControlOptions;
  /** Server-wide budgets of request bytes in flight and of unsent answer bytes; absent = none. */
  readonly memoryGate?: MemoryGateOptions & { readonly watch: (stats: () => MemoryGateStats) => void };
  /** fastify's `https` option (certificate, key, and for mTLS the client CA); absent = plain HTTP. */
  readonly https?: HttpsServerOptions | undefined;
  /** Origins answered with CORS headers ('*' = every origin); absent or empty = no CORS. */
  readonly corsAllowOrigins?: readonly string[] | undefined;
  /** Counts each error answer by its reason (INF_ERR_* code, or HTTP_<status> for the framework's). */
  readonly countError?: (reason: string) => void;
}

/**
 * Fastify over https when given options, else over http. The edges are written against the
 * default (http.Server) instance type; an https instance serves the same request and reply
 * objects and is assignable to it.
 */
function fastifyOver(https: HttpsServerOptions | undefined, options: ListenerOptions): FastifyInstance {
  if (https === undefined) return Fastify(options);
  return Fastify<HttpsServer>({ ...options, https });
}

/** The fastify options both listeners set, which mean the same over http and https. */
type ListenerOptions = Pick<
  FastifyServerOptions,
  'loggerInstance' | 'logController' | 'bodyLimit' | 'genReqId' | 'return503OnClosing'
>;

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  let counter = 0;
  const prefix = process.pid.toString(36);
  const app = fastifyOver(options.https, {
    // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance's default generics.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request access lines would cost more than a small model's inference; errors are logged.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: options.maxBodyBytes,
    genReqId: () => `${prefix}-${(++counter).toString(36)}`,
    // While draining, requests on open connections are still answered (with Connection: close):
    // their bytes reached this server, and a 503 here would lose them.
    return503OnClosing: false,
  });
  // CORS first, so its hook answers preflights and puts its headers on every answer, refusals
  // included; then access control, before the routes: every route registered after it must declare
  // its access, and its check runs before every route's own hooks.
  app.decorateRequest('errorCode', undefined);
  const countError = options.countError;
  if (countError !== undefined)
    app.addHook('onResponse', (request, reply, done) => {
      if (reply.statusCode >= 400) countError(request.errorCode ?? `HTTP_${reply.statusCode}`);
      done();
    });
  registerCors(app, options.corsAllowOrigins ?? []);
  if (options.access !== undefined) installAccessControl(app, options.access);
  // After access control: only admitted callers spend the budget of request bytes.
  if (options.memoryGate !== undefined) options.memoryGate.watch(installMemoryGate(app, options.memoryGate));
  // Bodies are read as bytes whatever their content type: JSON infer bodies may carry binary
  // tensors after the JSON header, and clients differ in the content type they send.
  app.removeAllContentTypeParsers();
  // Read into one buffer of the declared size (body-reader.ts), so a body is held once.
  app.addContentTypeParser('*', readBody);

  // KServe's error body is the default; the OpenAI and batch API scopes set their own.
  app.setErrorHandler(makeErrorHandler({ format: 'kserve', bodyTooLarge: bodyOverLimit(options.maxBodyBytes) }));
  app.setNotFoundHandler(makeNotFoundHandler('kserve'));
  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    // While draining, clients and load balancers are told to take their next request elsewhere,
    // and the connection closes once this response is out.
    if (options.server.phase() === 'draining') void reply.header('connection', 'close');
    done(null, payload);
  });
  registerProbes(app, options.server);
  return app;
}

/**
 * `/health` (liveness: the process answers, also while loading and draining) and `/ready`
 * (readiness: loaded and not draining) for users of other servers and Kubernetes probes; the
 * KServe v2 pair is `/v2/health/live` and `/v2/health/ready`.
 */
function registerProbes(app: FastifyInstance, server: ServerState): void {
  app.get('/health', () => ({ status: 'ok' }));
  app.get('/ready', (_req, reply) => {
    const phase = server.phase();
    const status = phase === 'serving' ? 'ready' : phase;
    void reply.code(server.ready() ? 200 : 503);
    return { status };
  });
}

/** GET /metrics: the Prometheus exposition of every metric. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_req, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/** A listener that serves only /metrics (Triton's port 8002); HTTPS when given TLS options. */
export function buildMetricsServer(
  metrics: Metrics,
  logger: Logger,
  https?: HttpsServerOptions,
  access?: AccessControlOptions,
): FastifyInstance {
  const app = fastifyOver(https, {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see buildHttpApp
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  if (access !== undefined) installAccessControl(app, access);
  app.setErrorHandler(makeErrorHandler({ format: 'kserve', bodyTooLarge: bodyOverLimit(1024 * 1024) }));
  registerMetricsRoute(app, metrics);
  app.setNotFoundHandler(makeNotFoundHandler('kserve', '; this port serves /metrics'));
  return app;
}
