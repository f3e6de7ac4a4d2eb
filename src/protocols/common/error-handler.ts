// The one error path of the edges: any thrown value is reduced to an InferdError (errors/), logged
// under its request id (server-side failures at error level with the original error, client errors
// at debug), and answered in the edge's format. Every REST edge (KServe, OpenAI, the batch API)
// registers makeErrorHandler with its format; gRPC and the WebSocket stream call reportError.

import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import {
  errorReply,
  InferdError,
  isInferdError,
  isServerSide,
  toInferdError,
  type ErrorFormat,
} from '../../errors/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The INF_ERR_* code of the error this request was answered with, if it was. */
    errorCode: string | undefined;
  }
}

/** What the error path needs of a logger. */
export type ErrorLog = Pick<FastifyBaseLogger, 'error' | 'warn' | 'info'>;

export interface ErrorEdge {
  readonly format: ErrorFormat;
  /** The edge's error for a body over its limit, naming the limit and the option that sets it. */
  readonly bodyTooLarge: () => InferdError;
}

/** The REST and OpenAI edges' 413: the request body is over --max-body-size. */
export function bodyOverLimit(maxBodyBytes: number): () => InferdError {
  return () => new InferdError('INF_ERR_BODY_TOO_LARGE', `request body is over the limit of ${maxBodyBytes} bytes`);
}

/**
 * Reduces `thrown` to the InferdError the client is answered with, and logs it. `fields` go into
 * the log line (a logger not bound to the request passes its request_id there).
 */
/**
 * 5xx answers that are not the server failing now: overload refusals, the client's own deadline,
 * a model that is not ready (its load failure was logged once, when it happened), and a request
 * for a feature inferd does not implement (Triton's shared memory, a .npy layout).
 */
const NOT_A_FAULT: ReadonlySet<string> = new Set([
  'INF_ERR_UNAVAILABLE',
  'INF_ERR_DEADLINE_EXCEEDED',
  'INF_ERR_MODEL_UNAVAILABLE',
  'INF_ERR_UNSUPPORTED',
]);

export function reportError(
  thrown: unknown,
  requestId: string,
  log: ErrorLog,
  options: { readonly bodyTooLarge?: () => InferdError; readonly fields?: Record<string, unknown> } = {},
): InferdError {
  const err = toInferdError(thrown, requestId, options);
  const fields = options.fields ?? {};
  // A client's mistake is worth a line but no alarm; refusals and deadlines are the load's or the
  // client's doing (no stack trace); only the server's own failures are errors.
  if (!isServerSide(err)) log.info({ ...fields, code: err.code }, err.message);
  else if (NOT_A_FAULT.has(err.code)) log.warn({ ...fields, code: err.code }, err.message);
  else if (isInferdError(thrown)) log.error({ ...fields, err: thrown, code: err.code }, err.message);
  else log.error({ ...fields, err: thrown }, 'unhandled error');
  return err;
}

/** Writes the error as the edge's JSON body with its status and headers (Retry-After on refusals). */
export function sendError(reply: FastifyReply, err: InferdError, format: ErrorFormat): FastifyReply {
  const { status, headers, body } = errorReply(err, format, String(reply.request.id));
  // For the error count (http-app.ts counts every error answer by it).
  reply.request.errorCode = err.code;
  return reply.code(status).headers(headers).type('application/json').send(body);
}

/** The fastify error handler of an edge. */
export function makeErrorHandler(edge: ErrorEdge) {
  return function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const err = reportError(error, String(request.id), request.log, { bodyTooLarge: edge.bodyTooLarge });
    void sendError(reply, err, edge.format);
  };
}

/** The not-found handler of an edge: an unknown route is a 404 in the edge's format. */
export function makeNotFoundHandler(format: ErrorFormat, hint = '') {
  return function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
    const route = `${request.method} ${request.url.split('?')[0] ?? ''}`;
    void sendError(reply, new InferdError('INF_ERR_NOT_FOUND', `no route for ${route}${hint}`), format);
  };
}
