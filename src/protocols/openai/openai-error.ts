// Errors of the OpenAI-compatible edge: an InferdError (status and OpenAI error type come from the
// one table in src/errors/) that also names the offending parameter and an OpenAI-style code, and
// the handler that writes OpenAI's error body {"error": {"message", "type", "param", "code"}}.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InferdError, isInferdError, type ErrorCode } from '../../errors/index.js';

export class OpenAIError extends InferdError {
  readonly param: string | null;
  readonly apiCode: string | null;

  constructor(code: ErrorCode, message: string, details: { param?: string | null; apiCode?: string | null } = {}) {
    super(code, message);
    this.param = details.param ?? null;
    this.apiCode = details.apiCode ?? null;
  }
}

/** A 400 invalid_request_error naming the field. */
export function invalidField(param: string | null, message: string, apiCode: string | null = null): OpenAIError {
  return new OpenAIError('INF_ERR_INVALID_ARGUMENT', message, { param, apiCode });
}

/** OpenAI's code for errors that carry no more specific one. */
function defaultApiCode(err: InferdError): string | null {
  switch (err.code) {
    case 'INF_ERR_MODEL_NOT_FOUND':
      return 'model_not_found';
    case 'INF_ERR_QUEUE_FULL':
      return 'rate_limit_exceeded';
    default:
      return null;
  }
}

export interface OpenAIErrorBody {
  readonly error: { message: string; type: string; param: string | null; code: string | null };
}

export function openaiErrorObject(err: InferdError): OpenAIErrorBody {
  const hasDetails = err instanceof OpenAIError;
  return {
    error: {
      message: err.message,
      type: err.openaiType,
      param: hasDetails ? err.param : null,
      code: (hasDetails ? err.apiCode : null) ?? defaultApiCode(err),
    },
  };
}

function fromFastify(err: FastifyError, maxBodyBytes: number): InferdError | undefined {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new OpenAIError('INF_ERR_BODY_TOO_LARGE', `request body is over the limit of ${maxBodyBytes} bytes`);
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return invalidField(null, err.message);
  }
  return undefined;
}

/** Reduces any failure to an InferdError, logging server-side ones with the request id. */
export function toOpenAIError(error: unknown, request: FastifyRequest, maxBodyBytes: number): InferdError {
  let err: InferdError | undefined = isInferdError(error) ? error : undefined;
  if (err === undefined && typeof error === 'object' && error !== null && 'code' in error) {
    err = fromFastify(error as FastifyError, maxBodyBytes);
  }
  if (err === undefined) {
    request.log.error({ err: error }, 'unhandled error');
    return new InferdError('INF_ERR_INTERNAL', `internal error (request id ${request.id})`);
  }
  if (err.httpStatus >= 500) request.log.error({ err: error, code: err.code }, err.message);
  else request.log.debug({ code: err.code }, err.message);
  return err;
}

export function makeOpenAIErrorHandler(maxBodyBytes: number) {
  return function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const err = toOpenAIError(error, request, maxBodyBytes);
    if (err.headers !== undefined) void reply.headers(err.headers);
    void reply
      .code(err.httpStatus)
      .type('application/json')
      .send(JSON.stringify(openaiErrorObject(err)));
  };
}
