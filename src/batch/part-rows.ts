// Output rows of a batch job in columnar form: each executed batch's row numbers, ids and output
// tensors are copied as typed arrays straight into DuckDB vectors (no per-value conversion, no
// text), appended to an in-memory table, and written as one Parquet part file per checkpoint. The
// final output is converted once at the end from the parts (partRelation), in the requested format.
//
// Columns that have no typed form (top-k structs, nested or text raw outputs, ids of other SQL
// types) travel as text (JSON, or the id's text) and are cast to their output type at the end.

import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { Datatype } from '../tensor/datatype.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../tensor/half.js';
import { fixedElements, type Tensor } from '../tensor/tensor.js';
import type { MappingPlan, OutputSpec } from './column-mapping.js';
import { literalList, quoteIdent, quoteLiteral } from './duckdb-types.js';
import type { TableFormat } from './input-files.js';
import type { OutputColumn } from './output-files.js';
import { TOPK_TYPE } from './output-rows.js';
import type { OutputFormatter } from './output-rows.js';
import type { RowId } from './row-reader.js';

/** Typed arrays DuckDB vectors hold, per SQL type a column can be copied into as raw memory. */
const TYPED: Readonly<Record<string, { type: duckdb.Type; size: number }>> = {
  BOOLEAN: { type: duckdb.Type.BOOLEAN, size: 1 },
  TINYINT: { type: duckdb.Type.TINYINT, size: 1 },
  SMALLINT: { type: duckdb.Type.SMALLINT, size: 2 },
  INTEGER: { type: duckdb.Type.INTEGER, size: 4 },
  BIGINT: { type: duckdb.Type.BIGINT, size: 8 },
  UTINYINT: { type: duckdb.Type.UTINYINT, size: 1 },
  USMALLINT: { type: duckdb.Type.USMALLINT, size: 2 },
  UINTEGER: { type: duckdb.Type.UINTEGER, size: 4 },
  UBIGINT: { type: duckdb.Type.UBIGINT, size: 8 },
  FLOAT: { type: duckdb.Type.FLOAT, size: 4 },
  DOUBLE: { type: duckdb.Type.DOUBLE, size: 8 },
};

/** The SQL element type a raw output of this datatype is copied into (FP16/BF16 widened to FLOAT). */
const RAW_ELEMENT: Readonly<Partial<Record<Datatype, string>>> = {
  BOOL: 'BOOLEAN',
  INT8: 'TINYINT',
  INT16: 'SMALLINT',
  INT32: 'INTEGER',
  INT64: 'BIGINT',
  UINT8: 'UTINYINT',
  UINT16: 'USMALLINT',
  UINT32: 'UINTEGER',
  UINT64: 'UBIGINT',
  FP16: 'FLOAT',
  BF16: 'FLOAT',
  FP32: 'FLOAT',
  FP64: 'DOUBLE',
};

type PartKind =
  | { readonly kind: 'row' }
  | { readonly kind: 'id-typed'; readonly sqlType: string }
  | { readonly kind: 'id-text' }
  | { readonly kind: 'raw'; readonly spec: OutputSpec; readonly element: string; readonly list: boolean }
  | { readonly kind: 'argmax'; readonly spec: OutputSpec }
  | { readonly kind: 'label'; readonly spec: OutputSpec }
  | { readonly kind: 'json'; readonly spec: OutputSpec };

interface PartColumn {
  /** Name in the output. */
  readonly name: string;
  /** Type in the output. */
  readonly outputType: string;
  /** Type in the part files. */
  readonly partType: string;
  readonly how: PartKind;
}

function logicalType(sqlType: string): duckdb.LogicalType {
  if (sqlType === 'VARCHAR') return duckdb.create_logical_type(duckdb.Type.VARCHAR);
  if (sqlType.endsWith('[]')) return duckdb.create_list_type(logicalType(sqlType.slice(0, -2)));
  const t = TYPED[sqlType];
  if (t === undefined) throw new Error(`no vector type for ${sqlType}`);
  return duckdb.create_logical_type(t.type);
}

