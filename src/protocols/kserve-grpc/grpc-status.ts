// Any failure to a gRPC status through the one error path (protocols/common/error-handler.ts): the
// same message as the REST body's "error" (a server-side failure names the request id), the
// table's status code, and the REST headers (Retry-After on a refusal) as trailing metadata.

import * as grpc from '@grpc/grpc-js';
import { clientMessage, errorHeaders, type InferdError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import { reportError } from '../common/error-handler.js';

/** Reduces the failure to an InferdError, logged under the request id. */
export function asInferdError(err: unknown, requestId: string, logger: Logger): InferdError {
  return reportError(err, requestId, logger, { fields: { request_id: requestId } });
}

export function serviceError(err: unknown, requestId: string, logger: Logger): Partial<grpc.StatusObject> {
  const e = asInferdError(err, requestId, logger);
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(errorHeaders(e))) metadata.set(k.toLowerCase(), v);
  return { code: e.grpcStatus, details: clientMessage(e, requestId), metadata };
}
