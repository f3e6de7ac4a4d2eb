// Reads a request body into one buffer. With a Content-Length the buffer is allocated once at that
// size and each chunk copied into it, so a body is held once while it arrives, not twice (a list
// of chunks and then their concatenation, which is what fastify's own buffer parser does): the
// budget of request bytes in flight (request-gate.ts) is then what the server really holds. A
// chunked body, whose size is unknown, is collected and joined, and then charged its decoding
// (request.settleCharge, from the memory gate). The route's body limit applies either way, with
// fastify's own error codes so the one error path answers as before.

import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

/** The request's Content-Length as a byte count, or undefined when it declares none (chunked, or no body). */
export function declaredLength(request: FastifyRequest): number | undefined {
  const raw = request.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function frameworkError(code: string, statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

/** fastify content-type parser: the body as one Buffer, within `request.routeOptions.bodyLimit`. */
export function readBody(
  request: FastifyRequest,
  payload: IncomingMessage,
  done: (err: Error | null, body?: Buffer) => void,
): void {
  const limit = request.routeOptions.bodyLimit ?? Infinity;
  const declared = declaredLength(request);
  if (declared !== undefined && declared > limit) {
    payload.resume();
    done(frameworkError('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'request body is too large'));
    return;
  }
  let settled = false;
  const finish = (err: Error | null, body?: Buffer): void => {
    if (settled) return;
    settled = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    if (err !== null) {
      // Stop reading what is left; the error is answered and the connection closed.
      payload.resume();
      done(err);
    } else done(null, body);
  };
  const fixed = declared === undefined ? undefined : Buffer.allocUnsafe(declared);
  const chunks: Buffer[] = [];
  let received = 0;
  const onData = (chunk: Buffer): void => {
    if (received + chunk.length > limit) {
      finish(frameworkError('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'request body is too large'));
      return;
    }
    if (fixed !== undefined) {
      if (received + chunk.length > fixed.length) {
        finish(
          frameworkError(
            'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
            400,
            'request body length does not match its Content-Length',
          ),
        );
        return;
      }
      chunk.copy(fixed, received);
    } else chunks.push(chunk);
    received += chunk.length;
  };
  const onEnd = (): void => {
    if (fixed === undefined) {
      // Its size known at last, a chunked body is charged its decoding before it is used.
      const refused = request.settleCharge?.(received);
      if (refused !== undefined) finish(refused);
      else finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
      return;
    }
    if (received !== fixed.length)
      finish(
        frameworkError(
          'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
          400,
          'request body length does not match its Content-Length',
        ),
      );
    else finish(null, fixed);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.once('error', (err) => finish(err));
}
