// `inferd batch run` and `inferd batch merge`: batch inference over JSONL, CSV and Parquet files
// on the server's runtime, in-process, resumable, shardable. The work is in src/batch/; this file
// parses options, loads the model through the repository (explicit mode) and reports.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { MappingRequest } from '../batch/column-mapping.js';
import { parseKeepSpec, readMappingFile } from '../batch/column-mapping.js';
import type { BatchSummary } from '../batch/batch-job.js';
import { formatOfPath, isTableFormat, resolveInput, TABLE_FORMATS, type TableFormat } from '../batch/input-files.js';
import { barProgress, lineProgress, QUIET, type ProgressSink } from '../batch/progress.js';
import { resolveShard, shardOutputPath } from '../batch/sharding.js';
import { SERVER_DEFAULTS } from '../config/server-config.js';
import { invalidArgument } from '../errors/index.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { ModelRepository } from '../repository/model-repository.js';
import { BUNDLED_EXAMPLES_REPOSITORY, collect, integer, positiveNumber } from './parse-options.js';
import { requireKind } from '../model-kinds/serving-kinds.js';

interface RunOptions {
  modelRepository: string;
  model: string;
  modelVersion?: string;
  input: string;
  inputFormat?: TableFormat;
  output: string;
  outputFormat?: TableFormat;
  mapping?: string;
  map: string[];
  idColumn?: string;
  keep: string[];
  batchSize?: number;
  maxErrors: number;
  checkpointRows: number;
  shardIndex?: number;
  shardCount?: number;
  overwrite?: boolean;
  quiet?: boolean;
  progressInterval: number;
  cpuCores?: number;
  readerThreads: number;
}

function formatOption(flag: string, description: string): Option {
  return new Option(flag, description).choices(TABLE_FORMATS);
}

function outputFormatOf(output: string, given: TableFormat | undefined): TableFormat {
  const format = given ?? formatOfPath(output);
  if (format === undefined || !isTableFormat(format))
    throw invalidArgument(
      `--output ${output}: cannot tell the format from the extension; use .jsonl, .csv or .parquet, or give --output-format`,
    );
  return format;
}

/** The mapping file, overridden by --map, --id-column and --keep. */
async function mappingRequest(opts: RunOptions): Promise<MappingRequest> {
  const file = opts.mapping === undefined ? {} : await readMappingFile(opts.mapping);
  const inputs: Record<string, string | readonly string[]> = { ...(file.inputs ?? {}) };
  for (const spec of opts.map) {
    const eq = spec.indexOf('=');
    const cols = spec
      .slice(eq + 1)
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    if (eq <= 0 || cols.length === 0) throw invalidArgument(`--map expects INPUT=COLUMN[,COLUMN...], got '${spec}'`);
    inputs[spec.slice(0, eq)] = cols;
  }
  const id = opts.idColumn ?? file.id;
  const outputs = opts.keep.length > 0 ? opts.keep.map((k) => ({ ...parseKeepSpec(k) })) : file.outputs;
  return {
    ...(id === undefined ? {} : { id }),
    ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
    ...(outputs === undefined ? {} : { outputs }),
  };
}

function progressFor(opts: RunOptions, label: string): ProgressSink {
  if (opts.quiet === true) return QUIET;
  return process.stderr.isTTY
    ? barProgress(process.stderr, label)
    : lineProgress(process.stderr, opts.progressInterval, label);
}

