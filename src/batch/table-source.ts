// Reads an input set with DuckDB: the source relation (read_parquet, read_csv, or JSON lines),
// its columns and types, its row count, and an expression per column for the row reader.
//
// CSV columns are read as text and JSON lines as JSON values, then cast per row with TRY_CAST,
// so one bad value fails its row rather than the whole query (DuckDB's type sniffing only samples
// the file, and a later value of another type would otherwise abort the scan). JSON lines are read
// one line per row, so an invalid line is a row error with its own row number too.

import type { DuckDBConnection } from '@duckdb/node-api';
import { invalidArgument } from '../errors/index.js';
import { literalList, quoteIdent, quoteLiteral } from './duckdb-types.js';
import type { InputSet } from './input-files.js';

export interface SourceColumn {
  readonly name: string;
  /** DuckDB's type for the column (sniffed for CSV and JSON). */
  readonly type: string;
}

export interface TableSource {
  readonly input: InputSet;
  /** A SELECT producing one row per input row, in file order. */
  readonly relation: string;
  readonly columns: readonly SourceColumn[];
  /** SQL reading a column of the relation as a value castable with TRY_CAST. */
  columnExpr(name: string): string;
  /** SQL reading a column as its described type (JSON text unquoted), for ids and text inputs. */
  typedExpr(name: string): string;
  /** SQL evaluating to an error message for rows unreadable as a whole (invalid JSON line), else NULL. */
  readonly rowErrorExpr: string | undefined;
}

// One line per row: no delimiter, quote or escape that could split or join lines.
const LINES = (files: string): string =>
  `read_csv(${files}, columns={'line': 'VARCHAR'}, delim='\\x01', quote='', escape='', header=false, max_line_size=268435456)`;

/** JSON lines as rows: each line, and its JSON object (NULL when the line is not one). */
function jsonlRelation(from: string): string {
  return `SELECT line, CASE WHEN json_valid(line) AND json_type(line::JSON) = 'OBJECT' THEN line::JSON END AS j FROM ${from}`;
}

/** A JSON-lines source narrowed to one line (its text), read with the same expressions as the file. */
export function jsonlLineSource(source: TableSource, line: string): TableSource {
  return {
    ...source,
    relation: jsonlRelation(`(SELECT CASE WHEN range = 0 THEN ${quoteLiteral(line)} END AS line FROM range(1))`),
  };
}

/** Opens the input for reading: checks it can be read and learns its columns. */
export async function openTableSource(conn: DuckDBConnection, input: InputSet): Promise<TableSource> {
  const files = literalList(input.files.map((f) => f.path));
  let relation: string;
  let describe: string;
  let columnExpr: (name: string) => string;
  let typedExpr: (name: string, type: string) => string;
  let rowErrorExpr: string | undefined;
  switch (input.format) {
    case 'parquet':
      relation = `SELECT * FROM read_parquet(${files})`;
      describe = relation;
      columnExpr = quoteIdent;
      typedExpr = quoteIdent;
      break;
    case 'csv':
      relation = `SELECT * FROM read_csv(${files}, header=true, all_varchar=true)`;
      describe = `SELECT * FROM read_csv(${files}, header=true)`;
      columnExpr = quoteIdent;
      typedExpr = (name, type) => (type === 'VARCHAR' ? quoteIdent(name) : `TRY_CAST(${quoteIdent(name)} AS ${type})`);
      break;
    case 'jsonl':
      relation = jsonlRelation(`${LINES(files)} WHERE line IS NOT NULL AND trim(line) <> ''`);
      describe = `SELECT * FROM read_json(${files}, format='newline_delimited', ignore_errors=true)`;
      columnExpr = (name) => `json_extract(j, ${quoteLiteral(`$.${JSON.stringify(name)}`)})`;
      typedExpr = (name, type) =>
        type === 'VARCHAR' || type === 'JSON'
          ? `json_extract_string(j, ${quoteLiteral(`$.${JSON.stringify(name)}`)})`
          : `TRY_CAST(${columnExpr(name)} AS ${type})`;
      rowErrorExpr = `CASE WHEN j IS NULL THEN 'line is not a JSON object: ' || left(line, 60) END`;
      break;
  }
  let columns: SourceColumn[];
  try {
    const reader = await conn.runAndReadAll(`DESCRIBE ${describe}`);
    columns = reader.getRowObjectsJson().map((r) => ({ name: r.column_name as string, type: r.column_type as string }));
  } catch (err) {
    throw invalidArgument(`cannot read ${describeInput(input)}: ${duckdbMessage(err)}`);
  }
  const types = new Map(columns.map((c) => [c.name, c.type]));
  return {
    input,
    relation,
    columns,
    columnExpr,
    typedExpr: (name) => typedExpr(name, types.get(name) ?? 'VARCHAR'),
    rowErrorExpr,
  };
}

/** Rows in the source (a metadata read for Parquet, a scan for CSV and JSON lines). */
export async function countRows(conn: DuckDBConnection, source: TableSource): Promise<number> {
  try {
    const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM (${source.relation})`);
    return Number(reader.getRowsJS()[0]?.[0] ?? 0);
  } catch (err) {
    throw invalidArgument(`cannot read ${describeInput(source.input)}: ${duckdbMessage(err)}`);
  }
}

export function describeInput(input: InputSet): string {
  const first = input.files[0]?.path ?? '';
  return input.files.length === 1 ? first : `${input.files.length} ${input.format} files (${first}, ...)`;
}

/** DuckDB's message without its stack of context lines. */
export function duckdbMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
