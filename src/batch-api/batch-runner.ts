// Runs batches: validates each new batch's input file, then executes the lines of one batch at a
// time, oldest batch first, with a bounded number of lines in flight so a batch never fills a
// model's queue. Results are appended to the batch's output and error logs (fsynced) as lines
// finish; on restart the logs say which lines are done and the rest run. Cancel stops taking new
// lines and lets running ones finish; stop (graceful shutdown) also withdraws queued lines, which
// run again after the restart.

import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { backoffMs, isTransient, retryDelayMs, toInferdError } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { ModelVersion } from '../model-kinds/model-version.js';
import { badRequest } from './batch-api-error.js';
import { parseInferUrl, isOpenAIBatchUrl } from './batch-endpoints.js';
import { scanInputFile, type InputLine, type InputScan } from './batch-input.js';
import type { BatchRecord, BatchStore } from './batch-store.js';
import { nowSeconds, TERMINAL_STATUSES, type BatchObject } from './batch-types.js';
import type { FileStore } from './file-store.js';
import { errorResponse, type LineExecutor, type LineResponse } from './line-executor.js';
import { OutputLog } from './output-log.js';

export interface BatchRunnerOptions {
  readonly store: BatchStore;
  readonly files: FileStore;
  readonly executor: LineExecutor;
  readonly logger: Logger;
  /** Lines of the running batch in flight at once (queued or executing). */
  readonly concurrency: number;
  /** Largest input line accepted (the REST body limit). */
  readonly maxLineBytes: number;
}

type Counts = BatchObject['request_counts'];
type FinalStatus = 'completed' | 'cancelled' | 'expired';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface RunState {
  readonly record: BatchRecord;
  readonly input: FileHandle;
  readonly output: OutputLog;
  readonly errors: OutputLog;
  counts: Counts;
}

export class BatchRunner {
  private readonly queue: string[] = [];
  /** Validated input files of batches not yet run (a resumed batch scans its file again). */
  private readonly scans = new Map<string, InputScan>();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly background = new Set<Promise<void>>();
  /** Batch lines in flight per model version, capped at half the version's queue. */
  private readonly perModel = new Map<string, number>();
  private slotWaiters: (() => void)[] = [];

  constructor(private readonly options: BatchRunnerOptions) {
    // Every line in flight listens on the one shutdown signal (in the scheduler, or backing off).
    setMaxListeners(0, this.abort.signal);
  }

  /**
   * Before serving: the counts of batches an earlier run left mid-way are read from their logs,
   * so the batch object is right from the first GET.
   */
  async recover(): Promise<void> {
    for (const record of this.options.store.list()) {
      const { status } = record.batch;
      if (record.finalizingTo !== undefined || (status !== 'in_progress' && status !== 'cancelling')) continue;
      record.batch = { ...record.batch, request_counts: await this.countLogs(record) };
    }
  }

  /** Picks up every batch a previous run left unfinished, oldest first. */
  start(): void {
    for (const record of [...this.options.store.list()].reverse()) {
      if (TERMINAL_STATUSES.has(record.batch.status)) continue;
      if (record.finalizingTo !== undefined) {
        this.track(this.finalize(record, record.finalizingTo, record.batch.request_counts));
      } else if (record.batch.status === 'validating') {
        this.submit(record);
      } else {
        this.enqueue(record.batch.id);
      }
    }
  }

  /** A new batch: validate its input, then queue it. */
  submit(record: BatchRecord): void {
    this.track(this.validate(record).catch((err: unknown) => this.failBatch(record, err)));
  }

  /** True while some unfinished batch reads this input file. */
  usesFile(fileId: string): boolean {
    return this.options.store
      .list()
      .some((r) => r.batch.input_file_id === fileId && !TERMINAL_STATUSES.has(r.batch.status));
  }

