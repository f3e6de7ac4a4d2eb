// Decodes the `data` field of a KServe v2 JSON request tensor (flat or nested, row-major) into
// typed storage. Runs per request, so every datatype has its own hand-written loop.
//
// Decisions, where the spec (kserve/open-inference-protocol, "Tensor Data") leaves room:
// - Nesting: any nesting whose leaves, read row-major, number exactly the shape's element count
//   is accepted, as Triton accepts it; `data` itself must be an array, even for shape [].
// - BOOL accepts only true and false (the spec's JSON boolean; Triton reads it with AsBool), not 0/1.
// - Integer types need JSON numbers that are integers within the type's range; 1.0 counts as 1.
// - INT64/UINT64 also accept decimal strings ("-9007199254740993") and bigints, because JSON
//   numbers lose precision past 2^53. Numbers past 2^53 are taken as the double they parsed to.
// - FP16/BF16 are accepted as numbers and rounded to nearest-even bit patterns (Triton refuses
//   them in JSON; accepting them is a superset). Finite numbers that would round to Infinity in the
//   target float type are refused rather than silently becoming Infinity.
// - Float types accept the strings "NaN", "Infinity" and "-Infinity", since strict JSON has no
//   tokens for them.
// - BYTES elements are JSON strings, stored UTF-8 encoded; lone surrogates become U+FFFD.

import { InferdError } from '../errors/inferd-error.js';
import type { Datatype, TensorData, TensorDataMap } from './datatype.js';
import { describeValue } from './describe-value.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from './half.js';
import './little-endian.js';
import { BYTES_LENGTH_PREFIX, checkTensorLimits, formatShape, safeElementCount } from './shape.js';
import { checkData } from './tensor.js';

/** Deepest nesting of `data` accepted; stops a pathological body from exhausting the stack. */
export const MAX_JSON_NESTING = 64;

const TWO_32 = 4294967296;
const TWO_63 = 9223372036854775808;
const TWO_64 = 18446744073709551616;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function invalid(message: string): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message);
}

function badElement(name: string, datatype: Datatype, index: number, value: unknown, expected: string): InferdError {
  return invalid(`input '${name}': ${datatype} element ${index} must be ${expected} but got ${describeValue(value)}`);
}

function outOfRange(name: string, datatype: Datatype, index: number, value: unknown, range: string): InferdError {
  return invalid(`input '${name}': ${datatype} element ${index} is ${describeValue(value)}, out of range ${range}`);
}

function intError(name: string, datatype: Datatype, index: number, value: unknown, min: number, max: number) {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return badElement(name, datatype, index, value, 'an integer');
  }
  return outOfRange(name, datatype, index, value, `[${min}, ${max}]`);
}

/**
 * Turns a JSON tensor's `data` into typed storage for `datatype`. `shape` must already be valid
 * (validateShape). Limits are checked from the shape before anything is allocated, and for BYTES
 * again once the strings' UTF-8 sizes are known. Fixed-width results own a fresh ArrayBuffer
 * (transferable); BYTES elements are views into one fresh backing buffer.
 */
export function decodeJsonTensorData<D extends Datatype>(
  name: string,
  datatype: D,
  shape: readonly number[],
  data: unknown,
  maxBytes: number,
): TensorDataMap[D] {
  checkTensorLimits(name, datatype, shape, maxBytes);
  const n = safeElementCount(shape);
  const leaves = flatLeaves(name, shape, data, n);
  return checkData(datatype, decodeLeaves(name, datatype, leaves, n, shape, maxBytes), name);
}

function decodeLeaves(
  name: string,
  datatype: Datatype,
  leaves: readonly unknown[],
  n: number,
  shape: readonly number[],
  maxBytes: number,
): TensorData {
  switch (datatype) {
    case 'BOOL':
      return decodeBool(name, leaves, n);
    case 'UINT8':
      return decodeUint8(name, leaves, n);
    case 'UINT16':
      return decodeUint16(name, leaves, n);
    case 'UINT32':
      return decodeUint32(name, leaves, n);
    case 'INT8':
      return decodeInt8(name, leaves, n);
    case 'INT16':
      return decodeInt16(name, leaves, n);
    case 'INT32':
      return decodeInt32(name, leaves, n);
    case 'INT64':
      return decodeInt64(name, leaves, n);
    case 'UINT64':
      return decodeUint64(name, leaves, n);
    case 'FP32':
      return decodeFp32(name, leaves, n);
    case 'FP64':
      return decodeFp64(name, leaves, n);
    case 'FP16':
      return decodeHalf(name, 'FP16', leaves, n);
    case 'BF16':
      return decodeHalf(name, 'BF16', leaves, n);
    case 'BYTES':
      return decodeBytes(name, leaves, n, shape, maxBytes);
  }
}

