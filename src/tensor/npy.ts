// NumPy .npy files (format versions 1.0, 2.0 and 3.0) to and from tensors, for the CLI's one-off
// `infer` command. Spec: numpy/lib/format.py ("NPY format"). C order and little-endian only.

import { InferdError } from '../errors/inferd-error.js';
import type { Datatype, FixedDatatype, TensorData, TensorDataMap } from './datatype.js';
import { decodeBinaryTensorData, encodeBinaryTensorData } from './binary-codec.js';
import { describeValue } from './describe-value.js';
import { bfloat16ArrayToFloat32 } from './half.js';
import './little-endian.js';
import { formatShape, MAX_RANK, safeElementCount } from './shape.js';
import { tensorContent } from './tensor.js';

/** A decoded array, discriminated by datatype. */
export type NpyArray = { [D in Datatype]: { datatype: D; shape: number[]; data: TensorDataMap[D] } }[Datatype];

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const PREAMBLE_V1 = 10; // magic, version (2 bytes), uint16 header length
const PREAMBLE_V2 = 12; // ... uint32 header length
const HEADER_ALIGNMENT = 64;

const DESCR_TO_DATATYPE: Readonly<Record<string, FixedDatatype>> = {
  '|b1': 'BOOL',
  '|u1': 'UINT8',
  '|i1': 'INT8',
  '<u1': 'UINT8',
  '<i1': 'INT8',
  '<u2': 'UINT16',
  '<u4': 'UINT32',
  '<u8': 'UINT64',
  '<i2': 'INT16',
  '<i4': 'INT32',
  '<i8': 'INT64',
  '<f2': 'FP16',
  '<f4': 'FP32',
  '<f8': 'FP64',
};

const DATATYPE_TO_DESCR: Readonly<Record<Exclude<FixedDatatype, 'BF16'>, string>> = {
  BOOL: '|b1',
  UINT8: '|u1',
  INT8: '|i1',
  UINT16: '<u2',
  UINT32: '<u4',
  UINT64: '<u8',
  INT16: '<i2',
  INT32: '<i4',
  INT64: '<i8',
  FP16: '<f2',
  FP32: '<f4',
  FP64: '<f8',
};

function malformed(name: string, detail: string): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', `npy '${name}': ${detail}`);
}

function unsupported(name: string, detail: string): InferdError {
  return new InferdError('INF_ERR_UNSUPPORTED', `npy '${name}': ${detail}`);
}

// ---------------------------------------------------------------------------------------------
// Reading

interface NpyHeader {
  descr: string;
  shape: number[];
  dataOffset: number;
}

function readHeader(name: string, bytes: Uint8Array): NpyHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw malformed(name, 'not a .npy file (missing the \\x93NUMPY magic)');
  }
  if (bytes.byteLength < PREAMBLE_V1) throw malformed(name, 'file ends inside the header');
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) {
    throw unsupported(
      name,
      `format version ${describeValue(major)}.${describeValue(bytes[7])} is not supported (1, 2 or 3)`,
    );
  }
  const preamble = major === 1 ? PREAMBLE_V1 : PREAMBLE_V2;
  if (bytes.byteLength < preamble) throw malformed(name, 'file ends inside the header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = preamble + headerLength;
  if (dataOffset > bytes.byteLength) throw malformed(name, 'file ends inside the header');
  // Version 3 allows UTF-8 in the header (field names); 1 and 2 are latin1, a subset for what we read.
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + preamble, headerLength).toString(
    major === 3 ? 'utf8' : 'latin1',
  );

  if (/['"]descr['"]\s*:\s*\[/.test(header)) throw unsupported(name, 'structured dtypes are not supported');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) throw malformed(name, `header has no 'descr': ${describeValue(header)}`);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) throw malformed(name, `header has no 'fortran_order': ${describeValue(header)}`);
  if (fortran === 'True') {
    throw unsupported(name, 'fortran_order True is not supported; save a C-ordered array (np.ascontiguousarray)');
  }
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw malformed(name, `header has no 'shape' tuple: ${describeValue(header)}`);
  const shape: number[] = [];
  for (const part of shapeText.split(',')) {
    const dim = part.trim().replace(/L$/, ''); // Python 2 wrote longs as 3L
    if (dim === '') continue;
    const d = /^\d+$/.test(dim) ? Number(dim) : NaN;
    if (!Number.isSafeInteger(d))
      throw malformed(name, `shape entry ${describeValue(part.trim())} is not a non-negative integer`);
    shape.push(d);
  }
  if (shape.length > MAX_RANK) throw unsupported(name, `rank ${shape.length} is more than the maximum of ${MAX_RANK}`);
  return { descr, shape, dataOffset };
}

/**
 * Parses a .npy file. Numeric and bool dtypes map to their datatypes; unicode (`<U`) and bytes
 * (`|S`) arrays become BYTES, UTF-8 encoded, with numpy's trailing NUL padding removed. The data is
 * copied, so the result owns its memory.
 */
export function decodeNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const { descr, shape, dataOffset } = readHeader(name, bytes);
  const body = bytes.subarray(dataOffset);
  const datatype = DESCR_TO_DATATYPE[descr];
  if (datatype !== undefined) {
    const data = decodeBinaryTensorData(name, datatype, shape, body, { copy: true });
    return { ...tensorContent(datatype, data), shape };
  }
  const text = /^([<|=])([US])(\d+)$/.exec(descr);
  if (text !== null) {
    const kind = text[2] as 'U' | 'S';
    const width = Number(text[3]);
    const data = kind === 'U' ? readUnicode(name, shape, body, width) : readByteStrings(name, shape, body, width);
    return { datatype: 'BYTES', shape, data };
  }
  if (descr.startsWith('>')) {
    throw unsupported(name, `big-endian dtype '${descr}' is not supported; save it as '<${descr.slice(1)}'`);
  }
  throw unsupported(name, `dtype '${descr}' is not supported`);
}

