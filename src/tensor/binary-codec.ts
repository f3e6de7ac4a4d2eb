// Triton's binary tensor data extension: raw little-endian, row-major bytes with no padding; BOOL
// is one byte (0 or 1); each BYTES element is a 4-byte little-endian length then its bytes.
// Spec: triton-inference-server/server docs/protocol/extension_binary_data.md.

import { InferdError } from '../errors/inferd-error.js';
import { ARRAY_TYPES, ELEMENT_SIZE, type Datatype, type TensorData, type TensorDataMap } from './datatype.js';
import './little-endian.js';
import { BYTES_LENGTH_PREFIX, byteSizeOf, formatShape, safeElementCount } from './shape.js';
import { checkData, tensorContent } from './tensor.js';

export interface BinaryDecodeOptions {
  /**
   * Always copy into fresh memory. Without it, a result whose bytes are suitably aligned is a view
   * into `bytes.buffer` (BYTES elements are always views): it shares that memory, so the caller
   * must not reuse the input, and must copy before transferring the buffer to a worker.
   */
  copy?: boolean;
}

function invalid(message: string): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message);
}

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/**
 * Reads one tensor's binary data. Fixed-width data must be exactly the shape's byte size; BYTES
 * data must hold exactly the shape's element count with no length running past the end. Unaligned
 * input (common: a tensor's offset inside a request body is arbitrary) is copied; see
 * BinaryDecodeOptions for when the result shares memory with `bytes`.
 */
export function decodeBinaryTensorData<D extends Datatype>(
  name: string,
  datatype: D,
  shape: readonly number[],
  bytes: Uint8Array,
  options?: BinaryDecodeOptions,
): TensorDataMap[D] {
  const copy = options?.copy === true;
  const fixed: Datatype = datatype;
  if (fixed === 'BYTES') return checkData(datatype, decodeBytes(name, shape, bytes, copy));
  const expected = byteSizeOf(fixed, shape, name);
  if (bytes.byteLength !== expected) {
    throw invalid(
      `input '${name}': expected ${expected} bytes of ${datatype} data for shape ${formatShape(shape)} ` +
        `but got ${bytes.byteLength}`,
    );
  }
  const size = ELEMENT_SIZE[fixed];
  let source = bytes;
  if (copy || bytes.byteOffset % size !== 0) {
    source = new Uint8Array(bytes.byteLength);
    source.set(bytes);
  }
  if (fixed === 'BOOL') checkBool(name, source);
  const Ctor = ARRAY_TYPES[fixed];
  return checkData(datatype, new Ctor(source.buffer, source.byteOffset, expected / size));
}

/** BOOL bytes other than 0 and 1 have no defined meaning to the model, so they are refused. */
function checkBool(name: string, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b > 1) throw invalid(`input '${name}': BOOL element ${i} must be 0 or 1 but got ${b}`);
  }
}

function decodeBytes(name: string, shape: readonly number[], bytes: Uint8Array, copy: boolean): Uint8Array[] {
  const n = safeElementCount(shape);
  const end = bytes.byteLength;
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < end) {
    if (out.length === n) {
      throw invalid(
        `input '${name}': expected ${n} BYTES elements for shape ${formatShape(shape)} ` +
          `but ${end - offset} bytes remain after them`,
      );
    }
    if (end - offset < BYTES_LENGTH_PREFIX) {
      throw invalid(
        `input '${name}': BYTES element ${out.length} has a truncated length prefix at byte offset ${offset} ` +
          `of ${end}-byte data`,
      );
    }
    const len = readUint32LE(bytes, offset);
    const start = offset + BYTES_LENGTH_PREFIX;
    if (len > end - start) {
      throw invalid(
        `input '${name}': BYTES element ${out.length} declares length ${len} at byte offset ${offset}, ` +
          `past the end of the ${end}-byte data`,
      );
    }
    out.push(copy ? bytes.slice(start, start + len) : bytes.subarray(start, start + len));
    offset = start + len;
  }
  if (out.length !== n) {
    throw invalid(
      `input '${name}': expected ${n} BYTES elements for shape ${formatShape(shape)} but got ${out.length}`,
    );
  }
  return out;
}

/** Bytes the tensor occupies in the binary format. */
export function binaryByteSize(datatype: Datatype, data: TensorData): number {
  const t = tensorContent(datatype, data);
  if (t.datatype !== 'BYTES') return t.data.byteLength;
  const elements = t.data;
  let size = elements.length * BYTES_LENGTH_PREFIX;
  for (const element of elements) size += element.byteLength;
  return size;
}

/**
 * Writes the tensor's binary form into `target` at `offset` and returns the offset after it, so a
 * response body can be assembled in one buffer. `target` must have binaryByteSize bytes free.
 */
export function writeBinaryTensorData(
  datatype: Datatype,
  data: TensorData,
  target: Uint8Array,
  offset: number,
): number {
  const t = tensorContent(datatype, data);
  if (t.datatype !== 'BYTES') {
    const typed = t.data;
    target.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), offset);
    return offset + typed.byteLength;
  }
  let at = offset;
  for (const element of t.data) {
    const len = element.byteLength;
    if (len > 0xffffffff) throw invalid(`BYTES element of ${len} bytes does not fit a 4-byte length prefix`);
    target[at] = len & 0xff;
    target[at + 1] = (len >>> 8) & 0xff;
    target[at + 2] = (len >>> 16) & 0xff;
    target[at + 3] = (len >>> 24) & 0xff;
    target.set(element, at + BYTES_LENGTH_PREFIX);
    at += BYTES_LENGTH_PREFIX + len;
  }
  return at;
}

/**
 * The tensor's binary form. Fixed-width data is returned as a byte view of the same memory (no
 * copy); BYTES is framed into a fresh buffer.
 */
export function encodeBinaryTensorData(datatype: Datatype, data: TensorData): Uint8Array {
  const t = tensorContent(datatype, data);
  if (t.datatype !== 'BYTES') {
    const typed = t.data;
    return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  const out = new Uint8Array(binaryByteSize(datatype, data));
  writeBinaryTensorData(datatype, data, out, 0);
  return out;
}