function countMismatch(name: string, shape: readonly number[], expected: number, got: number): InferdError {
  return invalid(`input '${name}': expected ${expected} elements for shape ${formatShape(shape)} but got ${got}`);
}

/** Returns `data` itself when it is already flat, else its leaves in row-major order. */
function flatLeaves(name: string, shape: readonly number[], data: unknown, n: number): readonly unknown[] {
  if (!Array.isArray(data)) throw invalid(`input '${name}': data must be an array but got ${describeValue(data)}`);
  let flat = true;
  for (let i = 0; i < data.length; i++) {
    if (Array.isArray(data[i])) {
      flat = false;
      break;
    }
  }
  if (flat) {
    if (data.length !== n) throw countMismatch(name, shape, n, data.length);
    return data;
  }
  // Count before allocating: the declared shape alone must not size an array (a tiny body could
  // declare millions of elements).
  const count = countLeaves(name, data, 1);
  if (count !== n) throw countMismatch(name, shape, n, count);
  const leaves = new Array<unknown>(n);
  collectLeaves(name, data, leaves, 0, 1);
  return leaves;
}

function countLeaves(name: string, arr: readonly unknown[], depth: number): number {
  if (depth > MAX_JSON_NESTING) {
    throw invalid(`input '${name}': data is nested more than ${MAX_JSON_NESTING} levels deep`);
  }
  let count = 0;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    count += Array.isArray(v) ? countLeaves(name, v as unknown[], depth + 1) : 1;
  }
  return count;
}

/**
 * Stores leaves into `out` from index `count` on, never past its length, and returns the running
 * count of all leaves seen, so an oversized body is measured without growing anything.
 */
function collectLeaves(name: string, arr: readonly unknown[], out: unknown[], count: number, depth: number): number {
  if (depth > MAX_JSON_NESTING) {
    throw invalid(`input '${name}': data is nested more than ${MAX_JSON_NESTING} levels deep`);
  }
  const limit = out.length;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (Array.isArray(v)) {
      count = collectLeaves(name, v as unknown[], out, count, depth + 1);
    } else {
      if (count < limit) out[count] = v;
      count++;
    }
  }
  return count;
}

function decodeBool(name: string, leaves: readonly unknown[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (v === true) out[i] = 1;
    else if (v !== false) throw badElement(name, 'BOOL', i, v, 'true or false');
  }
  return out;
}

// One loop per integer type keeps each typed-array store monomorphic.

function decodeUint8(name: string, leaves: readonly unknown[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff) out[i] = v;
    else throw intError(name, 'UINT8', i, v, 0, 0xff);
  }
  return out;
}

function decodeUint16(name: string, leaves: readonly unknown[], n: number): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff) out[i] = v;
    else throw intError(name, 'UINT16', i, v, 0, 0xffff);
  }
  return out;
}

function decodeUint32(name: string, leaves: readonly unknown[], n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) out[i] = v;
    else throw intError(name, 'UINT32', i, v, 0, 0xffffffff);
  }
  return out;
}

function decodeInt8(name: string, leaves: readonly unknown[], n: number): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80 && v <= 0x7f) out[i] = v;
    else throw intError(name, 'INT8', i, v, -0x80, 0x7f);
  }
  return out;
}

function decodeInt16(name: string, leaves: readonly unknown[], n: number): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= -0x8000 && v <= 0x7fff) out[i] = v;
    else throw intError(name, 'INT16', i, v, -0x8000, 0x7fff);
  }
  return out;
}

function decodeInt32(name: string, leaves: readonly unknown[], n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) out[i] = v;
    else throw intError(name, 'INT32', i, v, -0x80000000, 0x7fffffff);
  }
  return out;
}

// 64-bit integers are written as two 32-bit words instead of allocating a BigInt per element;
// the split is exact for every integer-valued double.

function decodeInt64(name: string, leaves: readonly unknown[], n: number): BigInt64Array {
  const out = new BigInt64Array(n);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= -TWO_63 && v < TWO_63) {
      words[2 * i] = v;
      words[2 * i + 1] = Math.floor(v / TWO_32);
    } else {
      out[i] = bigIntElement(name, 'INT64', i, v, INT64_MIN, INT64_MAX);
    }
  }
  return out;
}

