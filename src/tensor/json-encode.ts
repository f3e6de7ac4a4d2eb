// Encodes tensor data for the `data` field of a KServe v2 JSON response: as JSON text to splice
// into the body (the fast path) or as JS values.
//
// Decisions:
// - INT64/UINT64 text is exact; as JS values they become Numbers, exact only up to 2^53.
// - NaN/±Infinity are written as the bare tokens NaN, Infinity, -Infinity by default, as Triton
//   writes them (rapidjson kWriteNanAndInfFlag) and Python's json reads them; { nonFinite: 'null' }
//   writes null instead for strict JSON parsers.
// - BYTES that are not valid UTF-8 cannot be JSON strings: by default that is an error telling the
//   client to ask for binary output; { invalidUtf8: 'replace' } substitutes U+FFFD instead.

import { InferdError } from '../errors/inferd-error.js';
import type { Datatype, TensorData } from './datatype.js';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32 } from './half.js';
import './little-endian.js';
import { tensorContent } from './tensor.js';

const TWO_32 = 4294967296;

function invalid(message: string): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message);
}

export interface JsonEncodeOptions {
  /** Output name for error messages. */
  name?: string;
  /** BYTES that are not valid UTF-8: 'error' (default) refuses; 'replace' substitutes U+FFFD. */
  invalidUtf8?: 'error' | 'replace';
}

export interface JsonStringOptions extends JsonEncodeOptions {
  /** NaN and ±Infinity: 'literal' (default) writes NaN, Infinity, -Infinity as Triton does; 'null' writes null. */
  nonFinite?: 'literal' | 'null';
}

export type JsonTensorValue = number | boolean | string;

// ignoreBOM keeps a leading U+FEFF as data instead of silently dropping it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function decodeUtf8Elements(data: readonly Uint8Array[], options: JsonEncodeOptions | undefined): string[] {
  const out: string[] = [];
  if (options?.invalidUtf8 === 'replace') {
    for (const element of data) out.push(lenientUtf8.decode(element));
    return out;
  }
  for (let i = 0; i < data.length; i++) {
    try {
      out.push(strictUtf8.decode(data[i]));
    } catch {
      throw invalid(
        `output '${options?.name ?? 'output'}': BYTES element ${i} is not valid UTF-8, so it cannot be ` +
          'written as a JSON string; request this output as binary data',
      );
    }
  }
  return out;
}

/** Copies typed-array elements into a packed number array, the form JSON.stringify writes fastest. */
function toNumbers(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) out.push(values[i]!);
  return out;
}

/** 64-bit words as Numbers: exact up to 2^53, rounded to the nearest double beyond. */
function int64ToNumbers(data: BigInt64Array | BigUint64Array): number[] {
  const lo = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  const hi = data instanceof BigInt64Array ? new Int32Array(data.buffer, data.byteOffset, data.length * 2) : lo;
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) out.push(hi[2 * i + 1]! * TWO_32 + lo[2 * i]!);
  return out;
}

/**
 * A tensor's elements as a flat array of JSON-able values: numbers, booleans for BOOL, strings for
 * BYTES. NaN/±Infinity stay numbers here (JSON.stringify would write them as null); use
 * jsonTensorDataString to control that, for exact 64-bit integers, and for speed.
 */
export function encodeJsonTensorData(
  datatype: Datatype,
  data: TensorData,
  options?: JsonEncodeOptions,
): JsonTensorValue[] {
  const t = tensorContent(datatype, data);
  switch (t.datatype) {
    case 'BOOL': {
      const bytes = t.data;
      const out: boolean[] = [];
      for (let i = 0; i < bytes.length; i++) out.push(bytes[i] !== 0);
      return out;
    }
    case 'INT64':
    case 'UINT64':
      return int64ToNumbers(t.data);
    case 'FP16':
      return toNumbers(float16ArrayToFloat32(t.data));
    case 'BF16':
      return toNumbers(bfloat16ArrayToFloat32(t.data));
    case 'BYTES':
      return decodeUtf8Elements(t.data, options);
    default:
      return toNumbers(t.data);
  }
}

/**
 * Float values as JSON text. JSON.stringify already writes NaN/±Infinity as null; for Triton's
 * literal tokens the (rare) arrays holding them take a slower path that writes String(x).
 */
function floatArrayText(values: Float32Array | Float64Array, nonFinite: 'literal' | 'null'): string {
  if (nonFinite === 'literal') {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v - v !== 0) {
        const parts: string[] = [];
        for (let j = 0; j < values.length; j++) parts.push(String(values[j]));
        return `[${parts.join(',')}]`;
      }
    }
  }
  return JSON.stringify(toNumbers(values));
}

/** 64-bit integers as JSON text with every digit; only values past 2^53 pay for a BigInt string. */
function int64ArrayText(data: BigInt64Array | BigUint64Array): string {
  const numbers = int64ToNumbers(data);
  for (let i = 0; i < numbers.length; i++) {
    if (!Number.isSafeInteger(numbers[i])) {
      const parts: string[] = [];
      for (let j = 0; j < numbers.length; j++) {
        const v = numbers[j]!;
        parts.push(Number.isSafeInteger(v) ? String(v) : String(data[j]));
      }
      return `[${parts.join(',')}]`;
    }
  }
  return JSON.stringify(numbers);
}

/**
 * The JSON text of a flat array of the tensor's elements, for splicing straight into a response
 * body. Numbers print exactly: float32 values print as the double they are (0.1f prints as
 * 0.10000000149011612, as Triton prints it) and 64-bit integers keep all their digits.
 */
export function jsonTensorDataString(datatype: Datatype, data: TensorData, options?: JsonStringOptions): string {
  const nonFinite = options?.nonFinite ?? 'literal';
  const t = tensorContent(datatype, data);
  switch (t.datatype) {
    case 'BOOL': {
      const bytes = t.data;
      if (bytes.length === 0) return '[]';
      let text = bytes[0] !== 0 ? '[true' : '[false';
      for (let i = 1; i < bytes.length; i++) text += bytes[i] !== 0 ? ',true' : ',false';
      return `${text}]`;
    }
    case 'FP32':
    case 'FP64':
      return floatArrayText(t.data, nonFinite);
    case 'FP16':
      return floatArrayText(float16ArrayToFloat32(t.data), nonFinite);
    case 'BF16':
      return floatArrayText(bfloat16ArrayToFloat32(t.data), nonFinite);
    case 'INT64':
    case 'UINT64':
      return int64ArrayText(t.data);
    case 'BYTES':
      return JSON.stringify(decodeUtf8Elements(t.data, options));
    default:
      return JSON.stringify(toNumbers(t.data));
  }
}
