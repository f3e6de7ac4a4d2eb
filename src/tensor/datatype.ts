// The KServe v2 / Open Inference Protocol datatypes and their element sizes and array types.
// Spec: kserve/open-inference-protocol, "Tensor Data Types".

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
  'BF16',
] as const;

export type Datatype = (typeof DATATYPES)[number];

/** Fixed-width datatypes: every one except BYTES. */
export type FixedDatatype = Exclude<Datatype, 'BYTES'>;

/** Bytes per element for fixed-width datatypes. BOOL is one byte on the wire. */
export const ELEMENT_SIZE: Readonly<Record<FixedDatatype, number>> = Object.freeze({
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BF16: 2,
});

/**
 * The in-memory element storage of a tensor. FP16 and BF16 keep their raw 16-bit patterns in a
 * Uint16Array; BOOL keeps one byte per element (0 or 1); BYTES keeps one Uint8Array per element.
 */
export interface TensorDataMap {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BF16: Uint16Array;
  BYTES: Uint8Array[];
}

export type TensorData = TensorDataMap[Datatype];

/** The storage of fixed-width data: one typed array per datatype except BYTES. */
export type FixedData = TensorDataMap[FixedDatatype];

/** A typed array class, by length or as a view of a buffer. */
export interface TypedArrayConstructor<T> {
  readonly name: string;
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
}

/** The typed array class holding each fixed-width datatype's elements (see TensorDataMap). */
export const ARRAY_TYPES: { readonly [D in FixedDatatype]: TypedArrayConstructor<TensorDataMap[D]> } = Object.freeze({
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
  BF16: Uint16Array,
});

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

/** Model configuration names (`TYPE_FP32`, `TYPE_STRING`, ...) as Triton spells them. */
export function configTypeName(datatype: Datatype): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

export function datatypeFromConfigName(name: string): Datatype | undefined {
  if (name === 'TYPE_STRING') return 'BYTES';
  if (!name.startsWith('TYPE_')) return undefined;
  const dt = name.slice('TYPE_'.length);
  return isDatatype(dt) && dt !== 'BYTES' ? dt : undefined;
}