/** Checks that the body holds exactly count * itemSize bytes and returns the count. */
function checkTextBody(name: string, shape: readonly number[], body: Uint8Array, itemSize: number): number {
  const n = safeElementCount(shape);
  const expected = n * itemSize;
  if (expected !== body.byteLength) {
    throw malformed(
      name,
      `expected ${expected} bytes of data for shape ${formatShape(shape)} but got ${body.byteLength}`,
    );
  }
  return n;
}

function readByteStrings(name: string, shape: readonly number[], body: Uint8Array, width: number): Uint8Array[] {
  const n = checkTextBody(name, shape, body, width);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const start = i * width;
    let end = start + width;
    while (end > start && body[end - 1] === 0) end--;
    out.push(body.slice(start, end));
  }
  return out;
}

function readUnicode(name: string, shape: readonly number[], body: Uint8Array, width: number): Uint8Array[] {
  const n = checkTextBody(name, shape, body, width * 4);
  const aligned = body.byteOffset % 4 === 0 ? body : body.slice();
  const codePoints = new Uint32Array(aligned.buffer, aligned.byteOffset, n * width);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const start = i * width;
    let end = start + width;
    while (end > start && codePoints[end - 1] === 0) end--;
    let text = '';
    for (let j = start; j < end; j++) {
      const cp = codePoints[j]!;
      if (cp > 0x10ffff) throw malformed(name, `element ${i} holds ${cp}, which is not a Unicode code point`);
      text += String.fromCodePoint(cp);
    }
    out.push(new Uint8Array(Buffer.from(text, 'utf8')));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

function shapeTuple(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Preamble and header, padded with spaces so the data starts on a 64-byte boundary. */
function encodeHeader(descr: string, shape: readonly number[]): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeTuple(shape)}, }`;
  let preamble = PREAMBLE_V1;
  let total = Math.ceil((preamble + dict.length + 1) / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  if (total - preamble > 0xffff) {
    preamble = PREAMBLE_V2;
    total = Math.ceil((preamble + dict.length + 1) / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  }
  const headerLength = total - preamble;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = preamble === PREAMBLE_V1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (preamble === PREAMBLE_V1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  const padded = dict.padEnd(headerLength - 1, ' ') + '\n';
  out.set(Buffer.from(padded, 'latin1'), preamble);
  return out;
}

function concat(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.byteLength + body.byteLength);
  out.set(header, 0);
  out.set(body, header.byteLength);
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** BYTES as `<U` when every element is valid UTF-8 (numpy's str arrays), else as `|S` (bytes arrays). */
function encodeStrings(shape: readonly number[], elements: readonly Uint8Array[]): Uint8Array {
  const texts: string[] = [];
  for (const element of elements) {
    try {
      texts.push(strictUtf8.decode(element));
    } catch {
      break;
    }
  }
  if (texts.length < elements.length) {
    let width = 1; // numpy gives even an all-empty array an item size of 1
    for (const element of elements) width = Math.max(width, element.byteLength);
    const body = new Uint8Array(elements.length * width);
    elements.forEach((element, i) => body.set(element, i * width));
    return concat(encodeHeader(`|S${width}`, shape), body);
  }
  const codePointsPerText = texts.map((text) => Array.from(text, (ch) => ch.codePointAt(0)!));
  let width = 1;
  for (const cps of codePointsPerText) width = Math.max(width, cps.length);
  const body = new Uint8Array(elements.length * width * 4);
  const units = new Uint32Array(body.buffer);
  codePointsPerText.forEach((cps, i) => units.set(cps, i * width));
  return concat(encodeHeader(`<U${width}`, shape), body);
}

/**
 * Writes a tensor as a version 1.0 .npy file (2.0 only if the header outgrows 64 KiB). BF16 has no
 * NumPy dtype, so it is widened to `<f4` (exact); BYTES is written as described in encodeStrings.
 */
export function encodeNpy(datatype: Datatype, shape: readonly number[], data: TensorData): Uint8Array {
  const n = safeElementCount(shape);
  if (data.length !== n) {
    throw new InferdError(
      'INF_ERR_INVALID_ARGUMENT',
      `npy: shape ${formatShape(shape)} holds ${n} elements but the ${datatype} data has ${data.length}`,
    );
  }
  const t = tensorContent(datatype, data);
  if (t.datatype === 'BYTES') return encodeStrings(shape, t.data);
  if (t.datatype === 'BF16') {
    const wide = bfloat16ArrayToFloat32(t.data);
    return concat(encodeHeader('<f4', shape), new Uint8Array(wide.buffer));
  }
  return concat(encodeHeader(DATATYPE_TO_DESCR[t.datatype], shape), encodeBinaryTensorData(t.datatype, t.data));
}
