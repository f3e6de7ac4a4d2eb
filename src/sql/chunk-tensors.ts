// Converts between DuckDB vectors and tensors inside the SQL worker: the arguments of one chunk
// become one tensor per model input (rows with a NULL left out), and the model's output tensor
// becomes the function's result vector (NULL for the rows left out).

import duckdb from '@duckdb/node-bindings';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBListType,
  DuckDBTypeId,
  FLOAT,
  INTEGER,
  LIST,
  listValue,
  SMALLINT,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
  type DuckDBDataChunk,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import { invalidArgument } from '../errors/index.js';
import type { Datatype, TensorData } from '../tensor/datatype.js';
import {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
} from '../tensor/half.js';
import { copyElements, makeTensor, type Tensor } from '../tensor/tensor.js';
import type { InputPlan, PredictFunctionSpec, SqlScalarType, SqlType } from './predict-function-spec.js';

const SCALAR_TYPES: Readonly<Record<SqlScalarType, DuckDBType>> = {
  BOOLEAN,
  TINYINT,
  SMALLINT,
  INTEGER,
  BIGINT,
  UTINYINT,
  USMALLINT,
  UINTEGER,
  UBIGINT,
  FLOAT,
  DOUBLE,
  VARCHAR,
};

export function duckdbType(t: SqlType): DuckDBType {
  const base = SCALAR_TYPES[t.base];
  return t.list ? LIST(base) : base;
}

/** Values as read from a vector, before conversion to the tensor's element type. */
type Cell = number | bigint | boolean | string;

function allocate(datatype: Datatype, n: number): TensorData {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(n);
    case 'INT8':
      return new Int8Array(n);
    case 'INT16':
      return new Int16Array(n);
    case 'UINT16':
      return new Uint16Array(n);
    case 'INT32':
      return new Int32Array(n);
    case 'UINT32':
      return new Uint32Array(n);
    case 'INT64':
      return new BigInt64Array(n);
    case 'UINT64':
      return new BigUint64Array(n);
    case 'FP64':
      return new Float64Array(n);
    case 'FP16':
    case 'BF16':
    case 'FP32':
      return new Float32Array(n);
    case 'BYTES':
      return new Array<Uint8Array>(n);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes one value; FP16/BF16 are staged as float32 and converted once per tensor. */
function store(data: TensorData, at: number, value: Cell): void {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    data[at] = typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));
  } else if (Array.isArray(data)) {
    data[at] = encoder.encode(String(value));
  } else {
    data[at] = typeof value === 'boolean' ? (value ? 1 : 0) : Number(value);
  }
}

function finish(datatype: Datatype, data: TensorData): TensorData {
  if (!(data instanceof Float32Array)) return data;
  if (datatype === 'FP16') return float32ArrayToFloat16(data);
  if (datatype === 'BF16') return float32ArrayToBfloat16(data);
  return data;
}

/** Arguments of one chunk, rows with a NULL anywhere removed. */
export interface ChunkInputs {
  readonly rowCount: number;
  /** Per chunk row: 1 when it was sent to the model. */
  readonly present: Uint8Array;
  /** Rows sent (the tensors' first dimension). */
  readonly validRows: number;
  readonly tensors: Tensor[];
}

/** Element arrays for the LIST element types the functions declare (see predict-function-spec.ts). */
const LIST_ELEMENTS: Partial<
  Record<
    DuckDBTypeId,
    {
      bytes: number;
      view: (b: Uint8Array, n: number) => Float32Array | Float64Array | BigInt64Array | BigUint64Array | Uint8Array;
    }
  >
> = {
  [DuckDBTypeId.FLOAT]: { bytes: 4, view: (b, n) => new Float32Array(b.buffer, b.byteOffset, n) },
  [DuckDBTypeId.DOUBLE]: { bytes: 8, view: (b, n) => new Float64Array(b.buffer, b.byteOffset, n) },
  [DuckDBTypeId.BIGINT]: { bytes: 8, view: (b, n) => new BigInt64Array(b.buffer, b.byteOffset, n) },
  [DuckDBTypeId.UBIGINT]: { bytes: 8, view: (b, n) => new BigUint64Array(b.buffer, b.byteOffset, n) },
  [DuckDBTypeId.BOOLEAN]: { bytes: 1, view: (b, n) => new Uint8Array(b.buffer, b.byteOffset, n) },
};

