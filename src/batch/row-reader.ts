// Streams the rows of a table source as batches of model input tensors, chunk by chunk (memory
// stays bounded whatever the file size). DuckDB casts and checks each row; rows that cannot feed
// the model come out as row errors with the reason, the others are copied straight from DuckDB's
// vectors into the batch's typed arrays.

import type { DuckDBConnection, DuckDBDataChunk, DuckDBListValue } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { ARRAY_TYPES, type TensorData } from '../tensor/datatype.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../tensor/half.js';
import { copyElements, makeTensor, type Tensor } from '../tensor/tensor.js';
import type { InputPlan, MappingPlan } from './column-mapping.js';
import { quoteLiteral, SQL_ELEMENT_TYPE } from './duckdb-types.js';
import type { TableSource } from './table-source.js';

/** An id as read from the id column: JSON-serialisable except for bigint. */
export type RowId = string | number | bigint | boolean | null;

export interface RowError {
  readonly row: number;
  readonly id?: RowId;
  readonly error: string;
}

export interface RowBatch {
  /** Input rows [firstRow, endRow) are all accounted for by this batch: in `rows` or in `errors`. */
  readonly firstRow: number;
  readonly endRow: number;
  /** Row numbers of the rows the tensors hold, in order. */
  readonly rows: readonly number[];
  readonly ids: readonly RowId[] | undefined;
  /** One tensor per model input, [rows.length, ...dims] (or dims for a model without batching). */
  readonly inputs: readonly Tensor[];
  readonly errors: readonly RowError[];
}

/**
 * The tensors of a batch of `n` rows from the buffers they were read into (`data[k]` for input k,
 * allocated for a full batch): a buffer the rows fill is used as it is, a shorter batch's is cut.
 */
export function batchTensors(
  inputs: readonly InputPlan[],
  data: readonly TensorData[],
  n: number,
  batched: boolean,
): Tensor[] {
  return inputs.map((p, k): Tensor => {
    const full = data[k] ?? [];
    const d: TensorData = n * p.width === full.length ? full : full.slice(0, n * p.width);
    return makeTensor(p.input, p.datatype, batched ? [n, ...p.dims] : [...p.dims], d);
  });
}

export interface ReadOptions {
  /** First row to read (0-based, in input order). */
  readonly start: number;
  /** Row after the last one to read. */
  readonly end: number;
  readonly batchSize: number;
  /** False for models without a batch dimension (max_batch_size 0): one row per tensor, no leading dim. */
  readonly batched: boolean;
}

type Writable = Exclude<TensorData, Uint8Array[]>;

/** The typed array DuckDB's vector holds for the SQL type an input is cast to. */
const SQL_ARRAY: Readonly<
  Record<string, { ctor: new (b: ArrayBuffer, o: number, n: number) => Writable; size: number }>
> = {
  BOOLEAN: { ctor: Uint8Array, size: 1 },
  UTINYINT: { ctor: Uint8Array, size: 1 },
  USMALLINT: { ctor: Uint16Array, size: 2 },
  UINTEGER: { ctor: Uint32Array, size: 4 },
  UBIGINT: { ctor: BigUint64Array, size: 8 },
  TINYINT: { ctor: Int8Array, size: 1 },
  SMALLINT: { ctor: Int16Array, size: 2 },
  INTEGER: { ctor: Int32Array, size: 4 },
  BIGINT: { ctor: BigInt64Array, size: 8 },
  FLOAT: { ctor: Float32Array, size: 4 },
  DOUBLE: { ctor: Float64Array, size: 8 },
};

function sqlText(s: string): string {
  return quoteLiteral(s);
}

/**
 * The SQL that reads every row as: id, one list per input, and an error message or NULL. (No
 * LIMIT/OFFSET: with insertion order preserved DuckDB buffers what OFFSET skips; the reader skips
 * rows before a resume point itself and stops at the end of its range.)
 */