  async cancel(id: string): Promise<BatchObject> {
    const record = this.options.store.get(id);
    const { status } = record.batch;
    if (status === 'cancelling' || status === 'cancelled') return record.batch;
    if (status !== 'validating' && status !== 'in_progress') {
      throw badRequest(
        `batch '${id}' is ${status}; only a validating or in_progress batch can be cancelled`,
        'batch_id',
        'batch_not_cancellable',
      );
    }
    record.batch = { ...record.batch, status: 'cancelling', cancelling_at: nowSeconds() };
    await this.options.store.save(record);
    const queued = this.queue.indexOf(id);
    if (queued >= 0) {
      // Not running yet: nothing to wait for.
      this.queue.splice(queued, 1);
      this.scans.delete(id);
      this.track(this.countLogs(record).then((counts) => this.finalize(record, 'cancelled', counts)));
    }
    // A running batch stops taking lines (see runBatch); a validating one stops after validation.
    return record.batch;
  }

  /** Graceful shutdown: no new lines, queued lines withdrawn, running lines finish and are recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loop;
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private track(work: Promise<void>): void {
    const p = work.catch((err: unknown) => this.options.logger.error({ err }, 'batch work failed'));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private enqueue(id: string): void {
    this.queue.push(id);
    this.kick();
  }

  private kick(): void {
    if (this.loop !== undefined || this.stopping || this.queue.length === 0) return;
    this.loop = (async () => {
      let id;
      while (!this.stopping && (id = this.queue.shift()) !== undefined) {
        const record = this.options.store.get(id);
        await this.runBatch(record).catch((err: unknown) => this.failBatch(record, err));
      }
    })().finally(() => {
      this.loop = undefined;
      this.kick();
    });
  }

  private scanLimits() {
    return { maxLineBytes: this.options.maxLineBytes };
  }

  private async validate(record: BatchRecord): Promise<void> {
    const { batch } = record;
    const scan = await scanInputFile(
      this.options.files.contentPath(batch.input_file_id),
      batch.endpoint,
      this.scanLimits(),
    );
    if (record.batch.status === 'cancelling') {
      await this.finalize(record, 'cancelled', { total: scan.lines.length, completed: 0, failed: 0 });
      return;
    }
    if (scan.errors.length > 0) {
      record.batch = {
        ...record.batch,
        status: 'failed',
        failed_at: nowSeconds(),
        errors: { object: 'list', data: scan.errors },
      };
      await this.options.store.save(record);
      this.options.logger.info({ batch: batch.id, errors: scan.errors.length }, 'batch input file refused');
      return;
    }
    this.scans.set(batch.id, scan);
    record.batch = {
      ...record.batch,
      status: 'in_progress',
      in_progress_at: nowSeconds(),
      request_counts: { total: scan.lines.length, completed: 0, failed: 0 },
    };
    await this.options.store.save(record);
    this.enqueue(batch.id);
  }

  private async runBatch(record: BatchRecord): Promise<void> {
    const { store, files } = this.options;
    const { id } = record.batch;
    const inputPath = files.contentPath(record.batch.input_file_id);
    // The input file cannot change, so a resumed batch finds the lines it validated.
    const scan = this.scans.get(id) ?? (await scanInputFile(inputPath, record.batch.endpoint, this.scanLimits()));
    this.scans.delete(id);
    const out = await OutputLog.open(store.outputLogPath(id));
    const err = await OutputLog.open(store.errorLogPath(id));
    const done = new Set([...out.customIds, ...err.customIds]);
    const state: RunState = {
      record,
      input: await open(inputPath, 'r'),
      output: out.log,
      errors: err.log,
      counts: { total: scan.lines.length, completed: out.customIds.length, failed: err.customIds.length },
    };
    record.batch = { ...record.batch, request_counts: state.counts };
    const todo = scan.lines.filter((l) => !done.has(l.customId));
    if (done.size > 0) this.options.logger.info({ batch: id, done: done.size, left: todo.length }, 'batch resumed');

    let next = 0;
    let expired = false;
    // A worker that throws (a log that cannot be written) stops the others taking lines.
    let broken = false;
    const worker = async (): Promise<void> => {
      while (!broken && !this.stopping && record.batch.status === 'in_progress') {
        if (nowSeconds() >= record.batch.expires_at) {
          expired = true;
          return;
        }
        const line = todo[next++];
        if (line === undefined) return;
        try {
          await this.runLine(state, line);
        } catch (err) {
          broken = true;
          throw err;
        }
      }
    };
    try {
      // Every worker has finished before the logs close, even when one failed.
      const settled = await Promise.allSettled(Array.from({ length: Math.max(1, this.options.concurrency) }, worker));
      const failure = settled.find((r) => r.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
      if (expired && !this.stopping) {
        // OpenAI's rule: requests not run within the completion window go to the error file.
        for (const line of todo.slice(next)) {
          await state.errors.append(
            JSON.stringify({
              id: `batch_req_${randomBytes(12).toString('hex')}`,
              custom_id: line.customId,
              response: null,
              error: {
                code: 'batch_expired',
                message: 'This line could not be run before the completion window ended.',
              },
            }),
          );
          this.count(state, false);
        }
      }
    } finally {
      // Lines still writing (a worker that threw leaves others running) finish before the logs close.
      await Promise.allSettled([state.output.close(), state.errors.close(), state.input.close()]);
    }
    // Stopping mid-batch: the logs are the checkpoint; the next start resumes from them.
    if (this.stopping && record.batch.status === 'in_progress') return;
    const status: FinalStatus = record.batch.status === 'cancelling' ? 'cancelled' : expired ? 'expired' : 'completed';
    await this.finalize(record, status, state.counts);
  }

  private count(state: RunState, ok: boolean): void {
    const c = state.counts;
    state.counts = ok ? { ...c, completed: c.completed + 1 } : { ...c, failed: c.failed + 1 };
    state.record.batch = { ...state.record.batch, request_counts: state.counts };
  }

  /** Runs one line until it has a result to record; returns without one when the server stops. */
  private async runLine(state: RunState, line: InputLine): Promise<void> {
    const batchId = state.record.batch.id;
    const requestId = `${batchId}-${line.lineNo}`;
    const bytes = Buffer.alloc(line.length);
    await state.input.read(bytes, 0, line.length, line.offset);
    const parsed = JSON.parse(bytes.toString('utf8')) as { url: string; body: unknown };
    const target = parseInferUrl(parsed.url);
    let response: LineResponse | undefined;
    for (let attempt = 0; response === undefined; attempt++) {
      try {
        if (isOpenAIBatchUrl(parsed.url)) {
          // The engine's own waiting limit bounds these lines (a full queue is retried below).
          response = await this.options.executor.runOpenAI(parsed.url, parsed.body, requestId, this.abort.signal);
          break;
        }
        if (target === undefined) throw badRequest(`url '${parsed.url}' is not a v2 infer URL`);
        const mv = this.options.executor.resolve(target);
        const release = await this.modelSlot(mv);
        try {
          response = await this.options.executor.run(mv, parsed.body, requestId, this.abort.signal);
        } finally {
          release();
        }
      } catch (error) {
        const err = toInferdError(error, requestId);
        const cancelled = err.code === 'INF_ERR_CANCELLED';
        // Withdrawn by the shutdown: the line runs again after the restart.
        if (this.stopping && (cancelled || isTransient(err))) return;
        // A full queue or a model reloading says nothing about the line: wait and try again
        // (errors/retry-policy.ts); so does a cancellation that was not the shutdown's.
        const delay = cancelled ? backoffMs(attempt) : retryDelayMs(err, attempt);
        if (delay === undefined) {
          response = errorResponse(err, requestId);
          break;
        }
        await sleep(delay, this.abort.signal);
      }
    }
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    const text =
      `{"id":"batch_req_${randomBytes(12).toString('hex')}","custom_id":${JSON.stringify(line.customId)},` +
      `"response":{"status_code":${response.statusCode},"request_id":${JSON.stringify(requestId)},"body":${response.bodyJson}},"error":null}`;
    await (ok ? state.output : state.errors).append(text);
    this.count(state, ok);
  }

