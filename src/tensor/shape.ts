// Shape validation and byte-size math. Everything here runs before a tensor buffer is allocated,
// so a hostile shape is refused by arithmetic alone (architecture rule 4: validate before allocating).

import { InferdError } from '../errors/inferd-error.js';
import { ELEMENT_SIZE, type Datatype, type FixedDatatype } from './datatype.js';
import { describeValue } from './describe-value.js';

/** Highest rank accepted. ONNX models rarely exceed 8; this only stops absurd shapes early. */
export const MAX_RANK = 16;

/** Bytes of the 4-byte length prefix each BYTES element carries in the binary format. */
export const BYTES_LENGTH_PREFIX = 4;

/** Renders a shape the way messages quote it: [2,16]. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Checks a request's `shape` field: an array of at most MAX_RANK non-negative safe integers.
 * Returns the same array, typed; nothing is copied.
 */
export function validateShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) {
    throw new InferdError(
      'INF_ERR_INVALID_ARGUMENT',
      `input '${name}': shape must be an array of non-negative integers but got ${describeValue(shape)}`,
    );
  }
  if (shape.length > MAX_RANK) {
    throw new InferdError(
      'INF_ERR_INVALID_ARGUMENT',
      `input '${name}': shape has rank ${shape.length}, more than the maximum of ${MAX_RANK}`,
    );
  }
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new InferdError(
        'INF_ERR_INVALID_ARGUMENT',
        `input '${name}': shape[${i}] must be a non-negative integer but got ${describeValue(d)}`,
      );
    }
  }
  return shape as number[];
}

/**
 * Element count of a shape, or Infinity when it exceeds Number.MAX_SAFE_INTEGER. A zero
 * dimension anywhere makes the count 0 however large the others are.
 */
export function safeElementCount(shape: readonly number[]): number {
  for (const d of shape) if (d === 0) return 0;
  let n = 1;
  for (const d of shape) {
    if (n > Number.MAX_SAFE_INTEGER / d) return Infinity;
    n *= d;
  }
  return n;
}

/** A size past 2^53 for a message: approximate, computed in doubles, nothing allocated. */
function approximateBytes(perElement: number, shape: readonly number[]): string {
  let approx = perElement;
  for (const d of shape) approx *= d;
  return Number.isFinite(approx) ? `about ${approx.toPrecision(3)} bytes (more than 2^53)` : 'more than 2^53 bytes';
}

function tooLarge(name: string, datatype: Datatype, shape: readonly number[], detail: string): InferdError {
  return new InferdError(
    'INF_ERR_TENSOR_TOO_LARGE',
    `input '${name}': ${datatype} tensor of shape ${formatShape(shape)} ${detail}`,
  );
}

/**
 * Bytes a fixed-width tensor occupies (BOOL is one byte per element). Throws
 * INF_ERR_TENSOR_TOO_LARGE when the size is not a safe integer, so callers can trust the result.
 */
export function byteSizeOf(datatype: FixedDatatype, shape: readonly number[], name = 'tensor'): number {
  const size = ELEMENT_SIZE[datatype];
  const n = safeElementCount(shape);
  if (n > Number.MAX_SAFE_INTEGER / size) {
    throw tooLarge(name, datatype, shape, `needs ${approximateBytes(size, shape)}, more than can be counted exactly`);
  }
  return n * size;
}

/**
 * Refuses a tensor whose declared shape needs more than `maxBytes`, before anything is allocated.
 * Fixed-width types are measured exactly; BYTES is measured by its lower bound, the 4-byte length
 * prefix of each element (the codecs check the real size as they read the strings).
 * Returns that byte size.
 */
export function checkTensorLimits(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  maxBytes: number,
): number {
  const perElement = datatype === 'BYTES' ? BYTES_LENGTH_PREFIX : ELEMENT_SIZE[datatype];
  const n = safeElementCount(shape);
  const bytes = n > Number.MAX_SAFE_INTEGER / perElement ? Infinity : n * perElement;
  if (bytes > maxBytes) {
    const atLeast = datatype === 'BYTES' ? 'at least ' : '';
    const needs = bytes === Infinity ? `${atLeast}${approximateBytes(perElement, shape)}` : `${atLeast}${bytes} bytes`;
    throw tooLarge(name, datatype, shape, `needs ${needs}, over the limit of ${maxBytes} bytes`);
  }
  return bytes;
}