export function buildRowQuery(source: TableSource, plan: MappingPlan): string {
  const raws: string[] = [];
  const rawIndex = new Map<string, number>();
  const raw = (column: string): string => {
    let i = rawIndex.get(column);
    if (i === undefined) {
      i = raws.length;
      rawIndex.set(column, i);
      raws.push(`${source.columnExpr(column)} AS __raw_${i}`);
    }
    return `__raw_${i}`;
  };
  const inputs: string[] = [];
  const checks: string[] = [];
  for (const [k, p] of plan.inputs.entries()) {
    const t = SQL_ELEMENT_TYPE[p.datatype];
    const mode = listReadMode(source, p);
    if (mode !== 'cast') {
      // Already of the input's element type: read as is (null elements are found by the reader in
      // the list's validity, which costs less than counting them in SQL).
      const col = p.columns[0] ?? '';
      const r = raw(col);
      inputs.push(`${r} AS __in_${k}`);
      checks.push(`WHEN ${r} IS NULL THEN ${sqlText(`column '${col}' is missing or null`)}`);
      if (mode === 'list')
        checks.push(
          `WHEN len(${r}) <> ${p.width} THEN ${sqlText(`column '${col}' has `)} || len(${r}) || ${sqlText(` values; input '${p.input}' takes ${p.width} (${p.datatype} [${p.dims.join(',')}])`)}`,
        );
    } else if (p.kind === 'list') {
      const col = p.columns[0] ?? '';
      const r = raw(col);
      let expr =
        p.datatype === 'BYTES' && source.input.format === 'jsonl'
          ? `TRY_CAST(${r} AS JSON[])::VARCHAR[]`
          : `TRY_CAST(${r} AS ${t}${'[]'.repeat(p.listDepth)})`;
      for (let d = 1; d < p.listDepth; d++) expr = `flatten(${expr})`;
      inputs.push(`${expr} AS __in_${k}`);
      const c = `__in_${k}`;
      const what = `column '${col}'`;
      checks.push(
        `WHEN ${r} IS NULL THEN ${sqlText(`${what} is missing or null`)}`,
        `WHEN ${c} IS NULL THEN ${sqlText(`${what}: `)} || left(${r}::VARCHAR, 60) || ${sqlText(` is not a list of ${p.datatype}`)}`,
        `WHEN len(${c}) <> ${p.width} THEN ${sqlText(`${what} has `)} || len(${c}) || ${sqlText(` values; input '${p.input}' takes ${p.width} (${p.datatype} [${p.dims.join(',')}])`)}`,
        `WHEN list_count(${c}) <> len(${c}) THEN ${sqlText(`${what}: a value is null or not a valid ${p.datatype}: `)} || left(${r}::VARCHAR, 60)`,
      );
    } else {
      const items: string[] = [];
      for (const col of p.columns) {
        const r = raw(col);
        const cast = p.datatype === 'BYTES' ? source.typedExpr(col) : `TRY_CAST(${r} AS ${t})`;
        items.push(cast);
        checks.push(
          `WHEN ${r} IS NULL THEN ${sqlText(`column '${col}' is missing or null`)}`,
          `WHEN ${cast} IS NULL THEN ${sqlText(`column '${col}': `)} || left(${r}::VARCHAR, 60) || ${sqlText(` is not a valid ${p.datatype}`)}`,
        );
      }
      inputs.push(`[${items.join(', ')}] AS __in_${k}`);
    }
  }
  const id = plan.idColumn === undefined ? 'NULL' : source.typedExpr(plan.idColumn);
  const rowError = source.rowErrorExpr === undefined ? [] : [`WHEN __rowerr IS NOT NULL THEN __rowerr`];
  return `WITH __src AS (${source.relation}),
__cast AS (SELECT ${source.rowErrorExpr ?? 'NULL'} AS __rowerr, ${id} AS __id, ${[...raws, ...inputs].join(', ')} FROM __src)
SELECT __id, ${plan.inputs.map((_, k) => `__in_${k}`).join(', ')},
  CASE ${[...rowError, ...checks].join('\n    ')} END AS __err
FROM __cast`;
}

/**
 * How a list input's column is read: 'array' for a fixed-size array of the input's element type and
 * width (e.g. FLOAT[256]), 'list' for a list of the element type (FLOAT[], as Parquet stores both),
 * both read from Parquet as they are (no cast); 'cast' for anything else.
 */
export function listReadMode(source: TableSource, p: InputPlan): 'array' | 'list' | 'cast' {
  // Only Parquet columns are read as their described type (CSV as text, JSON lines as JSON).
  if (source.input.format !== 'parquet') return 'cast';
  if (p.kind !== 'list' || p.listDepth !== 1 || p.datatype === 'BYTES') return 'cast';
  const type = source.columns.find((c) => c.name === p.columns[0])?.type;
  const element = SQL_ELEMENT_TYPE[p.datatype];
  return type === `${element}[${p.width}]` ? 'array' : type === `${element}[]` ? 'list' : 'cast';
}

