// The fast path for JSON-lines input: a streaming line reader with JSON.parse, for the common case
// of numeric inputs (lists of numbers, or number columns) and a plain id. DuckDB reading the same
// file (one line per row, json_extract and TRY_CAST per value) costs several times more than the
// model it feeds. Every row the fast path cannot take as it is (invalid JSON, a missing column, a
// list of the wrong length, a value that is not a plain number of the input's range) is handed to
// DuckDB alone, through the same row query as the general reader, so its values or its error are
// exactly those of the general path. Rows and their numbers are those of the general reader: one
// per line that is not blank (spaces only), in file order, a CR before the LF dropped.

import { open } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ARRAY_TYPES, type Datatype, type FixedData, type FixedDatatype } from '../tensor/datatype.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../tensor/half.js';
import { copyElements } from '../tensor/tensor.js';
import type { InputPlan, MappingPlan } from './column-mapping.js';
import type { InputSet } from './input-files.js';
import { batchTensors, readBatches, type ReadOptions, type RowBatch, type RowError, type RowId } from './row-reader.js';
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

/** Where a line's bytes are: its own buffer, or a range of a read chunk (no copy of the chunk). */
interface Line {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

const CHUNK = 1 << 20;

/**
 * The row lines of the input files, in order, one group per chunk read. Two buffers take turns:
 * the next chunk is read into one while the lines of the other are parsed, and nothing else is
 * allocated per chunk (only a line that spans two chunks is copied).
 */
async function* lines(input: InputSet): AsyncGenerator<Line[]> {
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  for (const file of input.files) {
    const fh = await open(file.path, 'r');
    let reading: Promise<{ bytesRead: number }> | undefined;
    try {
      let which = 0;
      let head: Buffer | undefined;
      let first = true;
      reading = fh.read(buffers[0] as Buffer, 0, CHUNK, null);
      for (;;) {
        const { bytesRead } = await reading;
        reading = undefined;
        if (bytesRead === 0) break;
        const buf = (buffers[which] as Buffer).subarray(0, bytesRead);
        which ^= 1;
        reading = fh.read(buffers[which] as Buffer, 0, CHUNK, null);
        const group: Line[] = [];
        let pos = 0;
        if (first) {
          first = false;
          // A UTF-8 byte order mark is not part of the first line.
          if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
        }
        let nl = buf.indexOf(LF, pos);
        if (head !== undefined) {
          if (nl < 0) {
            head = Buffer.concat([head, buf.subarray(pos)]);
            continue;
          }
          const whole = Buffer.concat([head, buf.subarray(pos, nl)]);
          head = undefined;
          push(group, whole, 0, whole.length);
          pos = nl + 1;
          nl = buf.indexOf(LF, pos);
        }
        while (nl >= 0) {
          push(group, buf, pos, nl);
          pos = nl + 1;
          nl = buf.indexOf(LF, pos);
        }
        if (pos < buf.length) head = Buffer.from(buf.subarray(pos));
        if (group.length > 0) yield group;
      }
      if (head !== undefined) {
        const group: Line[] = [];
        push(group, head, 0, head.length);
        if (group.length > 0) yield group;
      }
    } finally {
      await reading?.catch(() => undefined);
      await fh.close();
    }
  }
}

/** Adds a line (without the CR before its LF) unless it is blank. */
function push(group: Line[], buf: Buffer, start: number, end: number): void {
  const e = end > start && buf[end - 1] === CR ? end - 1 : end;
  for (let i = start; i < e; i++) if (buf[i] !== SPACE) return void group.push({ buf, start, end: e });
}

/** Rows of a JSON-lines input: its lines that are not blank. */
export async function countJsonlRows(input: InputSet): Promise<number> {
  let n = 0;
  for await (const group of lines(input)) n += group.length;
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
    const batch: RowBatch = {
      firstRow,
      endRow: next,
      rows,
      ids: plan.idColumn === undefined ? undefined : ids,
      inputs: batchTensors(inputs, data, rows.length, batched),
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
  groups: for await (const group of lines(source.input)) {
    for (const { buf, start: a, end: b } of group) {
      const row = position++;
      if (row < start) continue;
      if (row >= end) break groups;
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
  }
  if (next > firstRow) yield finish();
}
