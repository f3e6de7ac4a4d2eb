// The gRPC-over-HTTP/2 wire details (grpc/grpc doc/PROTOCOL-HTTP2.md) the node:http2 transport
// needs: length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length, the bytes),
// the grpc-timeout header, grpc-message percent-encoding, and decompressing received messages.

import { gunzipSync, inflateSync } from 'node:zlib';
import type { CallStatus } from './grpc-call.js';
import { GRPC_STATUS } from './grpc-status.js';

/** The encodings a received message may be compressed with (and the server says it accepts). */
export const ACCEPTED_ENCODINGS = 'identity,deflate,gzip';

/** A failure with the gRPC status the call ends with. */
export class GrpcCallError extends Error {
  constructor(readonly status: CallStatus) {
    super(status.details);
  }
}

/** One received message, still as framed: the compressed flag and its bytes (a view, not a copy). */
export interface GrpcFrame {
  readonly compressed: boolean;
  readonly body: Buffer;
}

/**
 * Splits received DATA into messages. A message that arrives in one chunk is a view into it; one
 * spread over chunks is joined once. A declared length over the limit fails RESOURCE_EXHAUSTED
 * before its bytes are buffered.
 */
export class GrpcFrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Adds received bytes; returns the messages they complete (throws GrpcCallError on an oversize one). */
  push(chunk: Buffer): GrpcFrame[] {
    const frames: GrpcFrame[] = [];
    if (this.buffered === 0) {
      // The common case: whole messages in one chunk, read in place.
      let offset = 0;
      while (chunk.length - offset >= 5) {
        const length = this.declaredLength(chunk, offset);
        const end = offset + 5 + length;
        if (end > chunk.length) break;
        frames.push({ compressed: chunk[offset] === 1, body: chunk.subarray(offset + 5, end) });
        offset = end;
      }
      if (offset < chunk.length) {
        this.chunks.push(offset === 0 ? chunk : chunk.subarray(offset));
        this.buffered = chunk.length - offset;
      }
      return frames;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 5) {
      const head = this.chunks[0] !== undefined && this.chunks[0].length >= 5 ? this.chunks[0] : this.join();
      const length = this.declaredLength(head, 0);
      if (this.buffered < 5 + length) break;
      const all = this.join();
      frames.push({ compressed: all[0] === 1, body: all.subarray(5, 5 + length) });
      const rest = all.subarray(5 + length);
      this.chunks = rest.length === 0 ? [] : [rest];
      this.buffered = rest.length;
    }
    return frames;
  }

  /** Bytes of a message begun and not yet complete. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private join(): Buffer {
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined;
  }

  private declaredLength(buffer: Buffer, offset: number): number {
    const length = buffer.readUInt32BE(offset + 1);
    if (length > this.maxMessageBytes)
      throw new GrpcCallError({
        code: GRPC_STATUS.RESOURCE_EXHAUSTED,
        details: `Received message larger than max (${length} vs. ${this.maxMessageBytes})`,
      });
    return length;
  }
}

/** The length-prefixed frame of one outgoing message (never compressed). */
export function frameMessage(body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** The 5-byte prefix alone, for a large message written after it without a copy. */
export function framePrefix(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-timeout ("100m", "5S", at most 8 digits and a unit) in milliseconds; throws INTERNAL on a bad value. */
export function parseGrpcTimeout(text: string): number {
  const match = TIMEOUT.exec(text);
  if (match === null)
    throw new GrpcCallError({ code: GRPC_STATUS.INTERNAL, details: `Invalid grpc-timeout value "${text}"` });
  return Number(match[1]) * (UNIT_MS[match[2] ?? 'm'] ?? 1);
}

/**
 * grpc-message is percent-encoded: bytes outside printable ASCII (0x20-0x7E) and '%' itself become
 * %XX of their UTF-8 bytes, so a message in every language survives HTTP/2 header rules.
 */
export function encodeGrpcMessage(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The decoded form of a percent-encoded grpc-message (what clients show). */
export function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A received message's bytes, decompressed by the call's grpc-encoding when its flag says so,
 * never past the size limit (RESOURCE_EXHAUSTED); an encoding the server does not know is
 * UNIMPLEMENTED. Compression is the client's choice and rare for tensors, so it is done in place.
 */
export function messageBytes(frame: GrpcFrame, encoding: string, maxMessageBytes: number): Buffer {
  if (!frame.compressed) return frame.body;
  if (encoding === 'identity')
    throw new GrpcCallError({
      code: GRPC_STATUS.INTERNAL,
      details: 'Received a compressed message but the call has no grpc-encoding header',
    });
  if (encoding !== 'gzip' && encoding !== 'deflate')
    throw new GrpcCallError({
      code: GRPC_STATUS.UNIMPLEMENTED,
      details: `Received message compressed with unsupported encoding "${encoding}"`,
    });
  try {
    const options = { maxOutputLength: Math.max(1, maxMessageBytes) };
    return encoding === 'gzip' ? gunzipSync(frame.body, options) : inflateSync(frame.body, options);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new GrpcCallError({
        code: GRPC_STATUS.RESOURCE_EXHAUSTED,
        details: `Received message that decompresses to a size larger than ${maxMessageBytes}`,
      });
    throw new GrpcCallError({ code: GRPC_STATUS.INTERNAL, details: 'Failed to decompress message' });
  }
}
