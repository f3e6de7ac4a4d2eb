// The input of a batch job: one file or a folder of files (taken in sorted order), all of one
// format (JSONL, CSV or Parquet), and a fingerprint that tells whether they changed since a
// checkpoint was written.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from '../errors/index.js';

export type TableFormat = 'jsonl' | 'csv' | 'parquet';

export const TABLE_FORMATS: readonly TableFormat[] = ['jsonl', 'csv', 'parquet'];

const EXTENSIONS: Readonly<Record<string, TableFormat>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The format a file name's extension stands for, or undefined. */
export function formatOfPath(file: string): TableFormat | undefined {
  return EXTENSIONS[path.extname(file).toLowerCase()];
}

export function isTableFormat(value: string): value is TableFormat {
  return (TABLE_FORMATS as readonly string[]).includes(value);
}

export interface InputFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface InputSet {
  readonly format: TableFormat;
  readonly files: readonly InputFile[];
}

/**
 * Resolves `--input`: a file, or a folder whose table files (by extension, hidden files skipped)
 * are read in sorted name order. Mixed formats are refused: one query reads them all.
 */
export async function resolveInput(input: string, format?: TableFormat): Promise<InputSet> {
  let info;
  try {
    info = await stat(input);
  } catch {
    throw invalidArgument(`--input ${input}: no such file or folder`);
  }
  let paths: string[];
  if (info.isDirectory()) {
    const names = (await readdir(input)).filter((n) => !n.startsWith('.') && formatOfPath(n) !== undefined).sort();
    if (names.length === 0)
      throw invalidArgument(`--input ${input}: the folder holds no .jsonl, .csv or .parquet files`);
    paths = names.map((n) => path.join(input, n));
  } else {
    paths = [input];
  }
  const formats = new Set(paths.map((p) => format ?? formatOfPath(p)));
  if (formats.has(undefined))
    throw invalidArgument(
      `--input ${input}: cannot tell the format from the extension; use .jsonl, .csv or .parquet, or give --input-format`,
    );
  if (formats.size > 1)
    throw invalidArgument(`--input ${input}: the folder mixes formats (${[...formats].join(', ')}); give one format`);
  const files: InputFile[] = [];
  for (const p of paths) {
    const s = await stat(p);
    files.push({ path: path.resolve(p), size: s.size, mtimeMs: Math.round(s.mtimeMs) });
  }
  return { format: [...formats][0] as TableFormat, files };
}