  /** Waits until the model version has room for one more batch line; returns the release. */
  private async modelSlot(mv: ModelVersion): Promise<() => void> {
    const key = `${mv.name}/${mv.version}`;
    // Half the queue stays free for real-time requests.
    const cap = Math.max(1, Math.floor(mv.config.queuePolicy.maxQueueSize / 2));
    while ((this.perModel.get(key) ?? 0) >= cap) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.perModel.set(key, (this.perModel.get(key) ?? 0) + 1);
    return () => {
      this.perModel.set(key, (this.perModel.get(key) ?? 1) - 1);
      const waiters = this.slotWaiters;
      this.slotWaiters = [];
      for (const w of waiters) w();
    };
  }

  /** Counts of a batch that is not running, from its logs. */
  private async countLogs(record: BatchRecord): Promise<Counts> {
    const { store } = this.options;
    const count = async (file: string): Promise<number> => {
      const { log, customIds } = await OutputLog.open(file);
      await log.close();
      return customIds.length;
    };
    return {
      total: record.batch.request_counts.total,
      completed: await count(store.outputLogPath(record.batch.id)),
      failed: await count(store.errorLogPath(record.batch.id)),
    };
  }

  /**
   * Turns the logs into files of the Files API and sets the final status. The intent and the final
   * counts are saved first, so a crash part-way finalizes again on the next start with the same ids.
   */
  private async finalize(record: BatchRecord, status: FinalStatus, counts: Counts): Promise<void> {
    const { store, files } = this.options;
    const { id } = record.batch;
    if (record.finalizingTo === undefined) {
      record.finalizingTo = status;
      record.batch = {
        ...record.batch,
        request_counts: counts,
        ...(status === 'completed' ? { status: 'finalizing' as const, finalizing_at: nowSeconds() } : {}),
      };
      await store.save(record);
    }
    const adopt = async (n: number, log: string, fileId: string, suffix: string): Promise<string | null> => {
      if (n === 0) {
        await rm(log, { force: true });
        return null;
      }
      return (await files.adopt(log, fileId, `${id}_${suffix}.jsonl`, 'batch_output')).id;
    };
    const outputFileId = await adopt(counts.completed, store.outputLogPath(id), record.outputFileId, 'output');
    const errorFileId = await adopt(counts.failed, store.errorLogPath(id), record.errorFileId, 'error');
    const at = nowSeconds();
    record.batch = {
      ...record.batch,
      status,
      output_file_id: outputFileId,
      error_file_id: errorFileId,
      ...(status === 'completed'
        ? { completed_at: at }
        : status === 'cancelled'
          ? { cancelled_at: at }
          : { expired_at: at }),
    };
    delete record.finalizingTo;
    await store.save(record);
    this.options.logger.info({ batch: id, status, ...counts }, 'batch finished');
  }

  /** A batch that cannot go on (its logs cannot be written, its input is gone) fails as a whole. */
  private async failBatch(record: BatchRecord, error: unknown): Promise<void> {
    if (this.stopping) {
      this.options.logger.warn({ err: error, batch: record.batch.id }, 'batch interrupted by shutdown');
      return;
    }
    this.options.logger.error({ err: error, batch: record.batch.id }, 'batch failed');
    record.batch = {
      ...record.batch,
      status: 'failed',
      failed_at: nowSeconds(),
      errors: {
        object: 'list',
        data: [
          {
            code: 'server_error',
            message: `the batch could not continue: ${error instanceof Error ? error.message : String(error)}`,
            param: null,
            line: null,
          },
        ],
      },
    };
    await this.options.store.save(record);
  }
}