function toRowId(value: unknown): RowId {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return value;
  return (value as { toString(): string }).toString();
}

/** A native vector's data as a typed array (copied when the memory is not aligned for the type). */
function typedView(vector: duckdb.Vector, sqlType: string, count: number): Writable {
  const spec = SQL_ARRAY[sqlType];
  if (spec === undefined) throw new Error(`no typed array for ${sqlType}`);
  const bytes = duckdb.vector_get_data(vector, count * spec.size);
  if (bytes.byteOffset % spec.size === 0) return new spec.ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  const copy = bytes.slice();
  return new spec.ctor(copy.buffer, 0, count);
}

/** Copies one chunk's list column into per-row typed data. */
class ListColumn {
  /** List entries (offset, length) per row; undefined for a fixed-size array (row i at i × width). */
  private readonly entries: BigUint64Array | undefined;
  private readonly values: Writable | undefined;
  private readonly strings: ((i: number) => readonly string[]) | undefined;
  /** Validity of an array's elements (null: none is null). */
  private readonly elementValidity: Uint8Array | null = null;

  constructor(chunk: DuckDBDataChunk, column: number, rows: number, plan: InputPlan, mode: 'array' | 'list' | 'cast') {
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
    if (mode === 'array') {
      const child = duckdb.array_vector_get_child(vector);
      this.values = typedView(child, SQL_ELEMENT_TYPE[plan.datatype], rows * plan.width);
      this.elementValidity = duckdb.vector_get_validity(child, Math.ceil((rows * plan.width) / 8));
      return;
    }
    const entryBytes = duckdb.vector_get_data(vector, rows * 16);
    this.entries = new BigUint64Array(entryBytes.buffer as ArrayBuffer, entryBytes.byteOffset, rows * 2);
    if (mode === 'list') {
      const child = duckdb.list_vector_get_child(vector);
      const size = duckdb.list_vector_get_size(vector);
      this.values = typedView(child, SQL_ELEMENT_TYPE[plan.datatype], size);
      this.elementValidity = duckdb.vector_get_validity(child, Math.ceil(size / 8));
      return;
    }
    if (plan.datatype === 'BYTES') {
      const list = chunk.getColumnVector(column);
      this.strings = (i) => ((list.getItem(i) as DuckDBListValue | null)?.items ?? []).map((v) => String(v));
    } else {
      const child = duckdb.list_vector_get_child(vector);
      const size = duckdb.list_vector_get_size(vector);
      this.values = typedView(child, SQL_ELEMENT_TYPE[plan.datatype], size);
    }
  }

  /** Whether an element of row i is null (lists read without a cast; the others are checked in SQL). */
  hasNullElement(i: number, width: number): boolean {
    const v = this.elementValidity;
    if (v === null) return false;
    const offset = this.entries === undefined ? i * width : Number(this.entries[2 * i] ?? 0n);
    for (let j = offset; j < offset + width; j++) if (((v[j >> 3] ?? 0) & (1 << (j & 7))) === 0) return true;
    return false;
  }

  copyRow(i: number, plan: InputPlan, dst: Writable | Uint8Array[], at: number): void {
    const width = plan.width;
    const offset = this.entries === undefined ? i * width : Number(this.entries[2 * i] ?? 0n);
    // BYTES inputs are read as strings (and only they are), into an array of elements.
    if (Array.isArray(dst)) {
      const enc = new TextEncoder();
      const items = this.strings?.(i) ?? [];
      for (let j = 0; j < width; j++) dst[at + j] = enc.encode(items[j] ?? '');
      return;
    }
    const src = this.values;
    if (src === undefined) throw new Error(`input '${plan.input}': no values read for ${plan.datatype} data`);
    if (plan.datatype === 'FP16' || plan.datatype === 'BF16') {
      // Read as FLOAT (float32), stored as 16-bit patterns.
      const conv = plan.datatype === 'FP16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
      for (let j = 0; j < width; j++) dst[at + j] = conv(Number(src[offset + j] ?? 0));
      return;
    }
    copyElements(dst, at, src, offset, offset + width);
  }
}

