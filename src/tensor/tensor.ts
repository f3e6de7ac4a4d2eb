// The one tensor value that flows between protocol edges, the scheduler and the runtime.

import { InferdError } from '../errors/inferd-error.js';
import { ARRAY_TYPES, type Datatype, type FixedData, type FixedDatatype, type TensorDataMap } from './datatype.js';
import { describeValue } from './describe-value.js';

/** A tensor of datatype D, whose `data` is D's storage (TensorDataMap). */
export interface TensorOf<D extends Datatype> {
  readonly name: string;
  readonly datatype: D;
  /** Concrete dimensions, row-major. A scalar has shape []. */
  readonly shape: readonly number[];
  readonly data: TensorDataMap[D];
}

/**
 * A tensor, discriminated by datatype: checking `t.datatype` types `t.data` (BYTES: Uint8Array[],
 * FP32: Float32Array, ...). `Tensor<'FP32'>` is an FP32 tensor; `Tensor<'FP16' | 'BF16'>` either.
 */
export type Tensor<D extends Datatype = Datatype> = { [K in D]: TensorOf<K> }[D];

/** A datatype and its data (a tensor without name and shape), discriminated like Tensor. */
export type TensorContent<D extends Datatype = Datatype> = {
  [K in D]: { readonly datatype: K; readonly data: TensorDataMap[K] };
}[D];

/** Number of elements a shape holds (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function withArticle(word: string): string {
  return `${/^[AEIO]/.test(word) ? 'an' : 'a'} ${word}`; // a Uint8Array, an Int8Array
}

function describeData(data: unknown): string {
  if (Array.isArray(data)) return 'an array';
  return data instanceof Object ? withArticle(data.constructor.name) : describeValue(data);
}

/** Whether `data` is the storage `datatype` uses: its typed array, or for BYTES an array (of Uint8Array). */
export function isDataOf<D extends Datatype>(datatype: D, data: unknown): data is TensorDataMap[D] {
  const dt: Datatype = datatype;
  return dt === 'BYTES' ? Array.isArray(data) : data instanceof ARRAY_TYPES[dt];
}

/** `data` as `datatype`'s storage, once checked to be that (isDataOf); INF_ERR_INTERNAL if not. */
export function checkData<D extends Datatype>(datatype: D, data: unknown, name?: string): TensorDataMap[D] {
  if (isDataOf(datatype, data)) return data;
  const dt: Datatype = datatype;
  const expected = dt === 'BYTES' ? 'an array of Uint8Array' : withArticle(ARRAY_TYPES[dt].name);
  throw new InferdError(
    'INF_ERR_INTERNAL',
    `${name === undefined ? '' : `tensor '${name}': `}${dt} data must be ${expected}, not ${describeData(data)}`,
  );
}

/**
 * A tensor, refusing data that is not `datatype`'s storage (checkData). Where the datatype is not
 * known statically (a config's, a model's), this is what pairs it with the data.
 */
export function makeTensor<D extends Datatype>(
  name: string,
  datatype: D,
  shape: readonly number[],
  data: TensorDataMap[D],
): Tensor<D> {
  return { name, datatype, shape, data: checkData(datatype, data, name) };
}

/** A datatype paired with its data, checked as makeTensor checks it. */
export function tensorContent<D extends Datatype>(datatype: D, data: TensorDataMap[D]): TensorContent<D> {
  return { datatype, data: checkData(datatype, data) };
}

/** A zero-filled array of `length` elements of a fixed-width datatype. */
export function allocData<D extends FixedDatatype>(datatype: D, length: number): TensorDataMap[D] {
  return new ARRAY_TYPES[datatype](length);
}

/** The elements of a BYTES tensor; INF_ERR_INTERNAL if it is fixed-width (callers know it is BYTES). */
export function bytesElements(t: TensorContent & { readonly name?: string }): Uint8Array[] {
  if (t.datatype === 'BYTES') return t.data;
  throw new InferdError('INF_ERR_INTERNAL', `tensor '${t.name ?? ''}' is ${t.datatype}, not BYTES`);
}

/** The elements of a fixed-width tensor; INF_ERR_INTERNAL if it is BYTES (callers know it is not). */
export function fixedElements(t: TensorContent & { readonly name?: string }): FixedData {
  if (t.datatype !== 'BYTES') return t.data;
  throw new InferdError('INF_ERR_INTERNAL', `tensor '${t.name ?? ''}' is BYTES, not fixed-width`);
}

function isBigIntData(data: FixedData): data is BigInt64Array | BigUint64Array {
  return data instanceof BigInt64Array || data instanceof BigUint64Array;
}

/**
 * `target.set(source.subarray(from, to), at)` for arrays of the same kind (the same datatype, as
 * where both come from tensors of equal datatypes). Number and bigint elements cannot mix.
 */
export function copyElements(target: FixedData, at: number, source: FixedData, from = 0, to = source.length): void {
  const part = source.subarray(from, to);
  if (isBigIntData(target)) {
    if (isBigIntData(part)) return target.set(part, at);
  } else if (!isBigIntData(part)) {
    return target.set(part, at);
  }
  throw new InferdError(
    'INF_ERR_INTERNAL',
    `cannot copy ${source.constructor.name} elements into ${withArticle(target.constructor.name)}`,
  );
}