/**
 * A LIST column read straight from DuckDB's buffers: the (offset, length) entries, the validity
 * masks and the flat element array. The vector wrappers of @duckdb/node-api test validity with a
 * BigInt per element, which made reading FLOAT[256] arguments cost as much as running the model.
 * The views are only valid during the callback; the values are copied into the tensor.
 */
interface RawList {
  readonly entries: BigUint64Array;
  readonly rowValidity: Uint8Array | null;
  readonly values: Float32Array | Float64Array | BigInt64Array | BigUint64Array | Uint8Array;
  readonly valueValidity: Uint8Array | null;
}

function bitSet(mask: Uint8Array | null, i: number): boolean {
  return mask === null || ((mask[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

function rawList(chunk: DuckDBDataChunk, column: number, type: DuckDBType, rowCount: number): RawList {
  const element = type instanceof DuckDBListType ? LIST_ELEMENTS[type.valueType.typeId] : undefined;
  if (element === undefined) throw new Error(`unexpected argument type ${type.toString()}`);
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
  const entryBytes = duckdb.vector_get_data(vector, rowCount * 16);
  const child = duckdb.list_vector_get_child(vector);
  const size = duckdb.list_vector_get_size(vector);
  // vector_get_validity answers null when every row is valid, though its typing says otherwise.
  const rowValidity = duckdb.vector_get_validity(vector, Math.ceil(rowCount / 64) * 8) as Uint8Array | null;
  const valueValidity = duckdb.vector_get_validity(child, Math.ceil(size / 64) * 8) as Uint8Array | null;
  return {
    entries: new BigUint64Array(entryBytes.buffer, entryBytes.byteOffset, rowCount * 2),
    rowValidity,
    values: element.view(duckdb.vector_get_data(child, size * element.bytes), size),
    valueValidity,
  };
}

/** Copies one row's list into the tensor data, converting element types where they differ. */
function copyRow(data: TensorData, at: number, list: RawList, offset: number, length: number): void {
  const { values } = list;
  const same =
    (data instanceof Float32Array && (values instanceof Float32Array || values instanceof Float64Array)) ||
    (data instanceof Float64Array && (values instanceof Float32Array || values instanceof Float64Array)) ||
    (data instanceof BigInt64Array && values instanceof BigInt64Array) ||
    (data instanceof BigUint64Array && values instanceof BigUint64Array);
  if (same) {
    copyElements(data, at, values, offset, offset + length);
    return;
  }
  for (let e = 0; e < length; e++) store(data, at + e, values[offset + e] as Cell);
}

function argumentError(spec: PredictFunctionSpec, arg: number, text: string): Error {
  return invalidArgument(`${spec.display}: argument ${arg + 2} ${text}`);
}

export function readChunkInputs(spec: PredictFunctionSpec, chunk: DuckDBDataChunk): ChunkInputs {
  const rowCount = chunk.rowCount;
  const present = new Uint8Array(rowCount).fill(1);
  const columns: DuckDBVector[] = [];
  for (let c = 0; c < spec.argCount; c++) columns.push(chunk.getColumnVector(c));

  if (spec.mapping === 'columns') {
    for (const col of columns) for (let r = 0; r < rowCount; r++) if (col.getItem(r) === null) present[r] = 0;
    const validRows = present.reduce((a, b) => a + b, 0);
    const input = spec.inputs[0] as InputPlan;
    const width = spec.argCount;
    const data = allocate(input.datatype, validRows * width);
    let row = 0;
    for (let r = 0; r < rowCount; r++) {
      if (present[r] === 0) continue;
      for (let c = 0; c < width; c++) store(data, row * width + c, columns[c]?.getItem(r) as Cell);
      row++;
    }
    const tensor = makeTensor(input.name, input.datatype, [validRows, ...input.dims], finish(input.datatype, data));
    return { rowCount, present, validRows, tensors: [tensor] };
  }

  // One argument per input: a scalar for one-value inputs, otherwise a LIST (ARRAYs arrive cast to LIST).
  const lists = spec.inputs.map((input, k) =>
    input.width === 1 ? undefined : rawList(chunk, k, (columns[k] as DuckDBVector).type, rowCount),
  );
  const lengths = spec.inputs.map(() => -1);
  for (const [k, input] of spec.inputs.entries()) {
    const list = lists[k];
    for (let r = 0; r < rowCount; r++) {
      if (list === undefined) {
        if (columns[k]?.getItem(r) === null) present[r] = 0;
        continue;
      }
      if (!bitSet(list.rowValidity, r)) {
        present[r] = 0;
        continue;
      }
      const offset = Number(list.entries[2 * r]);
      const len = Number(list.entries[2 * r + 1]);
      if (input.width >= 0 && len !== input.width) {
        throw argumentError(
          spec,
          k,
          `has ${len} element${len === 1 ? '' : 's'} in a row, but input '${input.name}' of model '${spec.model}' takes ${input.width} per row`,
        );
      }
      const seen = lengths[k] ?? -1;
      if (seen >= 0 && seen !== len) {
        throw argumentError(
          spec,
          k,
          `has lists of ${seen} and ${len} elements in one chunk; input '${input.name}' has a variable dimension, and the rows of one execution must agree`,
        );
      }
      lengths[k] = len;
      if (list.valueValidity !== null)
        for (let e = 0; e < len; e++) if (!bitSet(list.valueValidity, offset + e)) present[r] = 0;
    }
  }
  const validRows = present.reduce((a, b) => a + b, 0);
  const tensors = spec.inputs.map((input, k): Tensor => {
    const list = lists[k];
    const len = list === undefined ? 1 : Math.max(lengths[k] ?? 0, 0);
    const data = allocate(input.datatype, validRows * len);
    let row = 0;
    // Rows whose lists lie back to back in DuckDB's child vector are copied as one run.
    let runRow = 0;
    let runStart = 0;
    let runEnd = 0;
    for (let r = 0; r < rowCount; r++) {
      if (present[r] === 0) continue;
      if (list === undefined) store(data, row, columns[k]?.getItem(r) as Cell);
      else {
        const offset = Number(list.entries[2 * r]);
        if (offset !== runEnd || runEnd === runStart) {
          if (runEnd > runStart) copyRow(data, runRow * len, list, runStart, runEnd - runStart);
          runRow = row;
          runStart = offset;
        }
        runEnd = offset + len;
      }
      row++;
    }
    if (list !== undefined && runEnd > runStart) copyRow(data, runRow * len, list, runStart, runEnd - runStart);
    const fixed = input.dims.reduce((a, d) => (d < 0 ? a : a * d), 1);
    const dims = input.dims.map((d) => (d < 0 ? len / Math.max(fixed, 1) : d));
    if (!dims.every(Number.isInteger)) {
      throw argumentError(
        spec,
        k,
        `has ${len} elements per row, which does not fill input '${input.name}' of shape ${JSON.stringify(input.dims)}`,
      );
    }
    return makeTensor(input.name, input.datatype, [validRows, ...dims], finish(input.datatype, data));
  });
  return { rowCount, present, validRows, tensors };
}

function readAsNumbers(t: Tensor): ArrayLike<number | bigint> | Uint8Array[] {
  if (t.datatype === 'FP16') return float16ArrayToFloat32(t.data);
  if (t.datatype === 'BF16') return bfloat16ArrayToFloat32(t.data);
  return t.data;
}

function cellOf(datatype: Datatype, value: number | bigint | Uint8Array | undefined): DuckDBValue {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (datatype === 'BOOL') return value !== 0;
  return value;
}

/** Writes the function's result for every chunk row: NULL where a row was left out. */
export function writeChunkOutput(
  spec: PredictFunctionSpec,
  inputs: ChunkInputs,
  output: Tensor | undefined,
  vector: DuckDBVector,
): void {
  const width = output === undefined || inputs.validRows === 0 ? 0 : output.data.length / inputs.validRows;
  const values = output === undefined ? [] : readAsNumbers(output);
  const datatype = output?.datatype ?? spec.output.datatype;
  let row = 0;
  for (let r = 0; r < inputs.rowCount; r++) {
    if (inputs.present[r] === 0) {
      vector.setItem(r, null);
      continue;
    }
    const base = row * width;
    row++;
    if (spec.kind === 'predict_label') {
      let best = 0;
      for (let e = 1; e < width; e++) if (Number(values[base + e]) > Number(values[base + best])) best = e;
      vector.setItem(r, spec.labels?.[best] ?? String(best));
    } else if (spec.returnType.list) {
      const items: DuckDBValue[] = [];
      for (let e = 0; e < width; e++) items.push(cellOf(datatype, values[base + e]));
      vector.setItem(r, listValue(items));
    } else {
      vector.setItem(r, cellOf(datatype, values[base]));
    }
  }
  vector.flush();
}