/** How each output column is stored in the part files. */
function partColumns(config: ResolvedModelConfig, plan: MappingPlan, columns: readonly OutputColumn[]): PartColumn[] {
  return columns.map((c, i): PartColumn => {
    if (i === 0) return { name: c.name, outputType: c.type, partType: 'BIGINT', how: { kind: 'row' } };
    if (plan.idColumn !== undefined && i === 1) {
      const typed = TYPED[c.type] !== undefined && c.type !== 'BOOLEAN';
      return typed
        ? { name: c.name, outputType: c.type, partType: c.type, how: { kind: 'id-typed', sqlType: c.type } }
        : { name: c.name, outputType: c.type, partType: 'VARCHAR', how: { kind: 'id-text' } };
    }
    const spec = plan.outputs[i - (plan.idColumn === undefined ? 1 : 2)] as OutputSpec;
    const tensor = config.outputs.find((o) => o.name === spec.output);
    const json: PartColumn = { name: c.name, outputType: c.type, partType: 'VARCHAR', how: { kind: 'json', spec } };
    switch (spec.mode.kind) {
      case 'raw': {
        const element = tensor === undefined ? undefined : RAW_ELEMENT[tensor.datatype];
        const rank = tensor?.dims.length ?? -1;
        if (element === undefined || rank > 1) return json;
        const list = rank === 1;
        return {
          name: c.name,
          outputType: c.type,
          partType: list ? `${element}[]` : element,
          how: { kind: 'raw', spec, element, list },
        };
      }
      case 'argmax':
        return { name: c.name, outputType: c.type, partType: 'BIGINT', how: { kind: 'argmax', spec } };
      case 'label':
        return { name: c.name, outputType: c.type, partType: 'VARCHAR', how: { kind: 'label', spec } };
      case 'topk':
        return json;
    }
  });
}

function bytesOf(a: ArrayBufferView): { buffer: ArrayBuffer; offset: number } {
  return { buffer: a.buffer as ArrayBuffer, offset: a.byteOffset };
}

/** Float32 values of an FP16/BF16 tensor slice. */
function widen(datatype: Datatype, data: Uint16Array): Float32Array {
  const out = new Float32Array(data.length);
  const conv = datatype === 'FP16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
  for (let i = 0; i < data.length; i++) out[i] = conv(data[i] ?? 0);
  return out;
}

/** Index of the highest value per row (NaN never wins unless all are NaN; ties to the lower index). */
function argmaxRows(t: Tensor, first: number, n: number, rows: number): BigInt64Array {
  const total = t.data.length;
  const width = rows === 0 ? 0 : total / rows;
  const out = new BigInt64Array(n);
  const data = fixedElements(t);
  const half = t.datatype === 'FP16' || t.datatype === 'BF16';
  const conv = t.datatype === 'FP16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
  for (let r = 0; r < n; r++) {
    const at = (first + r) * width;
    let best = 0;
    let bestValue = NaN;
    for (let j = 0; j < width; j++) {
      const raw = data[at + j] ?? 0;
      const v = half ? conv(raw as number) : Number(raw);
      if (Number.isNaN(v)) continue;
      if (Number.isNaN(bestValue) || v > bestValue) {
        best = j;
        bestValue = v;
      }
    }
    out[r] = BigInt(best);
  }
  return out;
}

