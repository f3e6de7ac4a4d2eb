// Every failure to a gRPC status through the one error path (protocols/common/error-handler.ts):
// the same message as the REST body's "error" (a server-side failure names the request id), the
// table's status code, and the REST headers (Retry-After on a refusal) as trailing metadata.

import { clientMessage, errorHeaders, type InferdError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import { reportError } from '../common/error-handler.js';
import type { CallStatus } from './grpc-call.js';

/** The status codes of grpc/grpc doc/statuscodes.md that the transports send themselves. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** Reduces the failure to an InferdError, logged under the request id. */
export function asInferdError(err: unknown, requestId: string, logger: Logger): InferdError {
  return reportError(err, requestId, logger, { fields: { request_id: requestId } });
}

export function callStatus(err: unknown, requestId: string, logger: Logger): CallStatus {
  const e = asInferdError(err, requestId, logger);
  const trailers: Record<string, string> = {};
  for (const [k, v] of Object.entries(errorHeaders(e))) trailers[k.toLowerCase()] = v;
  return { code: e.grpcStatus, details: clientMessage(e, requestId), trailers };
}
