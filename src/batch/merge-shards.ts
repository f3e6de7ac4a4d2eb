// `inferd batch merge`: combines the outputs of sharded jobs into one output ordered by row.
// When every part carries its summary (shard index, shard count, total rows), the merge verifies
// that the shards are all there, once each, and that every input row appears exactly once, in the
// output or in an errors file; without summaries it can only check for duplicated rows.

import { readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { invalidArgument } from '../errors/index.js';
import { literalList, quoteIdent, quoteLiteral } from './duckdb-types.js';
import { formatOfPath, type TableFormat } from './input-files.js';
import { concatenate, copyOptions, errorsPath, summaryPath, writeSummary, type OutputColumn } from './output-files.js';
import { columnsArgument } from './output-rows.js';
import { jsonSafe } from './part-rows.js';
import type { BatchSummary } from './batch-job.js';
import { duckdbMessage } from './table-source.js';

export interface MergeOptions {
  readonly parts: readonly string[];
  readonly output: string;
  readonly outputFormat: TableFormat;
}

export interface MergeSummary {
  readonly output: string;
  readonly outputFormat: TableFormat;
  readonly parts: readonly string[];
  readonly rows: number;
  readonly errors: number;
  /** Whether shard metadata allowed checking that every input row is present exactly once. */
  readonly verified: boolean;
  readonly totalRows: number | null;
  readonly model: string | null;
  readonly modelVersion: number | null;
}

function isPartFile(name: string): boolean {
  return (
    !name.startsWith('.') &&
    !name.endsWith('.errors.jsonl') &&
    !name.endsWith('.summary.json') &&
    !name.endsWith('.tmp') &&
    formatOfPath(name) !== undefined
  );
}

/** Expands folders into their part files (sorted), keeping explicit files as given. */
export async function listParts(args: readonly string[], output: string): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    let info;
    try {
      info = await stat(arg);
    } catch {
      throw invalidArgument(`batch merge: no such file or folder: ${arg}`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(arg)).filter(isPartFile).sort();
      out.push(...names.map((n) => path.join(arg, n)));
    } else {
      out.push(arg);
    }
  }
  const target = path.resolve(output);
  const parts = [...new Set(out.map((p) => path.resolve(p)))].filter((p) => p !== target);
  if (parts.length === 0) throw invalidArgument('batch merge: no part files given (.jsonl, .csv or .parquet)');
  return parts;
}

async function readSummary(part: string): Promise<BatchSummary | undefined> {
  try {
    return JSON.parse(await readFile(summaryPath(part), 'utf8')) as BatchSummary;
  } catch {
    return undefined;
  }
}

function relationOf(
  format: TableFormat,
  files: readonly string[],
  columns: readonly OutputColumn[] | undefined,
): string {
  const list = literalList(files);
  const typed = columns === undefined ? '' : `, columns=${columnsArgument(columns)}`;
  switch (format) {
    case 'parquet':
      return `SELECT * FROM read_parquet(${list})`;
    case 'csv':
      return `SELECT * FROM read_csv(${list}, header=true${typed})`;
    case 'jsonl':
      return `SELECT * FROM read_json(${list}, format='newline_delimited'${typed})`;
  }
}

/** Checks the shard metadata: one count, one input, every index once. Returns the total rows. */
function checkShards(parts: readonly string[], summaries: readonly BatchSummary[]): number {
  const first = summaries[0];
  const count = first?.shard?.count;
  if (first === undefined || count === undefined)
    throw invalidArgument(`batch merge: ${parts[0]} was not written by a sharded job (its summary has no shard)`);
  const seen = new Map<number, string>();
  for (const [i, s] of summaries.entries()) {
    const part = parts[i] ?? '';
    // A merged output's summary has no shard at all.
    if (s.shard === null || s.shard === undefined || s.shard.count !== count)
      throw invalidArgument(
        `batch merge: ${part} is not shard of ${count} (its summary says ${JSON.stringify(s.shard)})`,
      );
    if (s.totalRows !== first.totalRows || s.model !== first.model || s.modelVersion !== first.modelVersion)
      throw invalidArgument(
        `batch merge: ${part} comes from another job (model ${s.model} v${s.modelVersion}, ${s.totalRows} input rows; ${parts[0]} has model ${first.model} v${first.modelVersion}, ${first.totalRows} rows)`,
      );
    const other = seen.get(s.shard.index);
    if (other !== undefined) throw invalidArgument(`batch merge: ${part} and ${other} are both shard ${s.shard.index}`);
    seen.set(s.shard.index, part);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) throw invalidArgument(`batch merge: shard(s) ${missing.join(', ')} of ${count} missing`);
  return first.totalRows;
}

