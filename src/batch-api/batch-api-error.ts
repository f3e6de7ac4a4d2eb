// Errors of the Files and Batch APIs: an InferdError (so the status and the OpenAI error type come
// from the one table in src/errors/) that also names the offending parameter and an OpenAI-style
// error code, and the handler that writes OpenAI's error body
// {"error": {"message", "type", "param", "code"}}.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InferdError, isInferdError, type ErrorCode } from '../errors/index.js';

export class BatchApiError extends InferdError {
  readonly param: string | null;
  readonly apiCode: string | null;

  constructor(code: ErrorCode, message: string, details: { param?: string; apiCode?: string } = {}) {
    super(code, message);
    this.param = details.param ?? null;
    this.apiCode = details.apiCode ?? null;
  }
}

export function badRequest(message: string, param?: string, apiCode = 'invalid_request'): BatchApiError {
  return new BatchApiError('INF_ERR_INVALID_ARGUMENT', message, { ...(param === undefined ? {} : { param }), apiCode });
}

export function notFound(what: 'file' | 'batch', id: string, param: string): BatchApiError {
  return new BatchApiError('INF_ERR_NOT_FOUND', `No such ${what}: '${id}'`, { param, apiCode: `${what}_not_found` });
}

function fromFastify(err: FastifyError, maxUploadBytes: number): InferdError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BatchApiError(
        'INF_ERR_BODY_TOO_LARGE',
        `upload is over the limit of ${maxUploadBytes} bytes (--max-batch-file-size)`,
        { param: 'file', apiCode: 'file_too_large' },
      );
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return badRequest(err.message);
      }
      return undefined;
  }
}

export function openaiErrorBody(err: InferdError): string {
  const param = err instanceof BatchApiError ? err.param : null;
  const code = err instanceof BatchApiError ? err.apiCode : null;
  return JSON.stringify({ error: { message: err.message, type: err.openaiType, param, code } });
}

export function makeOpenAIErrorHandler(maxUploadBytes: number) {
  return function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    let err: InferdError | undefined = isInferdError(error) ? error : undefined;
    if (err === undefined && typeof error === 'object' && error !== null && 'code' in error) {
      err = fromFastify(error as FastifyError, maxUploadBytes);
    }
    if (err === undefined) {
      request.log.error({ err: error }, 'unhandled error');
      err = new InferdError('INF_ERR_INTERNAL', `internal error (request id ${request.id})`);
    } else if (err.httpStatus >= 500) {
      request.log.error({ err: error, code: err.code }, err.message);
    } else {
      request.log.debug({ code: err.code }, err.message);
    }
    void reply.code(err.httpStatus).type('application/json').send(openaiErrorBody(err));
  };
}
