// From any thrown value to what a client sees: the reduction to an InferdError (our own errors as
// they are, the HTTP framework's request errors mapped to our codes, anything else an internal
// error naming the request id), and the status, headers and body of each wire format. The edges
// (REST, OpenAI, batch API, gRPC, WebSocket) all answer through these, so they cannot drift.

import { InferdError, isInferdError } from './inferd-error.js';

/** The wire formats of an error body. */
export type ErrorFormat =
  /** KServe v2 REST: {"error": "..."} */
  | 'kserve'
  /** OpenAI: {"error": {"message", "type", "param", "code"}} */
  | 'openai';

export interface ReduceOptions {
  /** The edge's error for a request body over its limit (the framework's BODY_TOO_LARGE). */
  readonly bodyTooLarge?: () => InferdError;
}

/** The shape of the HTTP framework's own errors (fastify's FST_ERR_*), read structurally. */
interface FrameworkError {
  readonly code: unknown;
  readonly statusCode?: unknown;
  readonly message?: unknown;
}

function isFrameworkError(err: unknown): err is FrameworkError {
  return typeof err === 'object' && err !== null && 'code' in err;
}

/** The framework's request errors (body limits, content types) mapped to our codes; others undefined. */
function fromFramework(err: FrameworkError, options: ReduceOptions): InferdError | undefined {
  const message = typeof err.message === 'string' ? err.message : String(err.code);
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return options.bodyTooLarge?.() ?? new InferdError('INF_ERR_BODY_TOO_LARGE', 'request body is over the limit');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InferdError('INF_ERR_MALFORMED_BODY', 'request body length does not match its Content-Length');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new InferdError('INF_ERR_MALFORMED_BODY', message);
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return new InferdError('INF_ERR_INVALID_ARGUMENT', message);
      }
      return undefined;
  }
}

/**
 * Reduces any thrown value to an InferdError. Unknown failures become INF_ERR_INTERNAL with a
 * generic message naming the request id (the original is its cause); the caller logs the original
 * with the same id.
 */
export function toInferdError(err: unknown, requestId?: string, options: ReduceOptions = {}): InferdError {
  if (isInferdError(err)) return err;
  const mapped = isFrameworkError(err) ? fromFramework(err, options) : undefined;
  if (mapped !== undefined) return mapped;
  const suffix = requestId === undefined ? '' : ` (request id ${requestId})`;
  return new InferdError('INF_ERR_INTERNAL', `internal error${suffix}`, { cause: err });
}

/** True for a failure of the server (5xx), which is logged at error level; client errors at debug. */
export function isServerSide(err: InferdError): boolean {
  return err.httpStatus >= 500;
}

/** The message a client sees: a server-side failure names the request id, so a report leads to the log line. */
export function clientMessage(err: InferdError, requestId: string | undefined): string {
  return err.httpStatus === 500 && requestId !== undefined && !err.message.includes(requestId)
    ? `${err.message} (request id ${requestId})`
    : err.message;
}

/**
 * The response headers of an error: its own, and for a refusal (429, 503) the table's Retry-After
 * unless it carries one.
 */
export function errorHeaders(err: InferdError): Record<string, string> {
  const headers: Record<string, string> = { ...err.headers };
  const retryAfter = err.retryAfterSeconds;
  if (retryAfter !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'retry-after')) {
    headers['retry-after'] = String(retryAfter);
  }
  return headers;
}

export interface OpenAIErrorBody {
  readonly error: { message: string; type: string; param: string | null; code: string | null };
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

/** OpenAI's error object (also sent as an SSE event when a stream fails). */
export function openaiErrorObject(err: InferdError, requestId?: string): OpenAIErrorBody {
  return {
    error: {
      message: clientMessage(err, requestId),
      type: err.openaiType,
      param: err.param,
      code: err.apiCode ?? defaultApiCode(err),
    },
  };
}

/** The JSON error body in the given format. */
export function errorBody(err: InferdError, format: ErrorFormat, requestId: string | undefined): string {
  return format === 'openai'
    ? JSON.stringify(openaiErrorObject(err, requestId))
    : JSON.stringify({ error: clientMessage(err, requestId) });
}

export interface ErrorReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON text. */
  readonly body: string;
}

/** Everything an HTTP response for the error needs. */
export function errorReply(err: InferdError, format: ErrorFormat, requestId: string): ErrorReply {
  return { status: err.httpStatus, headers: errorHeaders(err), body: errorBody(err, format, requestId) };
}