function printSummary(s: BatchSummary, summaryPath: (output: string) => string): void {
  const lines =
    s.status === 'already-complete'
      ? [
          `${s.output} is already complete (${s.succeeded} rows, ${s.errors} errors); nothing to do. Add --overwrite to run again.`,
        ]
      : [
          `model      ${s.model} version ${s.modelVersion}`,
          `rows       ${s.rows}${s.shard === null ? '' : ` (shard ${s.shard.index} of ${s.shard.count}: rows ${s.shard.firstRow}..${s.shard.endRow - 1} of ${s.totalRows})`}${s.resumedAtRow === null ? '' : `, resumed at row ${s.resumedAtRow}`}`,
          `succeeded  ${s.succeeded}`,
          `errors     ${s.errors}${s.errors > 0 ? ` (${s.errorsFile})` : ''}`,
          `wall time  ${s.wallSeconds.toFixed(1)} s, ${s.rowsPerSecond} rows/s`,
          `output     ${s.output} (${s.outputFormat}); summary ${summaryPath(s.output)}`,
        ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A shell word as typed: bare when it is safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs this job again (and so resumes it): `inferd` and the same arguments. */
export function resumeCommand(argv: readonly string[]): string {
  return ['inferd', ...argv.slice(2)].map(shellWord).join(' ');
}

async function runAction(opts: RunOptions): Promise<void> {
  const shard = resolveShard(opts.shardIndex, opts.shardCount);
  const output = path.resolve(shardOutputPath(opts.output, shard));
  const outputFormat = outputFormatOf(opts.output, opts.outputFormat);
  const inputInfo = await stat(opts.input).catch(() => undefined);
  if (inputInfo?.isDirectory() === true && path.dirname(output) === path.resolve(opts.input))
    throw invalidArgument(
      `--output ${output} is in the --input folder ${opts.input}: a rerun (or another shard) would read the output, its errors file and summary as input; write it to another folder`,
    );
  const input = await resolveInput(opts.input, opts.inputFormat);
  const mapping = await mappingRequest(opts);
  const repository = new ModelRepository({
    path: opts.modelRepository,
    controlMode: 'explicit',
    loadModels: [opts.model],
    // Not serve's poll interval: explicit mode never polls.
    pollSeconds: 60,
    cpuCores: opts.cpuCores ?? SERVER_DEFAULTS.cpuCores,
    metrics: new Metrics(),
    logger: createLogger('silent'),
    // Between executions the reader and writer need a core that spinning threads would keep busy.
    allowSpinning: false,
  });
  try {
    await repository.start();
    const mv = requireKind(repository.resolve(opts.model, opts.modelVersion), 'v2 infer');
    // The table engine (DuckDB) is loaded when a batch runs, not on every start of the CLI.
    const { BatchInterrupted, runBatchJob } = await import('../batch/batch-job.js');
    const { summaryPath } = await import('../batch/output-files.js');
    // Ctrl-C (or SIGTERM): stop reading, finish and commit the rows in flight, say how to resume.
    // A second one ends the process at once (the rows since the last checkpoint are then redone).
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stop.signal.aborted) {
        process.stderr.write(
          `\ninferd: ${signal} again: stopping now; a rerun redoes the rows since the last checkpoint\n`,
        );
        process.exit(130);
      }
      process.stderr.write(
        `\ninferd: ${signal}: finishing the rows in flight and committing them (${signal} again to stop at once)\n`,
      );
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let summary;
    try {
      summary = await runBatchJob({
        model: mv,
        input,
        output,
        outputFormat,
        mapping,
        ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
        maxErrors: opts.maxErrors,
        ...(shard === undefined ? {} : { shard }),
        checkpointRows: opts.checkpointRows,
        overwrite: opts.overwrite === true,
        instances: mv.instances.length,
        progress: progressFor(opts, shard === undefined ? 'batch' : `batch shard ${shard.index}/${shard.count}`),
        readerThreads: opts.readerThreads,
        signal: stop.signal,
      });
    } catch (err) {
      if (!(err instanceof BatchInterrupted)) throw err;
      process.stderr.write(
        `inferd: ${err.message}.\nResume with the same command:\n  ${resumeCommand(process.argv)}\n`,
      );
      process.exitCode = 130;
      return;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (opts.quiet !== true) printSummary(summary, summaryPath);
  } finally {
    await repository.close();
  }
}

function runCommand(): Command {
  return new Command('run')
    .description('run a model over every row of a JSONL, CSV or Parquet file (or folder); resumable and shardable')
    .addOption(
      new Option('-m, --model-repository <path>', 'model repository (Triton layout)').default(
        BUNDLED_EXAMPLES_REPOSITORY,
        'the bundled examples/models',
      ),
    )
    .requiredOption('--model <name>', 'model to run')
    .option('--model-version <n>', 'model version (default: the latest)')
    .requiredOption('-i, --input <path>', 'input file, or a folder of files read in sorted name order')
    .addOption(formatOption('--input-format <format>', 'input format (default: from the extension)'))
    .requiredOption('-o, --output <path>', 'output file (.jsonl, .csv or .parquet)')
    .addOption(formatOption('--output-format <format>', 'output format (default: from the extension)'))
    .option('--mapping <file>', 'YAML/JSON mapping: id column, columns per input, outputs to keep (see docs/batch.md)')
    .option('--map <input=columns>', 'feed a model input from these columns, comma-separated (repeatable)', collect, [])
    .option('--id-column <name>', 'column copied into every output and error row (default: only the row number)')
    .option(
      '--keep <output[:mode]>',
      'output to keep and how: raw (default), argmax, label, topk:N (repeatable; default every output, raw)',
      collect,
      [],
    )
    .option(
      '--batch-size <n>',
      "rows per execution (default: the model's max_batch_size, at most 1024)",
      integer(1, 1 << 20),
    )
    .option('--max-errors <n>', 'stop once more rows than this have failed', integer(0), 1000)
    .option('--checkpoint-rows <n>', 'commit results and the checkpoint every n rows', integer(1), 50_000)
    .option('--shard-index <i>', 'this shard (default: $JOB_COMPLETION_INDEX when set)', integer(0))
    .option('--shard-count <n>', 'number of shards; rows are split by row number', integer(1))
    .option('--overwrite', 'start over, discarding a finished or interrupted job with this output')
    .option('-q, --quiet', 'print nothing but errors')
    .option(
      '--progress-interval <seconds>',
      'seconds between progress lines when stderr is not a terminal',
      positiveNumber,
      10,
    )
    .option('--cpu-cores <n>', 'cores the runtime may use (default: all available)', integer(1, 4096))
    .option('--reader-threads <n>', 'DuckDB threads reading the input', integer(1, 256), 1)
    .addHelpText(
      'after',
      `
Output rows carry "row" (the input row number, from 0) and the --id-column, then one column per
kept output. Rows that fail go to <output>.errors.jsonl with the reason; a summary is written to
<output>.summary.json. Killed jobs resume when rerun with the same arguments.

Examples:
  $ inferd batch run -m examples/models --model iris -i flowers.csv -o predictions.parquet \\
      --map input=sepal_length,sepal_width,petal_length,petal_width --id-column id \\
      --keep probabilities:label --keep probabilities:topk:2
  $ inferd batch run -m examples/models --model mlp -i features.parquet -o logits.parquet \\
      --map input=features --shard-index 0 --shard-count 4
  $ inferd batch merge -o logits.parquet logits-00000-of-00004.parquet logits-00001-of-00004.parquet ...`,
    )
    .action(runAction);
}

function mergeCommand(): Command {
  return new Command('merge')
    .description(
      'combine the outputs of sharded batch runs into one, ordered by row, checking none is missing or repeated',
    )
    .argument('<parts...>', 'shard outputs, or folders holding them')
    .requiredOption('-o, --output <path>', 'merged output file (.jsonl, .csv or .parquet)')
    .addOption(formatOption('--output-format <format>', 'output format (default: from the extension)'))
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (parts: string[], opts: { output: string; outputFormat?: TableFormat; quiet?: boolean }) => {
      const outputFormat = outputFormatOf(opts.output, opts.outputFormat);
      const { listParts, mergeShards } = await import('../batch/merge-shards.js');
      const files = await listParts(parts, opts.output);
      const s = await mergeShards({ parts: files, output: path.resolve(opts.output), outputFormat });
      if (opts.quiet !== true)
        process.stdout.write(
          `merged ${s.parts.length} parts into ${s.output}: ${s.rows} rows, ${s.errors} errors${s.verified ? `; every one of the ${s.totalRows} input rows present exactly once` : '; no shard summaries: checked for duplicates only'}\n`,
        );
    });
}

export function batchCommand(): Command {
  return new Command('batch')
    .description('batch inference over files: run a model over a table, merge sharded outputs')
    .addCommand(runCommand())
    .addCommand(mergeCommand());
}