export class PartRowsWriter {
  private appender: DuckDBAppender | undefined;
  private readonly chunk: DuckDBDataChunk;
  private readonly capacity = duckdb.vector_size();
  private rowsInTable = 0;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly table: string,
    private readonly columns: readonly PartColumn[],
    private readonly formatter: OutputFormatter,
    private readonly labels: ReadonlyMap<string, readonly string[]>,
  ) {
    this.chunk = new DuckDBDataChunk(duckdb.create_data_chunk(columns.map((c) => logicalType(c.partType))));
  }

  /** Opens a writer on its own connection (the reader's connection is busy streaming). */
  static async open(
    conn: DuckDBConnection,
    config: ResolvedModelConfig,
    plan: MappingPlan,
    labels: ReadonlyMap<string, readonly string[]>,
    columns: readonly OutputColumn[],
    formatter: OutputFormatter,
  ): Promise<PartRowsWriter> {
    const cols = partColumns(config, plan, columns);
    const table = '__inferd_part_rows';
    await conn.run(`CREATE OR REPLACE TABLE ${table} (${cols.map((c, i) => `c${i} ${c.partType}`).join(', ')})`);
    return new PartRowsWriter(conn, table, cols, formatter, labels);
  }

  /** Rows added since the last part was written. */
  get pendingRows(): number {
    return this.rowsInTable;
  }

  /** Adds the rows of one execution: outputs are [rows.length, ...] tensors. */
  async add(
    rows: readonly number[],
    ids: readonly RowId[] | undefined,
    outputs: ReadonlyMap<string, Tensor>,
  ): Promise<void> {
    if (rows.length === 0) return;
    this.appender ??= await this.conn.createAppender(this.table);
    for (let first = 0; first < rows.length; first += this.capacity) {
      const n = Math.min(this.capacity, rows.length - first);
      duckdb.data_chunk_reset(this.chunk.chunk);
      for (const [c, col] of this.columns.entries()) this.fill(c, col, rows, ids, outputs, first, n);
      duckdb.data_chunk_set_size(this.chunk.chunk, n);
      this.appender.appendDataChunk(this.chunk);
    }
    this.rowsInTable += rows.length;
  }

  private fill(
    c: number,
    col: PartColumn,
    rows: readonly number[],
    ids: readonly RowId[] | undefined,
    outputs: ReadonlyMap<string, Tensor>,
    first: number,
    n: number,
  ): void {
    const vector = duckdb.data_chunk_get_vector(this.chunk.chunk, c);
    const how = col.how;
    switch (how.kind) {
      case 'row': {
        const values = new BigInt64Array(n);
        for (let r = 0; r < n; r++) values[r] = BigInt(rows[first + r] ?? 0);
        duckdb.copy_data_to_vector(vector, 0, values.buffer, 0, n * 8);
        return;
      }
      case 'id-typed':
        return this.fillTypedIds(vector, how.sqlType, ids ?? [], first, n);
      case 'id-text':
        return this.fillText(vector, n, (r) => {
          const id = ids?.[first + r];
          return id === null || id === undefined ? null : String(id);
        });
      case 'argmax': {
        const t = outputs.get(how.spec.output);
        if (t === undefined) return this.fillNull(vector, n);
        const values = argmaxRows(t, first, n, rows.length);
        duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, 0, n * 8);
        return;
      }
      case 'label': {
        const t = outputs.get(how.spec.output);
        if (t === undefined) return this.fillNull(vector, n);
        const labels = this.labels.get(how.spec.output);
        const best = argmaxRows(t, first, n, rows.length);
        return this.fillText(vector, n, (r) => {
          const i = Number(best[r] ?? 0n);
          return labels?.[i] ?? String(i);
        });
      }
      case 'json': {
        const t = outputs.get(how.spec.output);
        if (t === undefined) return this.fillNull(vector, n);
        return this.fillText(vector, n, (r) => this.formatter.valueText(how.spec, t, first + r, rows.length));
      }
      case 'raw': {
        const t = outputs.get(how.spec.output);
        if (t === undefined) return this.fillNull(vector, n);
        const width = t.data.length / rows.length;
        const from = first * width;
        const to = (first + n) * width;
        const data =
          t.datatype === 'FP16' || t.datatype === 'BF16'
            ? widen(t.datatype, t.data.subarray(from, to))
            : t.datatype === 'BOOL'
              ? Uint8Array.from(t.data.subarray(from, to), (v) => (v === 0 ? 0 : 1))
              : fixedElements(t).subarray(from, to);
        const size = (TYPED[how.element] as { size: number }).size;
        const { buffer, offset } = bytesOf(data);
        if (!how.list) {
          duckdb.copy_data_to_vector(vector, 0, buffer, offset, n * size);
          return;
        }
        const entries = new BigUint64Array(2 * n);
        for (let r = 0; r < n; r++) {
          entries[2 * r] = BigInt(r * width);
          entries[2 * r + 1] = BigInt(width);
        }
        duckdb.list_vector_reserve(vector, n * width);
        duckdb.list_vector_set_size(vector, n * width);
        duckdb.copy_data_to_vector(duckdb.list_vector_get_child(vector), 0, buffer, offset, n * width * size);
        duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, n * 16);
        return;
      }
    }
  }

  private fillTypedIds(vector: duckdb.Vector, sqlType: string, ids: readonly RowId[], first: number, n: number): void {
    const spec = TYPED[sqlType] as { size: number };
    const buffer = new ArrayBuffer(n * spec.size);
    const bigint = sqlType === 'BIGINT' || sqlType === 'UBIGINT';
    const view =
      sqlType === 'BIGINT'
        ? new BigInt64Array(buffer)
        : sqlType === 'UBIGINT'
          ? new BigUint64Array(buffer)
          : new DataView(buffer);
    const nulls: number[] = [];
    for (let r = 0; r < n; r++) {
      const id = ids[first + r];
      if (id === null || id === undefined) {
        nulls.push(r);
        continue;
      }
      if (bigint) (view as BigInt64Array)[r] = BigInt(id);
      else setScalar(view as DataView, sqlType, r, Number(id));
    }
    duckdb.copy_data_to_vector(vector, 0, buffer, 0, n * spec.size);
    if (nulls.length > 0) this.setNulls(vector, n, nulls);
  }

  private fillText(vector: duckdb.Vector, n: number, text: (r: number) => string | null): void {
    const nulls: number[] = [];
    for (let r = 0; r < n; r++) {
      const s = text(r);
      if (s === null) nulls.push(r);
      else duckdb.vector_assign_string_element(vector, r, s);
    }
    if (nulls.length > 0) this.setNulls(vector, n, nulls);
  }

  private fillNull(vector: duckdb.Vector, n: number): void {
    this.setNulls(
      vector,
      n,
      Array.from({ length: n }, (_, r) => r),
    );
  }

  private setNulls(vector: duckdb.Vector, n: number, rows: readonly number[]): void {
    const bytes = Math.ceil(n / 64) * 8;
    const mask = new Uint8Array(bytes).fill(0xff);
    for (const r of rows) mask[r >> 3] = (mask[r >> 3] ?? 0) & ~(1 << (r & 7));
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, mask.buffer, 0, bytes);
  }

  /** Writes the rows added since the last part to `file` (Parquet) and starts a new part. */
  async writePart(file: string): Promise<void> {
    this.appender?.closeSync();
    this.appender = undefined;
    await this.conn.run(`COPY ${this.table} TO ${quoteLiteral(file)} (FORMAT parquet)`);
    await this.conn.run(`DELETE FROM ${this.table}`);
    this.rowsInTable = 0;
  }

  /** Drops rows not yet written (an interrupted commit; they are redone on resume). */
  abandon(): void {
    try {
      this.appender?.closeSync();
    } catch {
      // The rows are dropped anyway.
    }
    this.appender = undefined;
  }

  /**
   * SELECT over part files giving the output columns, typed and named (an empty relation without
   * parts). For JSON lines, float values are written as JSON-safe text (NaN and infinities as strings).
   */
  relation(files: readonly string[], format: TableFormat): string {
    if (files.length === 0)
      return `SELECT ${this.columns.map((c) => `NULL::${c.outputType} AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`;
    const exprs = this.columns.map((c, i) => {
      const src = `c${i}`;
      const expr =
        c.how.kind === 'json'
          ? `CAST(${src}::JSON AS ${c.outputType})`
          : c.partType === c.outputType
            ? src
            : `CAST(${src} AS ${c.outputType})`;
      return `${format === 'jsonl' ? jsonSafe(expr, c.outputType) : expr} AS ${quoteIdent(c.name)}`;
    });
    return `SELECT ${exprs.join(', ')} FROM read_parquet(${literalList(files)})`;
  }
}

function setScalar(view: DataView, sqlType: string, r: number, v: number): void {
  switch (sqlType) {
    case 'TINYINT':
      return view.setInt8(r, v);
    case 'SMALLINT':
      return view.setInt16(r * 2, v, true);
    case 'INTEGER':
      return view.setInt32(r * 4, v, true);
    case 'UTINYINT':
      return view.setUint8(r, v);
    case 'USMALLINT':
      return view.setUint16(r * 2, v, true);
    case 'UINTEGER':
      return view.setUint32(r * 4, v, true);
    case 'FLOAT':
      return view.setFloat32(r * 4, v, true);
    default:
      return view.setFloat64(r * 8, v, true);
  }
}

/**
 * SQL giving `expr` (of SQL type `type`) as JSON-safe values: DuckDB's JSON writer prints non-finite
 * floats as bare NaN / inf, which no JSON reader accepts; they become the strings "NaN",
 * "Infinity", "-Infinity" (which DuckDB and most readers cast back), finite floats their shortest text.
 */
export function jsonSafe(expr: string, type: string, depth = 0): string {
  if (type.endsWith('[]')) {
    const v = `__v${depth}`;
    return `list_transform(${expr}, ${v} -> ${jsonSafe(v, type.slice(0, -2), depth + 1)})`;
  }
  if (type === 'FLOAT' || type === 'DOUBLE')
    return `CASE WHEN isfinite(${expr}) THEN ${expr}::VARCHAR::JSON WHEN isnan(${expr}) THEN '"NaN"'::JSON WHEN ${expr} > 0 THEN '"Infinity"'::JSON WHEN ${expr} < 0 THEN '"-Infinity"'::JSON END`;
  if (type === TOPK_TYPE.slice(0, -2))
    return `struct_pack("index" := ${expr}."index", score := ${jsonSafe(`${expr}.score`, 'DOUBLE', depth + 1)}, label := ${expr}.label)`;
  return expr;
}
