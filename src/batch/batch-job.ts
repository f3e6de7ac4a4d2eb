// `inferd batch run` as a library: reads the input in row order, sends batches through the model
// version's scheduler with several in flight (the worker never idles), copies results in row
// order into checkpointed columnar parts (Parquet), isolates rows that make a batch fail, and
// converts the parts into the output (in its format), errors file and summary at the end. A rerun of an interrupted job resumes at its checkpoint.

import { stat } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { InferRequest } from '../core/infer-request.js';
import { InferdError, invalidArgument, isInferdError, isTransient, retryDelayMs } from '../errors/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { makeTensor, type Tensor } from '../tensor/tensor.js';
import { resolveMapping, type MappingPlan, type MappingRequest } from './column-mapping.js';
import type { InputSet, TableFormat } from './input-files.js';
import { errorsPath, summaryPath, workDir, writeOutput, writeSummary, concatenate } from './output-files.js';
import { countJsonlRows, jsonlFastPlan, readJsonlBatches } from './jsonl-rows.js';
import { errorLine, OutputFormatter, outputColumns } from './output-rows.js';
import { PartRowsWriter } from './part-rows.js';
import { PartStore } from './part-store.js';
import { QUIET, type ProgressSink } from './progress.js';
import { readBatches, type RowBatch, type RowError } from './row-reader.js';
import { shardRange, type Shard } from './sharding.js';
import { countRows, describeInput, duckdbMessage, openTableSource } from './table-source.js';

/** What the job needs of a loaded model version (the repository's ModelVersion has it all). */
export interface BatchModel {
  readonly name: string;
  readonly version: number;
  readonly config: ResolvedModelConfig;
  readonly labels: ReadonlyMap<string, readonly string[]>;
  readonly scheduler: Scheduler;
}

export interface BatchJobOptions {
  readonly model: BatchModel;
  readonly input: InputSet;
  /** Output path (already suffixed for a shard). */
  readonly output: string;
  readonly outputFormat: TableFormat;
  readonly mapping: MappingRequest;
  /** Rows per execution; default the model's max_batch_size (capped at 1024). */
  readonly batchSize?: number;
  readonly maxErrors: number;
  readonly shard?: Shard;
  /** Commit a part after this many rows. */
  readonly checkpointRows: number;
  readonly overwrite: boolean;
  /** Batches queued or executing at once (default 2 per instance, at least 3). */
  readonly inFlight?: number;
  readonly instances?: number;
  readonly progress?: ProgressSink;
  /** DuckDB threads for reading (default 1: the cores belong to the model). */
  readonly readerThreads?: number;
  /**
   * Stops the job early (Ctrl-C): no new rows are read, the rows in flight finish and are
   * committed with a checkpoint, and the job ends with BatchInterrupted; a rerun resumes there.
   */
  readonly signal?: AbortSignal;
}

export interface BatchSummary {
  readonly status: 'complete' | 'already-complete';
  readonly model: string;
  readonly modelVersion: number;
  readonly input: readonly string[];
  readonly output: string;
  readonly outputFormat: TableFormat;
  readonly errorsFile: string;
  readonly shard: (Shard & { readonly firstRow: number; readonly endRow: number }) | null;
  /** Rows of the whole input (all shards). */
  readonly totalRows: number;
  /** Rows of this job (its shard). */
  readonly rows: number;
  readonly succeeded: number;
  readonly errors: number;
  /** Rows done by earlier, interrupted runs of this job. */
  readonly resumedAtRow: number | null;
  readonly batchSize: number;
  readonly wallSeconds: number;
  readonly rowsPerSecond: number;
  readonly columns: readonly { name: string; type: string }[];
  readonly finishedAt: string;
}

/** Raised when the job was stopped through its signal, after committing the rows it finished. */
export class BatchInterrupted extends Error {
  constructor(
    /** Rows of the job done (this run and earlier ones), and the job's rows in all. */
    readonly done: number,
    readonly rows: number,
    readonly output: string,
  ) {
    super(`stopped after ${done} of ${rows} rows; the finished rows are committed beside ${output}`);
    this.name = 'BatchInterrupted';
  }
}

