// Turns any failure into the v2 REST error body {"error": "..."} with Triton's status mapping.
// Unknown failures become a 500 that names the request id; the log line carries the same id.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InferdError, isInferdError } from '../../errors/index.js';

/** Fastify's own errors (body limits, content types) map to our codes. */
function fromFastify(err: FastifyError, maxBodyBytes: number): InferdError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new InferdError('INF_ERR_BODY_TOO_LARGE', `request body is over the limit of ${maxBodyBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InferdError('INF_ERR_MALFORMED_BODY', 'request body length does not match its Content-Length');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new InferdError('INF_ERR_MALFORMED_BODY', err.message);
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return new InferdError('INF_ERR_INVALID_ARGUMENT', err.message);
      }
      return undefined;
  }
}

/** Server-side failures carry the request id, so a client's report leads to the log line. */
function withRequestId(err: InferdError, requestId: string): string {
  return err.httpStatus === 500 && !err.message.includes(requestId)
    ? `${err.message} (request id ${requestId})`
    : err.message;
}

export function makeErrorHandler(maxBodyBytes: number) {
  return function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    let err: InferdError | undefined = isInferdError(error) ? error : undefined;
    if (err === undefined && typeof error === 'object' && error !== null && 'code' in error) {
      err = fromFastify(error as FastifyError, maxBodyBytes);
    }
    if (err === undefined) {
      request.log.error({ err: error }, 'unhandled error');
      err = new InferdError('INF_ERR_INTERNAL', `internal error (request id ${request.id})`);
    } else if (err.httpStatus >= 500) {
      request.log.error({ err: error, code: err.code }, err.message);
    } else {
      request.log.debug({ code: err.code }, err.message);
    }
    if (err.headers !== undefined) void reply.headers(err.headers);
    void reply
      .code(err.httpStatus)
      .type('application/json')
      .send(JSON.stringify({ error: withRequestId(err, String(request.id)) }));
  };
}
