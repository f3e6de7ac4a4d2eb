// Converts between DuckDB vectors and tensors inside the SQL worker: the arguments of one chunk
// become one tensor per model input (rows with a NULL left out), and the model's output tensor
// becomes the function's result vector (NULL for the rows left out).

import type { DuckDBListVector } from '@duckdb/node-api';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
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
import type { Tensor } from '../tensor/tensor.js';
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
  if (datatype === 'FP16') return float32ArrayToFloat16(data as Float32Array);
  if (datatype === 'BF16') return float32ArrayToBfloat16(data as Float32Array);
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

/** A row's LIST cells (or null), one entry per argument; the element vector is read lazily. */
function listRows(vector: DuckDBVector, rowCount: number): (DuckDBVector | null)[] {
  const list = vector as DuckDBListVector;
  const out: (DuckDBVector | null)[] = [];
  for (let r = 0; r < rowCount; r++) out.push(list.getItemVector(r));
  return out;
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
    const tensor: Tensor = {
      name: input.name,
      datatype: input.datatype,
      shape: [validRows, ...input.dims],
      data: finish(input.datatype, data),
    };
    return { rowCount, present, validRows, tensors: [tensor] };
  }

  // One argument per input: a scalar for one-value inputs, otherwise a LIST (ARRAYs arrive cast to LIST).
  const lists = spec.inputs.map((input, k) =>
    input.width === 1 ? undefined : listRows(columns[k] as DuckDBVector, rowCount),
  );
  const lengths = spec.inputs.map(() => -1);
  for (const [k, input] of spec.inputs.entries()) {
    const rows = lists[k];
    for (let r = 0; r < rowCount; r++) {
      if (rows === undefined) {
        if (columns[k]?.getItem(r) === null) present[r] = 0;
        continue;
      }
      const cell = rows[r];
      if (cell === null || cell === undefined) {
        present[r] = 0;
        continue;
      }
      const len = cell.itemCount;
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
      for (let e = 0; e < len; e++) if (cell.getItem(e) === null) present[r] = 0;
    }
  }
  const validRows = present.reduce((a, b) => a + b, 0);
  const tensors = spec.inputs.map((input, k): Tensor => {
    const rows = lists[k];
    const len = rows === undefined ? 1 : Math.max(lengths[k] ?? 0, 0);
    const data = allocate(input.datatype, validRows * len);
    let row = 0;
    for (let r = 0; r < rowCount; r++) {
      if (present[r] === 0) continue;
      if (rows === undefined) store(data, row, columns[k]?.getItem(r) as Cell);
      else {
        const cell = rows[r] as DuckDBVector;
        for (let e = 0; e < len; e++) store(data, row * len + e, cell.getItem(e) as Cell);
      }
      row++;
    }
    const fixed = input.dims.reduce((a, d) => (d < 0 ? a : a * d), 1);
    const dims = input.dims.map((d) => (d < 0 ? len / Math.max(fixed, 1) : d));
    if (!dims.every(Number.isInteger)) {
      throw argumentError(
        spec,
        k,
        `has ${len} elements per row, which does not fill input '${input.name}' of shape ${JSON.stringify(input.dims)}`,
      );
    }
    return {
      name: input.name,
      datatype: input.datatype,
      shape: [validRows, ...dims],
      data: finish(input.datatype, data),
    };
  });
  return { rowCount, present, validRows, tensors };
}

function readAsNumbers(datatype: Datatype, data: TensorData): ArrayLike<number | bigint> | Uint8Array[] {
  if (datatype === 'FP16') return float16ArrayToFloat32(data as Uint16Array);
  if (datatype === 'BF16') return bfloat16ArrayToFloat32(data as Uint16Array);
  return data;
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
  const values = output === undefined ? [] : readAsNumbers(output.datatype, output.data);
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