/** Raised when more rows failed than --max-errors allows; the job can be resumed. */
export class TooManyErrors extends InferdError {
  constructor(
    readonly errors: number,
    maxErrors: number,
    errorsFile: string,
  ) {
    super(
      'INF_ERR_INVALID_ARGUMENT',
      `stopped: ${errors} rows failed, more than --max-errors ${maxErrors}; the reasons are in ${errorsFile}. Fix the input, or rerun with a higher --max-errors to resume`,
    );
  }
}

interface Executed {
  readonly batch: RowBatch;
  readonly rows: readonly number[];
  readonly outputs: ReadonlyMap<string, Tensor>[];
  /** Per successful sub-batch: the row numbers and ids it holds. */
  readonly groups: { rows: number[]; ids: RowBatch['ids'] }[];
  readonly failed: RowError[];
  readonly fatal?: Error;
}

/**
 * Errors that say nothing about the rows: stop the job rather than blame them. A transient refusal
 * gets here once the retry policy gave up on it (an unavailable model; a full queue is retried).
 */
function isFatal(err: unknown): boolean {
  if (!isInferdError(err)) return false;
  return isTransient(err) || err.code === 'INF_ERR_CANCELLED' || err.code === 'INF_ERR_MODEL_NOT_FOUND';
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

function sliceRows(t: Tensor, a: number, b: number): Tensor {
  const width = t.shape.slice(1).reduce((n, d) => n * d, 1);
  const data = t.data.slice(a * width, b * width);
  return makeTensor(t.name, t.datatype, [b - a, ...t.shape.slice(1)], data);
}

function copyTensor(t: Tensor): Tensor {
  return makeTensor(t.name, t.datatype, t.shape, t.data.slice());
}

/** The job's identity: a resume must match it field for field. */
function jobIdentity(opts: BatchJobOptions, plan: MappingPlan, totalRows: number): Record<string, unknown> {
  return {
    model: opts.model.name,
    modelVersion: opts.model.version,
    input: opts.input.files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs })),
    inputFormat: opts.input.format,
    totalRows,
    mapping: plan,
    outputFormat: opts.outputFormat,
    shard: opts.shard ?? null,
    parts: 'parquet',
  };
}

function differences(before: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const names: Record<string, string> = {
    model: 'model',
    modelVersion: 'model version',
    input: 'input files (names, sizes or modification times)',
    inputFormat: 'input format',
    totalRows: 'input row count',
    mapping: 'column mapping or kept outputs',
    outputFormat: 'output format',
    shard: 'shard',
    parts: 'format of the part files (written by another inferd version)',
  };
  const out: string[] = [];
  for (const key of Object.keys(names)) {
    const a = JSON.stringify(before[key]);
    const b = JSON.stringify(now[key]);
    if (a === b) continue;
    const short = (s: string | undefined): string =>
      (s ?? '').length > 60 ? `${(s ?? '').slice(0, 57)}...` : (s ?? '');
    out.push(`${names[key]} (was ${short(a)}, now ${short(b)})`);
  }
  return out;
}