/** Whether row i of a vector is non-null (validity bit set, or no validity mask). */
function isValid(validity: Uint8Array | null, i: number): boolean {
  return validity === null || ((validity[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

/**
 * Reads rows [start, end) of the source as batches of at most batchSize valid rows. Each batch
 * accounts for a contiguous range of rows (valid ones in the tensors, the others as errors), so a
 * caller that commits batches in order always knows the first row not yet done.
 */
export async function* readBatches(
  conn: DuckDBConnection,
  source: TableSource,
  plan: MappingPlan,
  options: ReadOptions,
): AsyncGenerator<RowBatch> {
  const { start, end, batched } = options;
  const batchSize = batched ? options.batchSize : 1;
  const result = await conn.stream(buildRowQuery(source, plan));
  const nInputs = plan.inputs.length;
  const errColumn = nInputs + 1;

  const alloc = (): (Writable | Uint8Array[])[] =>
    plan.inputs.map((p) =>
      p.datatype === 'BYTES'
        ? new Array<Uint8Array>(batchSize * p.width)
        : new ARRAY_TYPES[p.datatype](batchSize * p.width),
    );
  let data = alloc();
  let rows: number[] = [];
  let ids: RowId[] = [];
  let errors: RowError[] = [];
  let firstRow = start;
  let next = start;

  const finish = (): RowBatch => {
    const batch: RowBatch = {
      firstRow,
      endRow: next,
      rows,
      ids: plan.idColumn === undefined ? undefined : ids,
      inputs: batchTensors(plan.inputs, data, rows.length, batched),
      errors,
    };
    data = alloc();
    rows = [];
    ids = [];
    errors = [];
    firstRow = next;
    return batch;
  };

  const modes = plan.inputs.map((p) => listReadMode(source, p));
  const anyUncast = modes.some((m) => m !== 'cast');
  let position = 0;
  // One chunk ahead: DuckDB decodes the next chunk while this one is copied and executed.
  let ahead: Promise<DuckDBDataChunk | null> | undefined = result.fetchChunk();
  try {
    for (;;) {
      if (next >= end || ahead === undefined) break;
      const chunk: DuckDBDataChunk | null = await ahead;
      if (chunk === null || chunk.rowCount === 0) {
        ahead = undefined;
        break;
      }
      ahead = position + chunk.rowCount < end ? result.fetchChunk() : undefined;
      const chunkStart = position;
      position += chunk.rowCount;
      if (position <= start) continue;
      // Rows of this chunk before `start` were done by an earlier run (or belong to another shard).
      const first = Math.max(0, start - chunkStart);
      const n = Math.min(chunk.rowCount, end - chunkStart);
      const errVector = duckdb.data_chunk_get_vector(chunk.chunk, errColumn);
      const errValidity = duckdb.vector_get_validity(errVector, Math.ceil(chunk.rowCount / 8));
      // No validity mask means no NULL: every row of the chunk failed. Read the messages only when one did.
      let errItems: ReturnType<DuckDBDataChunk['getColumnVector']> | undefined;
      const idVector = plan.idColumn === undefined ? undefined : chunk.getColumnVector(0);
      const lists = plan.inputs.map((p, k) => new ListColumn(chunk, k + 1, chunk.rowCount, p, modes[k] ?? 'cast'));
      for (let i = first; i < n; i++) {
        const row = next++;
        const id = idVector === undefined ? undefined : toRowId(idVector.getItem(i));
        // The error column is NULL for good rows, so a set validity bit means the row failed.
        if (isValid(errValidity, i)) {
          errItems ??= chunk.getColumnVector(errColumn);
          errors.push({ row, ...(id === undefined ? {} : { id }), error: String(errItems.getItem(i)) });
          continue;
        }
        const nullIn = anyUncast ? plan.inputs.findIndex((p, k) => lists[k]?.hasNullElement(i, p.width) === true) : -1;
        if (nullIn >= 0) {
          const p = plan.inputs[nullIn] as InputPlan;
          const error = `column '${p.columns[0] ?? ''}': a value is null (input '${p.input}' takes ${p.width} ${p.datatype} values)`;
          errors.push({ row, ...(id === undefined ? {} : { id }), error });
          continue;
        }
        const slot = rows.length;
        for (let k = 0; k < nInputs; k++) {
          const p = plan.inputs[k] as InputPlan;
          (lists[k] as ListColumn).copyRow(i, p, data[k] ?? [], slot * p.width);
        }
        rows.push(row);
        if (id !== undefined) ids.push(id);
        if (rows.length === batchSize) yield finish();
      }
    }
    if (next > firstRow) yield finish();
  } finally {
    // Stopped early (end of the range, or the caller stopped): the chunk read ahead is not needed.
    void ahead?.catch(() => null);
  }
}