export async function mergeShards(opts: MergeOptions): Promise<MergeSummary> {
  const { parts, output, outputFormat } = opts;
  const formats = new Set(parts.map((p) => formatOfPath(p)));
  if (formats.size !== 1 || formats.has(undefined))
    throw invalidArgument(
      `batch merge: the parts must share one format (.jsonl, .csv or .parquet); got ${parts.join(', ')}`,
    );
  const format = [...formats][0] as TableFormat;
  const summaries = await Promise.all(parts.map(readSummary));
  const all = summaries.every((s) => s !== undefined);
  const known = summaries.filter((s): s is BatchSummary => s !== undefined);
  // A part without its summary among parts with theirs would turn the coverage check off unseen.
  if (!all && known.length > 0)
    throw invalidArgument(
      `batch merge: ${parts.filter((_, i) => summaries[i] === undefined).join(', ')} has no summary (<part>.summary.json) while the other parts do, so missing rows could not be detected; copy the summaries along with the parts, or merge only files without summaries`,
    );
  const totalRows = all ? checkShards(parts, known) : null;
  const columns = known[0]?.columns;
  const errorFiles: string[] = [];
  for (const p of parts) {
    try {
      await stat(errorsPath(p));
      errorFiles.push(errorsPath(p));
    } catch {
      // A part without an errors file had no errors (or was not written by batch run).
    }
  }

  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  try {
    const rowsRel = relationOf(format, parts, columns);
    const errColumns = [
      { name: 'row', type: 'BIGINT' },
      { name: 'error', type: 'VARCHAR' },
    ];
    const nonEmptyErrors: string[] = [];
    for (const f of errorFiles) if ((await stat(f)).size > 0) nonEmptyErrors.push(f);
    const errRel =
      nonEmptyErrors.length === 0
        ? `SELECT NULL::BIGINT AS row WHERE false`
        : `SELECT row FROM read_json(${literalList(nonEmptyErrors)}, format='newline_delimited', columns=${columnsArgument(errColumns)})`;
    let stats;
    try {
      const reader = await conn.runAndReadAll(
        `WITH r AS (SELECT row FROM (${rowsRel})), e AS (${errRel}), a AS (SELECT row FROM r UNION ALL SELECT row FROM e)
         SELECT (SELECT count(*) FROM r)::BIGINT, (SELECT count(*) FROM e)::BIGINT, count(*)::BIGINT, count(DISTINCT row)::BIGINT, min(row)::BIGINT, max(row)::BIGINT FROM a`,
      );
      stats = (reader.getRowsJS()[0] ?? []).map((v) => (v === null ? -1 : Number(v)));
    } catch (err) {
      throw invalidArgument(`batch merge: cannot read the parts: ${duckdbMessage(err)}`);
    }
    const [rows = 0, errors = 0, allRows = 0, distinct = 0, min = -1, max = -1] = stats;
    if (distinct !== allRows)
      throw invalidArgument(`batch merge: ${allRows - distinct} row(s) appear more than once across the parts`);
    if (totalRows !== null && (allRows !== totalRows || (totalRows > 0 && (min !== 0 || max !== totalRows - 1))))
      throw invalidArgument(
        `batch merge: the parts hold ${allRows} distinct rows (output and errors) but the input had ${totalRows}: rows are missing`,
      );

    const tmp = `${output}.tmp`;
    const options = outputFormat === 'jsonl' ? '(FORMAT json)' : copyOptions(outputFormat);
    // JSON lines: non-finite floats as strings, as batch run writes them (needs the column types).
    const select =
      outputFormat === 'jsonl' && columns !== undefined
        ? columns.map((c) => `${jsonSafe(quoteIdent(c.name), c.type)} AS ${quoteIdent(c.name)}`).join(', ')
        : '*';
    await conn.run(`COPY (SELECT ${select} FROM (${rowsRel}) ORDER BY row) TO ${quoteLiteral(tmp)} ${options}`);
    await rename(tmp, output);
    if (nonEmptyErrors.length === 0) await concatenate([], errorsPath(output));
    else
      await conn.run(
        `COPY (SELECT * FROM read_json(${literalList(nonEmptyErrors)}, format='newline_delimited') ORDER BY row) TO ${quoteLiteral(errorsPath(output))} (FORMAT json)`,
      );
    const summary: MergeSummary = {
      output,
      outputFormat,
      parts,
      rows,
      errors,
      verified: totalRows !== null,
      totalRows,
      model: known[0]?.model ?? null,
      modelVersion: known[0]?.modelVersion ?? null,
    };
    await writeSummary(output, summary);
    return summary;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
