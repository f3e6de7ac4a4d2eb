// Writes a job's final files from its committed parts: the output (JSON lines concatenated, or
// CSV / Parquet through DuckDB's COPY with the columns' SQL types), the errors file (JSON lines)
// and the summary (JSON). Each is written to a temporary name and renamed into place.

import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { literalList, quoteIdent, quoteLiteral } from './duckdb-types.js';
import type { TableFormat } from './input-files.js';
import { columnsArgument } from './output-rows.js';
import { syncFolder, writeFileDurably } from './part-store.js';

export interface OutputColumn {
  readonly name: string;
  readonly type: string;
}

export function errorsPath(output: string): string {
  return `${output}.errors.jsonl`;
}

export function summaryPath(output: string): string {
  return `${output}.summary.json`;
}

/** The job's working folder (job.json, checkpoint.json, parts/) beside the output. */
export function workDir(output: string): string {
  return path.join(path.dirname(output), `.${path.basename(output)}.inferd-batch`);
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Concatenates files into `target` (temporary name, fsync, rename). */
export async function concatenate(files: readonly string[], target: string): Promise<void> {
  const tmp = `${target}.tmp`;
  const out = await open(tmp, 'w');
  try {
    for (const f of files) for await (const chunk of createReadStream(f)) await out.write(chunk as Buffer);
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(tmp, target);
  await syncFolder(path.dirname(target));
}

async function nonEmpty(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) if ((await stat(f)).size > 0) out.push(f);
  return out;
}

/** SELECT over JSON-lines files typed as `columns` (an empty typed relation when there are none). */
export async function typedJsonRelation(files: readonly string[], columns: readonly OutputColumn[]): Promise<string> {
  const present = await nonEmpty(files);
  if (present.length === 0)
    return `SELECT ${columns.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`;
  return `SELECT * FROM read_json(${literalList(present)}, format='newline_delimited', columns=${columnsArgument(columns)})`;
}

/** COPY options for an output format. */
export function copyOptions(format: Exclude<TableFormat, 'jsonl'>): string {
  return format === 'parquet' ? `(FORMAT parquet, COMPRESSION zstd)` : `(FORMAT csv, HEADER true)`;
}

/** Writes the output file from a relation over the row parts (in row order), in its format. */
export async function writeOutput(
  conn: DuckDBConnection,
  relation: string,
  output: string,
  format: TableFormat,
): Promise<void> {
  const tmp = `${output}.tmp`;
  await rm(tmp, { force: true });
  const options = format === 'jsonl' ? '(FORMAT json)' : copyOptions(format);
  await conn.run(`COPY (${relation}) TO ${quoteLiteral(tmp)} ${options}`);
  await fsyncFile(tmp);
  await rename(tmp, output);
  await syncFolder(path.dirname(output));
}

export async function writeSummary(output: string, summary: unknown): Promise<void> {
  await writeFileDurably(summaryPath(output), `${JSON.stringify(summary, null, 2)}\n`);
}
