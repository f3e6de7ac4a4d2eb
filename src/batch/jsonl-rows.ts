// The fast path for JSON-lines input: a streaming line reader with JSON.parse, for the common case
// of numeric inputs (lists of numbers, or number columns) and a plain id. DuckDB reading the same
// file (one line per row, json_extract and TRY_CAST per value) costs several times more than the
// model it feeds. Every row the fast path cannot take as it is (invalid JSON, a missing column, a
// list of the wrong length, a value that is not a plain number of the input's range) is handed to
// DuckDB alone, through the same row query as the general reader, so its values or its error are
// exactly those of the general path. Rows and their numbers are those of the general reader: one
// per line that is not blank (spaces only), in file order, a CR before the LF dropped.

import { createReadStream } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ARRAY_TYPES, type Datatype, type FixedData, type FixedDatatype } from '../tensor/datatype.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../tensor/half.js';
import { copyElements, makeTensor, type Tensor } from '../tensor/tensor.js';
import type { InputPlan, MappingPlan } from './column-mapping.js';
import type { InputSet } from './input-files.js';
import { readBatches, type ReadOptions, type RowBatch, type RowError, type RowId } from './row-reader.js';
import { jsonlLineSource, type TableSource } from './table-source.js';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/** Integer ranges of the inputs the fast path takes (64-bit integers and booleans go through DuckDB). */
const INTEGER_RANGE: Readonly<Partial<Record<Datatype, readonly [number, number]>>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
};
const FLOATS: ReadonlySet<Datatype> = new Set(['FP32', 'FP64', 'FP16', 'BF16']);

/** How the id column's described type is read from a parsed value, or undefined when not plainly. */
type IdReader = (v: unknown) => RowId | undefined;

const INTEGER_IDS: ReadonlySet<string> = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
]);

function idReader(type: string): IdReader | undefined {
  const plainNull = (v: unknown): v is null | undefined => v === null || v === undefined;
  if (type === 'BIGINT' || type === 'UBIGINT' || type === 'HUGEINT')
    return (v) => (plainNull(v) ? null : Number.isSafeInteger(v) ? BigInt(v as number) : undefined);
  if (INTEGER_IDS.has(type)) return undefined;
  if (type === 'DOUBLE') return (v) => (plainNull(v) ? null : typeof v === 'number' ? v : undefined);
  if (type === 'VARCHAR' || type === 'JSON')
    return (v) => (plainNull(v) ? null : typeof v === 'string' ? v : undefined);
  return undefined;
}

export interface JsonlFastPlan {
  readonly id: IdReader | undefined;
  readonly inputs: readonly InputPlan[];
}

/** The fast plan for this source and mapping, or undefined where the general reader must read it. */
export function jsonlFastPlan(source: TableSource, plan: MappingPlan): JsonlFastPlan | undefined {
  if (source.input.format !== 'jsonl') return undefined;
  for (const p of plan.inputs) {
    if (!FLOATS.has(p.datatype) && INTEGER_RANGE[p.datatype] === undefined) return undefined;
    if (p.kind === 'list' && p.listDepth !== 1) return undefined;
  }
  let id: IdReader | undefined;
  if (plan.idColumn !== undefined) {
    const type = source.columns.find((c) => c.name === plan.idColumn)?.type ?? 'VARCHAR';
    id = idReader(type);
    if (id === undefined) return undefined;
  }
  return { id, inputs: plan.inputs };
}

/** The element a JSON value gives an input of this datatype, or undefined when DuckDB must judge it. */
function element(datatype: Datatype, v: unknown): number | undefined {
  if (typeof v !== 'number') return undefined;
  const range = INTEGER_RANGE[datatype];
  if (range !== undefined) return Number.isInteger(v) && v >= range[0] && v <= range[1] ? v : undefined;
  if (datatype === 'FP64') return v;
  const f = Math.fround(v);
  if (!Number.isFinite(f)) return undefined;
  return datatype === 'FP16' ? float32ToFloat16Bits(f) : datatype === 'BF16' ? float32ToBfloat16Bits(f) : f;
}

/** Writes one row's values of an input into `dst` at `at`; false when a value is not plainly readable. */
function fill(p: InputPlan, row: Record<string, unknown>, dst: FixedData, at: number): boolean {
  const out = dst as Exclude<FixedData, BigInt64Array | BigUint64Array>;
  if (p.kind === 'list') {
    const col = p.columns[0] ?? '';
    if (!Object.hasOwn(row, col)) return false;
    const list = row[col];
    if (!Array.isArray(list) || list.length !== p.width) return false;
    if (p.datatype === 'FP32' || p.datatype === 'FP64') {
      // The common case, kept to one check per value.
      for (let j = 0; j < p.width; j++) {
        const v: unknown = list[j];
        if (typeof v !== 'number') return false;
        out[at + j] = v;
      }
      if (p.datatype === 'FP32') {
        for (let j = 0; j < p.width; j++) if (!Number.isFinite(out[at + j])) return false;
      }
      return true;
    }
    for (let j = 0; j < p.width; j++) {
      const e = element(p.datatype, list[j]);
      if (e === undefined) return false;
      out[at + j] = e;
    }
    return true;
  }
  for (let j = 0; j < p.width; j++) {
    const col = p.columns[j] ?? '';
    const e = Object.hasOwn(row, col) ? element(p.datatype, row[col]) : undefined;
    if (e === undefined) return false;
    out[at + j] = e;
  }
  return true;
}

