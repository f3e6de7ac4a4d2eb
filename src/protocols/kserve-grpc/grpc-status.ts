// Any failure to a gRPC status through the one error table (errors/inferd-error.ts): the same
// message as the REST body's "error", the table's status code. Unknown failures become INTERNAL
// naming the request id, and are logged with it.

import * as grpc from '@grpc/grpc-js';
import { isInferdError, toInferdError, type InferdError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';

export function asInferdError(err: unknown, requestId: string, logger: Logger): InferdError {
  if (isInferdError(err)) {
    if (err.grpcStatus === (grpc.status.INTERNAL as number))
      logger.error({ err, code: err.code, request_id: requestId }, err.message);
    else logger.debug({ code: err.code, request_id: requestId }, err.message);
    return err;
  }
  logger.error({ err, request_id: requestId }, 'unhandled error');
  return toInferdError(err, requestId);
}

export function serviceError(err: unknown, requestId: string, logger: Logger): Partial<grpc.StatusObject> {
  const e = asInferdError(err, requestId, logger);
  const metadata = new grpc.Metadata();
  // Extra headers (Retry-After on a full queue) travel as trailing metadata.
  for (const [k, v] of Object.entries(e.headers ?? {})) metadata.set(k.toLowerCase(), v);
  // As over REST, a server-side failure names the request id, so a client's report leads to the log line.
  const details =
    e.grpcStatus === (grpc.status.INTERNAL as number) && !e.message.includes(requestId)
      ? `${e.message} (request id ${requestId})`
      : e.message;
  return { code: e.grpcStatus, details, metadata };
}
