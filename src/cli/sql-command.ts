// `inferd sql [query]`: runs SQL on DuckDB in-process with predict(), predict_label() and
// predict_output() scoring rows through the repository's models (src/sql/), and prints the result.

import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { RESULT_FORMATS, type ResultFormat } from '../sql/result-format.js';
import { SqlEngine } from '../sql/sql-engine.js';
import { BUNDLED_EXAMPLES_REPOSITORY, integer } from './parse-options.js';

/** The example models shipped with the package, so the documented queries work from anywhere. */

interface SqlOptions {
  file?: string;
  modelRepository: string;
  format?: ResultFormat;
  maxRows: number;
  threads?: number;
  cpuCores?: number;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

async function sqlText(query: string | undefined, opts: SqlOptions): Promise<string> {
  if (query !== undefined && opts.file !== undefined) throw new Error('give the query or --file, not both');
  if (query !== undefined) return query;
  if (opts.file !== undefined) return readFile(opts.file, 'utf8');
  if (process.stdin.isTTY) throw new Error('give a query, --file FILE, or the SQL on stdin (see inferd sql --help)');
  return readStdin();
}

export function sqlCommand(): Command {
  return new Command('sql')
    .description('run SQL on DuckDB with predict() scoring rows through the repository models')
    .argument('[query]', 'the SQL (one or more statements; the last one prints)')
    .option('-f, --file <path>', 'read the SQL from a file (else the argument, else stdin)')
    .addOption(
      new Option('-m, --model-repository <path>', 'model repository; models load on first use').default(
        BUNDLED_EXAMPLES_REPOSITORY,
        'the bundled examples/models',
      ),
    )
    .addOption(
      new Option('--format <format>', 'output format (default: table on a terminal, csv otherwise)').choices(
        RESULT_FORMATS,
      ),
    )
    .option('--max-rows <n>', 'rows shown by --format table', integer(1), 40)
    .option('--threads <n>', 'DuckDB threads (default: the machine cores)', integer(1, 1024))
    .option('--cpu-cores <n>', 'cores the model instances share (default: all)', integer(1, 4096))
    .addHelpText(
      'after',
      `
Functions (the model and output names are string literals):
  predict(model, args...)                 the model's first output: a number, or a LIST of numbers
  predict_label(model, args...)           the label (labels file) of the highest score
  predict_output(model, output, args...)  the named output
  args: one numeric column per feature of a single-input model, or one LIST/ARRAY per input.
  Rows with a NULL argument give NULL. See docs/sql.md.

Examples:
  $ inferd sql "SELECT predict_label('iris', 5.1, 3.5, 1.4, 0.2) AS species"
  $ inferd sql "SELECT id, predict_label('iris', sepal_length, sepal_width, petal_length, petal_width) FROM 'flowers.csv'"
  $ inferd sql "COPY (SELECT id, predict('mlp', features) AS scores FROM 'in.parquet') TO 'out.parquet'"
  $ inferd sql -m ./models --format jsonl --file query.sql`,
    )
    .action(async (query: string | undefined, opts: SqlOptions) => {
      const sql = await sqlText(query, opts);
      const format = opts.format ?? (process.stdout.isTTY ? 'table' : 'csv');
      // A reader that stops early (`| head`) closes the pipe: the query is stopped and the command
      // ends quietly, as Unix tools do.
      let pipeClosed = false;
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
        pipeClosed = true;
      });
      const engine = await SqlEngine.open({
        modelRepository: opts.modelRepository,
        ...(opts.threads === undefined ? {} : { threads: opts.threads }),
        ...(opts.cpuCores === undefined ? {} : { cpuCores: opts.cpuCores }),
      });
      const write = (text: string): void => {
        if (pipeClosed) throw new Error('standard output is closed');
        process.stdout.write(text);
      };
      try {
        await engine.print(sql, { format, maxRows: opts.maxRows, write });
      } catch (err) {
        if (!pipeClosed) throw err;
      } finally {
        await engine.close();
      }
    });
}
