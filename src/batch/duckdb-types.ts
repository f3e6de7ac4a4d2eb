// How v2 datatypes travel through DuckDB: the SQL type a column is cast to before it feeds a
// tensor, and the SQL type an output column is written with.

import type { Datatype } from '../tensor/datatype.js';

/** SQL element type a column is cast to for an input of this datatype (FP16/BF16 read as FLOAT, then narrowed). */
export const SQL_ELEMENT_TYPE: Readonly<Record<Datatype, string>> = Object.freeze({
  BOOL: 'BOOLEAN',
  UINT8: 'UTINYINT',
  UINT16: 'USMALLINT',
  UINT32: 'UINTEGER',
  UINT64: 'UBIGINT',
  INT8: 'TINYINT',
  INT16: 'SMALLINT',
  INT32: 'INTEGER',
  INT64: 'BIGINT',
  FP16: 'FLOAT',
  FP32: 'FLOAT',
  FP64: 'DOUBLE',
  BF16: 'FLOAT',
  BYTES: 'VARCHAR',
});

/** Quotes an identifier for SQL: "name", with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQL: 'text', with embedded quotes doubled. */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL list literal of string literals, e.g. ['a.csv', 'b.csv']. */
export function literalList(items: readonly string[]): string {
  return `[${items.map(quoteLiteral).join(', ')}]`;
}