function decodeUint64(name: string, leaves: readonly unknown[], n: number): BigUint64Array {
  const out = new BigUint64Array(n);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < TWO_64) {
      words[2 * i] = v;
      words[2 * i + 1] = Math.floor(v / TWO_32);
    } else {
      out[i] = bigIntElement(name, 'UINT64', i, v, 0n, UINT64_MAX);
    }
  }
  return out;
}

const DECIMAL_INTEGER = /^-?\d+$/;

/** The slow path for 64-bit elements: decimal strings and bigints, or the error to report. */
function bigIntElement(name: string, datatype: Datatype, index: number, value: unknown, min: bigint, max: bigint) {
  const range = `[${min}, ${max}]`;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw badElement(name, datatype, index, value, 'an integer');
    throw outOfRange(name, datatype, index, value, range);
  }
  let b: bigint;
  if (typeof value === 'bigint') {
    b = value;
  } else if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) {
    // 21 characters hold every 64-bit value; longer strings are out of range without parsing.
    if (value.length > 21) throw outOfRange(name, datatype, index, value, range);
    b = BigInt(value);
  } else {
    throw badElement(name, datatype, index, value, 'an integer or a decimal integer string');
  }
  if (b < min || b > max) throw outOfRange(name, datatype, index, value, range);
  return b;
}

/** "NaN", "Infinity" and "-Infinity" stand in for the values strict JSON cannot write. */
function nonFiniteFromString(name: string, datatype: Datatype, index: number, value: unknown): number {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw badElement(name, datatype, index, value, 'a number');
}

function decodeFp32(name: string, leaves: readonly unknown[], n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v === 'number') {
      out[i] = v;
      const f = out[i]!;
      if ((f === Infinity || f === -Infinity) && Number.isFinite(v)) {
        throw outOfRange(name, 'FP32', i, v, 'for FP32 (largest finite 3.4028234663852886e38)');
      }
    } else {
      out[i] = nonFiniteFromString(name, 'FP32', i, v);
    }
  }
  return out;
}

function decodeFp64(name: string, leaves: readonly unknown[], n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    out[i] = typeof v === 'number' ? v : nonFiniteFromString(name, 'FP64', i, v);
  }
  return out;
}

function decodeHalf(name: string, datatype: 'FP16' | 'BF16', leaves: readonly unknown[], n: number): Uint16Array {
  const out = new Uint16Array(n);
  const round = datatype === 'FP16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
  const infinityBits = datatype === 'FP16' ? 0x7c00 : 0x7f80;
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    const x = typeof v === 'number' ? v : nonFiniteFromString(name, datatype, i, v);
    const bits = round(x);
    if ((bits & 0x7fff) === infinityBits && Number.isFinite(x)) {
      const largest = datatype === 'FP16' ? '65504' : '3.3895313892515355e38';
      throw outOfRange(name, datatype, i, v, `for ${datatype} (largest finite ${largest})`);
    }
    out[i] = bits;
  }
  return out;
}

function decodeBytes(
  name: string,
  leaves: readonly unknown[],
  n: number,
  shape: readonly number[],
  maxBytes: number,
): Uint8Array[] {
  // Measure first so the limit is enforced before the backing buffer exists.
  const lengths = new Uint32Array(n);
  let payload = 0;
  for (let i = 0; i < n; i++) {
    const v = leaves[i];
    if (typeof v !== 'string') throw badElement(name, 'BYTES', i, v, 'a string');
    const len = Buffer.byteLength(v, 'utf8');
    lengths[i] = len;
    payload += len;
  }
  const framed = payload + n * BYTES_LENGTH_PREFIX;
  if (framed > maxBytes) {
    throw new InferdError(
      'INF_ERR_TENSOR_TOO_LARGE',
      `input '${name}': BYTES tensor of shape ${formatShape(shape)} needs ${framed} bytes, ` +
        `over the limit of ${maxBytes} bytes`,
    );
  }
  const backing = new Uint8Array(payload);
  const writer = Buffer.from(backing.buffer, backing.byteOffset, backing.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const len = lengths[i]!;
    writer.write(leaves[i] as string, offset, len, 'utf8');
    out.push(backing.subarray(offset, offset + len));
    offset += len;
  }
  return out;
}