export async function runBatchJob(opts: BatchJobOptions): Promise<BatchSummary> {
  const started = process.hrtime.bigint();
  const { model, output } = opts;
  const config = model.config;
  const batched = config.maxBatchSize > 0;
  const batchSize = batched ? (opts.batchSize ?? Math.min(config.maxBatchSize, 1024)) : 1;
  if (batched && batchSize > config.maxBatchSize)
    throw invalidArgument(
      `--batch-size ${batchSize} is over model '${model.name}' max_batch_size ${config.maxBatchSize}`,
    );
  const progress = opts.progress ?? QUIET;
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(opts.readerThreads ?? 1),
    // Input files are read once: caching what was read would only grow with the file.
    enable_external_file_cache: 'false',
  });
  const conn = await instance.connect();
  // The writer's own connection: the reader's is busy streaming the input.
  const writerConn = await instance.connect();
  try {
    const source = await openTableSource(conn, opts.input);
    const plan = resolveMapping(config, model.labels, source.columns, opts.mapping);
    // JSON lines of numeric inputs are parsed here, DuckDB judging only the rows that need it.
    const fast = jsonlFastPlan(source, plan);
    const totalRows = fast === undefined ? await countRows(conn, source) : await countJsonlRows(opts.input);
    const range = shardRange(opts.shard, totalRows);
    const columns = outputColumns(config, plan, source.columns);
    const identity = jobIdentity(opts, plan, totalRows);
    const dir = workDir(output);

    let store: PartStore;
    let resumedAtRow: number | null = null;
    const previous = opts.overwrite ? undefined : await PartStore.read(dir);
    if (previous !== undefined) {
      const changed = differences(previous.job as Record<string, unknown>, identity);
      if (changed.length > 0)
        throw invalidArgument(
          `${output} belongs to a job with other arguments; changed: ${changed.join('; ')}. Rerun with the original arguments to resume, or add --overwrite to start over`,
        );
    }
    const summaryBase = {
      model: model.name,
      modelVersion: model.version,
      input: opts.input.files.map((f) => f.path),
      output,
      outputFormat: opts.outputFormat,
      errorsFile: errorsPath(output),
      shard: opts.shard === undefined ? null : { ...opts.shard, firstRow: range.start, endRow: range.end },
      totalRows,
      rows: range.end - range.start,
      batchSize,
      columns,
    };
    if (previous?.checkpoint.complete === true) {
      // The parts are gone once a job is complete: a lost output cannot be rebuilt from them.
      if (!(await exists(output)))
        throw invalidArgument(
          `${output} is missing, but its job finished (${workDir(output)} says so); add --overwrite to run the job again`,
        );
      return {
        ...summaryBase,
        status: 'already-complete',
        succeeded: previous.checkpoint.ok,
        errors: previous.checkpoint.failed,
        resumedAtRow: null,
        wallSeconds: 0,
        rowsPerSecond: 0,
        finishedAt: new Date().toISOString(),
      };
    }
    const formatter = new OutputFormatter(plan, model.labels);
    const writer = await PartRowsWriter.open(writerConn, config, plan, model.labels, columns, formatter);
    if (previous !== undefined && previous.checkpoint.nextRow >= range.start) {
      store = await PartStore.resume(dir, previous.checkpoint, writer);
      if (previous.checkpoint.nextRow > range.start) resumedAtRow = previous.checkpoint.nextRow;
    } else {
      store = await PartStore.create(dir, identity, range.start, writer);
    }
    const earlierSeconds = store.state.elapsedSeconds;
    const elapsed = (): number => earlierSeconds + Number(process.hrtime.bigint() - started) / 1e9;

    const outputNames = [...new Set(plan.outputs.map((o) => o.output))];
    const instances = Math.max(1, opts.instances ?? 1);
    const inFlight = opts.inFlight ?? Math.max(3, 2 * instances);
    let seq = 0;

    const infer = async (inputs: readonly Tensor[], rows: number): Promise<Map<string, Tensor>> => {
      const request: InferRequest = {
        requestId: `batch-${++seq}`,
        // The runtime may transfer (detach) these buffers; keep the originals for retries.
        inputs: inputs.map(copyTensor),
        outputNames,
        batchSize: batched ? rows : 1,
        priority: 0,
        timeoutUs: 0,
        arrivalNs: process.hrtime.bigint(),
      };
      for (let attempt = 0; ; attempt++) {
        try {
          const result = await model.scheduler.infer(request);
          return new Map(result.outputs.map((t) => [t.name, t]));
        } catch (err) {
          // A full queue (retried while it lasts) or a model unavailable for a moment (a few tries):
          // wait and try again, as errors/retry-policy.ts says.
          const delay = retryDelayMs(err, attempt);
          if (delay === undefined) throw err;
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    };

    /** Runs rows [a, b) of the batch; on failure, halves until the failing rows are alone. */
    const runRange = async (batch: RowBatch, a: number, b: number, out: Executed): Promise<void> => {
      const inputs = batched
        ? batch.inputs.map((t) => (a === 0 && b === batch.rows.length ? t : sliceRows(t, a, b)))
        : batch.inputs;
      try {
        const outputs = await infer(inputs, b - a);
        out.outputs.push(outputs);
        out.groups.push({ rows: batch.rows.slice(a, b), ids: batch.ids?.slice(a, b) });
      } catch (err) {
        if (isFatal(err)) throw err;
        if (b - a === 1) {
          const id = batch.ids?.[a];
          out.failed.push({
            row: batch.rows[a] ?? -1,
            ...(id === undefined ? {} : { id }),
            error: `execution failed: ${err instanceof Error ? err.message : String(err)}`,
          });
          return;
        }
        const mid = a + Math.ceil((b - a) / 2);
        await runRange(batch, a, mid, out);
        await runRange(batch, mid, b, out);
      }
    };

    const execute = async (batch: RowBatch): Promise<Executed> => {
      const out: Executed = { batch, rows: batch.rows, outputs: [], groups: [], failed: [...batch.errors] };
      if (batch.rows.length === 0) return out;
      try {
        await runRange(batch, 0, batch.rows.length, out);
        return out;
      } catch (err) {
        return { ...out, fatal: err instanceof Error ? err : new Error('batch execution failed', { cause: err }) };
      }
    };

    let ok = store.state.ok;
    let failed = store.state.failed;
    const jobRows = range.end - range.start;
    progress.start(jobRows, store.state.nextRow - range.start);

    const writeErrorsFile = async (): Promise<void> => {
      const files = store.state.parts.map((p) => store.partPath(p.errors));
      await concatenate(files, errorsPath(output));
    };

    const commitHead = async (pending: Promise<Executed>[]): Promise<void> => {
      const done = await (pending.shift() as Promise<Executed>);
      if (done.fatal !== undefined) throw done.fatal;
      for (const [i, outputs] of done.outputs.entries()) {
        const g = done.groups[i];
        if (g !== undefined) await writer.add(g.rows, g.ids, outputs);
      }
      const errs = [...done.failed].sort((x, y) => x.row - y.row);
      const errText = errs.map((e) => errorLine(e, plan.idColumn)).join('');
      const okRows = done.groups.reduce((n, g) => n + g.rows.length, 0);
      await store.append(errText, okRows, errs.length);
      ok += okRows;
      failed += errs.length;
      progress.update(done.batch.endRow - range.start, failed);
      if (failed > opts.maxErrors) {
        await store.commit(done.batch.endRow, elapsed());
        await writeErrorsFile();
        throw new TooManyErrors(failed, opts.maxErrors, errorsPath(output));
      }
      if (store.pendingRows >= opts.checkpointRows) await store.commit(done.batch.endRow, elapsed());
    };

    const pending: Promise<Executed>[] = [];
    let lastEnd = store.state.nextRow;
    // Set while results are written: a failure then is the writer's (disk, DuckDB), not the input's.
    let writing = false;
    try {
      try {
        const read = { start: store.state.nextRow, end: range.end, batchSize, batched };
        const batches =
          fast === undefined ? readBatches(conn, source, plan, read) : readJsonlBatches(conn, source, plan, fast, read);
        for await (const batch of batches) {
          pending.push(execute(batch));
          lastEnd = batch.endRow;
          writing = true;
          while (pending.length >= inFlight) await commitHead(pending);
          writing = false;
          if (opts.signal?.aborted === true) break;
        }
      } catch (err) {
        if (writing || isInferdError(err)) throw err;
        throw invalidArgument(`reading ${describeInput(opts.input)} failed: ${duckdbMessage(err)}`);
      }
      while (pending.length > 0) await commitHead(pending);
      await store.commit(Math.max(lastEnd, store.state.nextRow), elapsed());
      if (opts.signal?.aborted === true && store.state.nextRow < range.end) {
        await writeErrorsFile();
        throw new BatchInterrupted(store.state.nextRow - range.start, jobRows, output);
      }
    } catch (err) {
      // Let queued executions finish before the caller closes the model; their rows are redone on resume.
      await Promise.allSettled(pending);
      await store.abandon();
      progress.stop();
      throw err;
    }
    progress.stop();
    if (store.state.nextRow !== range.end)
      throw new InferdError(
        'INF_ERR_INTERNAL',
        `the input ended at row ${store.state.nextRow}, before row ${range.end}: did it change while the job ran?`,
      );

    const parts = store.state.parts;
    await writeOutput(
      conn,
      writer.relation(
        parts.map((p) => store.partPath(p.rows)),
        opts.outputFormat,
      ),
      output,
      opts.outputFormat,
    );
    await writeErrorsFile();
    const wallSeconds = elapsed();
    const summary: BatchSummary = {
      ...summaryBase,
      status: 'complete',
      succeeded: ok,
      errors: failed,
      resumedAtRow,
      wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      rowsPerSecond: wallSeconds > 0 ? Math.round(jobRows / wallSeconds) : 0,
      finishedAt: new Date().toISOString(),
    };
    await writeSummary(output, summary);
    await store.markComplete();
    return summary;
  } finally {
    writerConn.closeSync();
    conn.closeSync();
    instance.closeSync();
  }
}

export { summaryPath };
