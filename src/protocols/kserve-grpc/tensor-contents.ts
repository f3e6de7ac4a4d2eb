// InferTensorContents (the typed, repeated-field form of tensor data) to tensor storage. Each
// datatype has exactly one field (FP16 and BF16 have none: they travel as raw contents); the
// element count must match the shape and narrow integer types must hold their values.

import { invalidArgument } from '../../errors/index.js';
import type { Datatype, TensorData } from '../../tensor/datatype.js';
import { formatShape, safeElementCount } from '../../tensor/shape.js';
import type { InferTensorContents } from './wire-types.js';

type ContentsField = keyof InferTensorContents;

const FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

/** The InferTensorContents field of each datatype (grpc_service.proto). */
export const CONTENTS_FIELD: Readonly<Record<Datatype, ContentsField | undefined>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
  BF16: undefined,
};

const RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  UINT8: [0, 255],
  UINT16: [0, 65535],
};

/** True when any field of the contents holds an element. */
export function hasContents(contents: InferTensorContents | undefined): boolean {
  return contents !== undefined && FIELDS.some((f) => contents[f].length > 0);
}

export function decodeTensorContents(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  contents: InferTensorContents | undefined,
): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) {
    throw invalidArgument(
      `input '${name}': ${datatype} has no typed contents field; send its data in raw_input_contents`,
    );
  }
  if (contents !== undefined) {
    const other = FIELDS.find((f) => f !== field && contents[f].length > 0);
    if (other !== undefined) {
      throw invalidArgument(
        `input '${name}' is ${datatype}, whose data goes in contents.${field}, not contents.${other}`,
      );
    }
  }
  const values = contents?.[field] ?? [];
  const n = safeElementCount(shape);
  if (values.length !== n) {
    throw invalidArgument(
      `input '${name}': expected ${n} elements in contents.${field} for shape ${formatShape(shape)} but got ${values.length}`,
    );
  }
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(values as readonly boolean[], (b) => (b ? 1 : 0));
    case 'INT8':
    case 'INT16':
    case 'UINT8':
    case 'UINT16':
      checkRange(name, datatype, values as readonly number[]);
      return datatype === 'INT8'
        ? Int8Array.from(values as readonly number[])
        : datatype === 'INT16'
          ? Int16Array.from(values as readonly number[])
          : datatype === 'UINT8'
            ? Uint8Array.from(values as readonly number[])
            : Uint16Array.from(values as readonly number[]);
    case 'INT32':
      return Int32Array.from(values as readonly number[]);
    case 'UINT32':
      return Uint32Array.from(values as readonly number[]);
    case 'INT64':
      return BigInt64Array.from(values as readonly string[], (v) => BigInt(v));
    case 'UINT64':
      return BigUint64Array.from(values as readonly string[], (v) => BigInt(v));
    case 'FP32':
      return Float32Array.from(values as readonly number[]);
    case 'FP64':
      return Float64Array.from(values as readonly number[]);
    default:
      // BYTES: each element is a view into the received message, as binary BYTES are over REST.
      return [...(values as readonly Buffer[])];
  }
}

function checkRange(name: string, datatype: Datatype, values: readonly number[]): void {
  const [lo, hi] = RANGE[datatype] ?? [-Infinity, Infinity];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo || v > hi) {
      throw invalidArgument(`input '${name}': ${datatype} element ${i} is ${v}, outside ${lo}..${hi}`);
    }
  }
}
