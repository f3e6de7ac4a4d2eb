// The one error taxonomy. Every failure a client can see is an InferdError with a stable code;
// the table below maps each code to its HTTP status, gRPC status and OpenAI error type, in one place.

/** gRPC status codes (grpc/grpc doc/statuscodes.md) used by the mapping. */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  CANCELLED: 1,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

interface ErrorKind {
  readonly http: number;
  readonly grpc: number;
  readonly openai: string;
  /** Seconds a client should wait before trying again (the Retry-After header); refusals only. */
  readonly retryAfter?: number;
}

/** The Retry-After every 429 and 503 carries unless the error names its own. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * Error codes. HTTP statuses follow Triton's mapping (INTERNAL→500, NOT_FOUND→404,
 * UNAVAILABLE→503, UNSUPPORTED→501, invalid argument and the rest→400), with 413 for bodies over
 * the limit, 429 for a full queue and 504 for an expired deadline.
 */
export const ERROR_CODES = {
  INF_ERR_INVALID_ARGUMENT: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, openai: 'invalid_request_error' },
  INF_ERR_MALFORMED_BODY: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, openai: 'invalid_request_error' },
  INF_ERR_BODY_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, openai: 'invalid_request_error' },
  INF_ERR_TENSOR_TOO_LARGE: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, openai: 'invalid_request_error' },
  INF_ERR_MODEL_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, openai: 'not_found_error' },
  INF_ERR_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, openai: 'not_found_error' },
  INF_ERR_MODEL_UNAVAILABLE: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    openai: 'service_unavailable',
    retryAfter: DEFAULT_RETRY_AFTER_SECONDS,
  },
  INF_ERR_UNAVAILABLE: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    openai: 'service_unavailable',
    retryAfter: DEFAULT_RETRY_AFTER_SECONDS,
  },
  /** The request clashes with what the server already holds (a prediction labelled twice, an experiment a file defines). */
  INF_ERR_CONFLICT: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, openai: 'invalid_request_error' },
  /** What the request names existed and is no longer kept (a prediction past its retention). */
  INF_ERR_GONE: { http: 410, grpc: GrpcStatus.NOT_FOUND, openai: 'not_found_error' },
  INF_ERR_UNSUPPORTED: { http: 501, grpc: GrpcStatus.UNIMPLEMENTED, openai: 'invalid_request_error' },
  INF_ERR_QUEUE_FULL: {
    http: 429,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    openai: 'rate_limit_error',
    retryAfter: DEFAULT_RETRY_AFTER_SECONDS,
  },
  /** Per-key quotas and repeated authentication failures; the error names its own Retry-After. */
  INF_ERR_RATE_LIMITED: {
    http: 429,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    openai: 'rate_limit_error',
    retryAfter: DEFAULT_RETRY_AFTER_SECONDS,
  },
  /** No credentials, or credentials that are not valid (unknown or expired key, wrong scheme). */
  INF_ERR_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, openai: 'authentication_error' },
  /** Valid credentials without the scope the route needs, or an API this listener refuses. */
  INF_ERR_PERMISSION_DENIED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, openai: 'permission_error' },
  INF_ERR_DEADLINE_EXCEEDED: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, openai: 'timeout_error' },
  INF_ERR_CANCELLED: { http: 499, grpc: GrpcStatus.CANCELLED, openai: 'cancelled' },
  INF_ERR_INVALID_CONFIG: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, openai: 'invalid_request_error' },
  INF_ERR_MODEL_LOAD: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, openai: 'invalid_request_error' },
  INF_ERR_RUNTIME: { http: 500, grpc: GrpcStatus.INTERNAL, openai: 'server_error' },
  INF_ERR_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, openai: 'server_error' },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface InferdErrorOptions {
  readonly cause?: unknown;
  /** Extra response headers (e.g. a Retry-After other than the table's). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The request field at fault, for OpenAI's error body ("param"). */
  readonly param?: string | null;
  /** OpenAI's machine-readable error code ("code"), e.g. context_length_exceeded. */
  readonly apiCode?: string | null;
}

export class InferdError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers; a Retry-After here overrides the table's default. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** The request field at fault (OpenAI's "param"), null when none is named. */
  readonly param: string | null;
  /** OpenAI's error code, null for the code's default (see openaiErrorObject). */
  readonly apiCode: string | null;

  constructor(code: ErrorCode, message: string, options?: InferdErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InferdError';
    this.code = code;
    this.headers = options?.headers;
    this.param = options?.param ?? null;
    this.apiCode = options?.apiCode ?? null;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get grpcStatus(): number {
    return ERROR_CODES[this.code].grpc;
  }

  get openaiType(): string {
    return ERROR_CODES[this.code].openai;
  }

  /** The table's Retry-After for this code, undefined for codes that are not refusals. */
  get retryAfterSeconds(): number | undefined {
    const kind: ErrorKind = ERROR_CODES[this.code];
    return kind.retryAfter;
  }
}

export function invalidArgument(message: string): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message);
}

export function isInferdError(err: unknown): err is InferdError {
  return err instanceof InferdError;
}