/** The lines of the input files that are rows (not blank), as byte ranges of the chunk they end in. */
async function* lines(input: InputSet): AsyncGenerator<{ buf: Buffer; start: number; end: number }> {
  for (const file of input.files) {
    let rest: Buffer | undefined;
    let first = true;
    for await (const chunk of createReadStream(file.path, { highWaterMark: 1 << 20 })) {
      let buf = chunk as Buffer;
      if (rest !== undefined) {
        buf = Buffer.concat([rest, buf]);
        rest = undefined;
      }
      let pos = 0;
      if (first) {
        first = false;
        // A UTF-8 byte order mark is not part of the first line.
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      }
      for (;;) {
        const nl = buf.indexOf(LF, pos);
        if (nl < 0) break;
        const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
        if (!blank(buf, pos, end)) yield { buf, start: pos, end };
        pos = nl + 1;
      }
      if (pos < buf.length) rest = buf.subarray(pos);
    }
    if (rest !== undefined) {
      const end = rest[rest.length - 1] === CR ? rest.length - 1 : rest.length;
      if (!blank(rest, 0, end)) yield { buf: rest, start: 0, end };
    }
  }
}

function blank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== SPACE) return false;
  return true;
}

/** Rows of a JSON-lines input: its lines that are not blank. */
export async function countJsonlRows(input: InputSet): Promise<number> {
  let n = 0;
  const it = lines(input);
  for (let r = await it.next(); r.done !== true; r = await it.next()) n++;
  return n;
}

/** Parses a line as a JSON object, or undefined. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads rows [start, end) of a JSON-lines source as the general reader does (same batches, row
 * numbers, values and row errors), parsing lines itself and asking DuckDB only about the rows it
 * cannot read plainly (on `conn`, which must not be streaming).
 */
export async function* readJsonlBatches(
  conn: DuckDBConnection,
  source: TableSource,
  plan: MappingPlan,
  fast: JsonlFastPlan,
  options: ReadOptions,
): AsyncGenerator<RowBatch> {
  const { start, end, batched } = options;
  const batchSize = batched ? options.batchSize : 1;
  const inputs = fast.inputs;
  const alloc = (): FixedData[] => inputs.map((p) => new ARRAY_TYPES[p.datatype as FixedDatatype](batchSize * p.width));
  let data = alloc();
  let rows: number[] = [];
  let ids: RowId[] = [];
  let errors: RowError[] = [];
  let firstRow = start;
  let next = start;

  const finish = (): RowBatch => {
    const n = rows.length;
    const tensors = inputs.map((p, k): Tensor => {
      const full = data[k] as FixedData;
      const d = n * p.width === full.length ? full : full.slice(0, n * p.width);
      return makeTensor(p.input, p.datatype, batched ? [n, ...p.dims] : [...p.dims], d);
    });
    const batch: RowBatch = {
      firstRow,
      endRow: next,
      rows,
      ids: plan.idColumn === undefined ? undefined : ids,
      inputs: tensors,
      errors,
    };
    data = alloc();
    rows = [];
    ids = [];
    errors = [];
    firstRow = next;
    return batch;
  };

  /** One row through DuckDB's row query: its values into the batch, or its error. */
  const slowRow = async (text: string, row: number, slot: number): Promise<boolean> => {
    let one: RowBatch | undefined;
    for await (const b of readBatches(conn, jsonlLineSource(source, text), plan, {
      start: 0,
      end: 1,
      batchSize: 1,
      batched,
    }))
      one = b;
    const error = one?.errors[0];
    if (one === undefined || error !== undefined || one.rows.length === 0) {
      errors.push({ ...(error ?? { error: 'line could not be read' }), row });
      return false;
    }
    for (const [k, p] of inputs.entries()) {
      copyElements(data[k] as FixedData, slot * p.width, one.inputs[k]?.data as FixedData);
    }
    if (plan.idColumn !== undefined) ids.push(one.ids?.[0] ?? null);
    return true;
  };

  let position = 0;
  for await (const { buf, start: a, end: b } of lines(source.input)) {
    const row = position++;
    if (row < start) continue;
    if (row >= end) break;
    next = row + 1;
    const text = buf.toString('utf8', a, b);
    const obj = parseObject(text);
    const slot = rows.length;
    let plain = obj !== undefined;
    let id: RowId | undefined;
    if (plain && fast.id !== undefined) {
      id = fast.id((obj as Record<string, unknown>)[plan.idColumn ?? '']);
      plain = id !== undefined;
    }
    for (let k = 0; plain && k < inputs.length; k++)
      plain = fill(
        inputs[k] as InputPlan,
        obj as Record<string, unknown>,
        data[k] as FixedData,
        slot * (inputs[k] as InputPlan).width,
      );
    if (plain) {
      if (plan.idColumn !== undefined) ids.push(id ?? null);
    } else if (!(await slowRow(text, row, slot))) {
      continue;
    }
    rows.push(row);
    if (rows.length === batchSize) yield finish();
  }
  if (next > firstRow) yield finish();
}
