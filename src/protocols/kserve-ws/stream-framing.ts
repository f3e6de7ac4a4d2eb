// The message framing of the WebSocket infer stream. A text message is a REST JSON infer body; a
// binary message is a 4-byte little-endian JSON-header length, then exactly the body the REST
// binary tensor extension sends with that length in Inference-Header-Content-Length. Replies use
// the same two forms, and a failure is a text message {"id", "error", "status"}.

import { clientMessage, InferdError, invalidArgument } from '../../errors/index.js';
import type { EncodedResponse } from '../../core/infer-body-encoder.js';

/** Bytes of the little-endian header-length prefix of a binary message. */
export const PREFIX_BYTES = 4;

export interface InferBody {
  readonly body: Buffer;
  /** As Inference-Header-Content-Length: undefined for a JSON-only body, 0 for a raw body. */
  readonly headerLength: number | undefined;
}

/** Splits a received message into the REST body and its header length. */
export function unframeMessage(data: Buffer, isBinary: boolean): InferBody {
  if (!isBinary) return { body: data, headerLength: undefined };
  if (data.length < PREFIX_BYTES) {
    throw invalidArgument(
      `a binary message starts with a 4-byte little-endian JSON header length; got ${data.length} bytes`,
    );
  }
  const headerLength = data.readUInt32LE(0);
  const body = data.subarray(PREFIX_BYTES);
  if (headerLength > body.length) {
    throw invalidArgument(
      `binary message header length ${headerLength} is past the end of the ${body.length} bytes that follow it`,
    );
  }
  return { body, headerLength };
}

/** An encoded response as one message: text for JSON only, else the prefixed binary form. */
export function frameReply(encoded: EncodedResponse): string | Buffer {
  if (encoded.headerLength === undefined) return encoded.body;
  const body = typeof encoded.body === 'string' ? Buffer.from(encoded.body, 'utf8') : encoded.body;
  const message = Buffer.allocUnsafe(PREFIX_BYTES + body.length);
  message.writeUInt32LE(encoded.headerLength, 0);
  body.copy(message, PREFIX_BYTES);
  return message;
}

/** The error reply: the REST error text and the HTTP status REST would answer with. */
export function errorMessage(id: string | undefined, err: InferdError, requestId?: string): string {
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return `{${idPart}"error":${JSON.stringify(clientMessage(err, requestId))},"status":${err.httpStatus}}`;
}

/**
 * The request's `id`, read again only when decoding failed, so the error reply can carry it;
 * undefined when the header is not JSON or has no string id.
 */
export function requestIdOf(message: InferBody): string | undefined {
  if (message.headerLength === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(message.body.toString('utf8', 0, message.headerLength ?? message.body.length));
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed && typeof parsed.id === 'string') {
      return parsed.id;
    }
  } catch {
    // Malformed JSON: the decoder's own error says so; the reply simply carries no id.
  }
  return undefined;
}

/** The limit on one message, with the reason sent in the 1009 close frame. */
export function messageTooBig(maxBytes: number): InferdError {
  return new InferdError('INF_ERR_BODY_TOO_LARGE', `message is over the limit of ${maxBytes} bytes`);
}
