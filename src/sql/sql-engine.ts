// The SQL engine: DuckDB in a worker thread (sql-worker.ts), models loaded in-process from a
// repository in explicit mode, and the predict functions scored through each model's scheduler.
//
// A query's path: the predict calls are found in the SQL text and their models loaded (lazily, on
// the first query that names them); each call is planned into a DuckDB function for that model
// (predict-function-spec.ts) and the text rewritten to call it; the worker runs the query. For
// every DuckDB chunk (up to 2048 rows) the worker sends the argument tensors here, and they run
// as ceil(rows / max_batch_size) requests submitted together to the model's scheduler, so a chunk
// is a few executions, not one per row. The models' sessions run on the main thread (inline
// instances): the worker waits for each chunk, so a model worker thread would only add hops.

import os from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { InferdError, invalidArgument } from '../errors/index.js';
import { startSiblingWorker } from '../util/sibling-worker.js';
import { RpcClient } from '../util/worker-rpc.js';
import type { InferRequest } from '../core/infer-request.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { ModelRepository } from '../repository/model-repository.js';
import { allocData, bytesElements, copyElements, fixedElements, makeTensor, type Tensor } from '../tensor/tensor.js';
import { findPredictCalls, rewritePredictCalls, type PredictCall } from './predict-calls.js';
import { planPredictFunction, sqlTypeText, type PredictFunctionSpec } from './predict-function-spec.js';
import type { ResultFormat, SqlColumn } from './result-format.js';
import type { QueryEvent, ScoreReply, ScoreRequest, SqlProtocol, SqlWorkerData } from './sql-messages.js';
import { requireKind } from '../model-kinds/serving-kinds.js';

/** Rows in a DuckDB data chunk (its STANDARD_VECTOR_SIZE): the most a predict call is handed at once. */
const DUCKDB_CHUNK_ROWS = 2048;

/** A worker's scoring channel (the main thread's end) and the flag it waits on. */
interface ScoreLink {
  readonly port: MessagePort;
  readonly flag: Int32Array;
}

export interface SqlEngineOptions {
  /** The model repository folder (Triton layout). */
  readonly modelRepository: string;
  /** Cores the model instances may use (default: all). */
  readonly cpuCores?: number;
  /** DuckDB worker threads (default: DuckDB's, the machine's cores). */
  readonly threads?: number;
  /** Rows per message from the worker (default 2048). */
  readonly batchRows?: number;
}

export type { SqlColumn } from './result-format.js';

export interface QueryHandlers {
  columns(columns: SqlColumn[]): void;
  rows(rows: unknown[][]): void;
}

/** How `print` formats the rows; the text goes to `write`, batch by batch. */
export interface PrintOptions {
  readonly format: ResultFormat;
  /** Rows shown by the table format. */
  readonly maxRows?: number;
  write(text: string): void;
}

interface Receiver {
  columns?(columns: SqlColumn[]): void;
  rows?(rows: unknown[][]): void;
  text?(text: string): void;
}

export interface SqlResult {
  readonly columns: SqlColumn[];
  readonly rows: unknown[][];
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How a registered function was written in the user's SQL, up to its first argument. */
function callPrefix(spec: PredictFunctionSpec): string {
  return spec.display.replace(/\)$/, ',');
}

/**
 * A worker that exits unexpectedly (at most 3 times a minute) is replaced by a fresh one with an
 * empty in-memory database. The crash is told to one query: the one running, or when none was,
 * the next one submitted, so no caller runs on the new database without knowing that the tables
 * and settings of earlier statements are gone.
 */
export class SqlEngine {
  private readonly specs = new Map<string, PredictFunctionSpec>();
  /** Spec name per call signature, so repeated queries reuse registered functions. */
  private readonly names = new Map<string, string>();
  private readonly rpc: RpcClient<SqlProtocol>;
  private link: ScoreLink | undefined;
  private closed = false;
  /** A crash no query has failed with yet. */
  private untold: Error | undefined;

  private constructor(
    readonly repository: ModelRepository,
    private readonly batchRows: number,
    threads: number | undefined,
  ) {
    this.rpc = new RpcClient<SqlProtocol>({
      spawn: () => this.spawn(threads),
      init: (send) =>
        send('open', undefined).catch((err: unknown) => {
          throw new InferdError('INF_ERR_INTERNAL', `cannot start DuckDB: ${messageOf(err)}`);
        }),
      decodeError: (error, type) =>
        type === 'open' ? new Error(String(error)) : invalidArgument(this.userMessage(String(error))),
      crashError: (exit) =>
        new InferdError(
          'INF_ERR_INTERNAL',
          exit.error === undefined
            ? `the SQL worker exited with code ${exit.code}`
            : `the SQL worker failed: ${exit.error.message}`,
          { cause: exit.error },
        ),
      stoppedError: (reason) => reason ?? new InferdError('INF_ERR_UNAVAILABLE', 'the SQL engine was closed'),
      onCrash: (inFlight, error) => {
        if (inFlight === 0) this.untold = error;
      },
    });
  }

  /** Starts a worker with a scoring channel of its own; the previous worker's channel is closed. */
  private spawn(threads: number | undefined): Worker {
    const channel = new MessageChannel();
    const link: ScoreLink = { port: channel.port1, flag: new Int32Array(new SharedArrayBuffer(8)) };
    this.link?.port.close();
    this.link = link;
    link.port.on('message', (req: ScoreRequest) => void this.score(req, link));
    const data: SqlWorkerData = { scorePort: channel.port2, flag: link.flag, threads };
    return startSiblingWorker(import.meta.url, 'sql-worker', { workerData: data, transferList: [data.scorePort] });
  }

  /** The worker thread now serving (tests end it to stand in for a crash). */
  private get worker(): Worker | undefined {
    return this.rpc.worker;
  }

  static async open(options: SqlEngineOptions): Promise<SqlEngine> {
    const repository = new ModelRepository({
      path: options.modelRepository,
      controlMode: 'explicit',
      loadModels: [],
      pollSeconds: 0,
      cpuCores: options.cpuCores ?? os.availableParallelism(),
      metrics: new Metrics(),
      logger: createLogger('silent'),
      // The main thread only scores chunks for the DuckDB worker, which waits for each one: a model
      // worker thread would add two hops per execution and free nothing.
      inlineExecution: true,
      // A model whose config sets no max_batch_size scores a whole DuckDB chunk in one execution.
      autoMaxBatchSize: DUCKDB_CHUNK_ROWS,
    });
    await repository.start();
    const engine = new SqlEngine(repository, options.batchRows ?? 2048, options.threads);
    try {
      await engine.rpc.start();
    } catch (err) {
      engine.link?.port.close();
      await repository.close();
      throw err;
    }
    return engine;
  }

  /** Runs the SQL (one or more statements; the last one's rows are returned). */
  async query(sql: string): Promise<SqlResult> {
    let columns: SqlColumn[] = [];
    const rows: unknown[][] = [];
    await this.run(sql, {
      columns: (c) => (columns = c),
      rows: (r) => {
        for (const row of r) rows.push(row);
      },
    });
    return { columns, rows };
  }

  /** Runs the SQL, handing over the columns, then the rows in batches, as they are produced. */
  async run(sql: string, handlers: QueryHandlers): Promise<void> {
    await this.submit(sql, handlers, undefined);
  }

  /**
   * Runs the SQL and writes its rows formatted (result-format.ts). The worker formats them, so
   * only text crosses the thread boundary: the way to print large results.
   */
  async print(sql: string, options: PrintOptions): Promise<void> {
    await this.submit(
      sql,
      { text: (t) => options.write(t) },
      { format: options.format, maxRows: options.maxRows ?? 40 },
    );
  }

  private async submit(
    sql: string,
    handlers: Receiver,
    output: { format: ResultFormat; maxRows: number } | undefined,
  ): Promise<void> {
    if (this.closed) throw new InferdError('INF_ERR_UNAVAILABLE', 'the SQL engine is closed');
    const untold = this.untold;
    this.untold = undefined;
    if (untold !== undefined) throw untold;
    const calls = findPredictCalls(sql);
    const functions = await this.planCalls(calls);
    for (const f of functions) if (!this.specs.has(f.name)) this.specs.set(f.name, f);
    await this.rpc.call(
      'query',
      {
        sql: rewritePredictCalls(
          sql,
          calls,
          functions.map((f) => f.name),
        ),
        functions,
        batchRows: this.batchRows,
        // DuckDB names a column after the expression it prints, arguments separated by ', '.
        renames: functions.map((f) => [`${f.name}(`, `${callPrefix(f)} `] as const),
        ...(output === undefined ? {} : { output }),
      },
      undefined,
      (event, id) => this.deliver(handlers, event, id),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A query still running (its caller gave up on it) is interrupted rather than waited for, and
    // the worker is not terminated in the middle of a DuckDB callback, which aborts the process.
    this.rpc.notify('interrupt', {});
    // A callback waiting for a chunk the scheduler has not answered stops waiting.
    const link = this.link;
    if (link !== undefined) {
      Atomics.store(link.flag, 1, 1);
      Atomics.notify(link.flag, 0);
    }
    await this.rpc.close('close', undefined);
    this.link?.port.close();
    await this.repository.close();
  }

  /** Loads each named model once (explicit mode) and plans a function per call. */
  private async planCalls(calls: readonly PredictCall[]): Promise<PredictFunctionSpec[]> {
    const models = [...new Set(calls.map((c) => c.model))];
    await Promise.all(
      models.map(async (model) => {
        if (this.repository.isReady(model)) return;
        const call = calls.find((c) => c.model === model);
        try {
          await this.repository.load(model);
        } catch (err) {
          const code = err instanceof InferdError ? err.code : 'INF_ERR_MODEL_LOAD';
          throw new InferdError(code, `${call?.kind ?? 'predict'}('${model}'): ${messageOf(err)}`);
        }
      }),
    );
    return calls.map((call) => {
      const mv = requireKind(this.repository.resolve(call.model), 'v2 infer');
      const key = JSON.stringify([call.kind, call.model, mv.version, call.output ?? '', call.argCount]);
      let name = this.names.get(key);
      if (name === undefined) {
        name = `__inferd_${call.kind}_${this.names.size}`;
        this.names.set(key, name);
      }
      const existing = this.specs.get(name);
      return existing ?? planPredictFunction(call, { config: mv.config, version: mv.version, labels: mv.labels }, name);
    });
  }

  /** Puts the user's function names back into a DuckDB message about the rewritten SQL. */
  private userMessage(message: string): string {
    const text = message;
    const noMatch = /No function matches the given name and argument types '(__inferd_\w+)\(([^']*)\)'/.exec(text);
    const spec = noMatch === null ? undefined : this.specs.get(noMatch[1] ?? '');
    if (noMatch !== null && spec !== undefined) {
      const got = splitTopLevel(noMatch[2] ?? '');
      const expected = spec.parameterTypes[spec.parameterTypes.length - 1] ?? [];
      const bad = got.findIndex((t, i) => {
        const want = expected[i];
        return want !== undefined && (t.endsWith('[]') || /\[\d+\]$/.test(t)) !== want.list;
      });
      const nonNumeric = got.findIndex((t) => /VARCHAR|DATE|TIME|BLOB|STRUCT|MAP|UUID|INTERVAL|JSON/.test(t));
      const at = nonNumeric >= 0 ? nonNumeric : bad;
      const wanted = expected.map(sqlTypeText).join(', ');
      const detail =
        at >= 0
          ? `argument ${at + 2} is ${got[at] ?? '?'}, but model '${spec.model}' input needs ${expected[at]?.list ? 'a LIST/ARRAY of numbers' : 'a number'}`
          : `the arguments (${got.join(', ')}) cannot be cast to (${wanted})`;
      return `${spec.display}: ${detail}; the arguments after the model name are cast to (${wanted})`;
    }
    return this.userText(text);
  }

  /**
   * Replaces the registered names with the calls as written (`__inferd_predict_0(` becomes
   * `predict('iris',`), keeping the caret under DuckDB's `LINE n:` excerpt where it was.
   */
  private userText(text: string): string {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const caretLine = lines[i + 1];
      let caret = caretLine !== undefined && /^\s*\^\s*$/.test(caretLine) ? caretLine.indexOf('^') : -1;
      let out = line;
      for (const [name, s] of this.specs) {
        const from = `${name}(`;
        const to = callPrefix(s);
        for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + to.length)) {
          out = out.slice(0, at) + to + out.slice(at + from.length);
          if (caret > at) caret += to.length - from.length;
        }
      }
      lines[i] = out;
      if (caret >= 0 && out !== line) lines[i + 1] = `${' '.repeat(caret)}^`;
    }
    return lines.join('\n');
  }

  /** Hands a query's event to its receiver; a receiver that throws stops the query. */
  private deliver(handlers: Receiver, event: QueryEvent, id: number): void {
    try {
      if (event.type === 'columns') handlers.columns?.(event.columns);
      else if (event.type === 'rows') handlers.rows?.(event.rows);
      else handlers.text?.(event.text);
    } catch (err) {
      // A handler that throws (e.g. a closed output stream) fails the query, not the engine; the
      // rest of the query is not run.
      this.rpc.notify('interrupt', { id });
      throw err;
    }
  }

  /** Scores one chunk through the model's scheduler and wakes the worker blocked on the reply. */
  private async score(req: ScoreRequest, link: ScoreLink): Promise<void> {
    const spec = this.specs.get(req.fn);
    const failed = (err: unknown): ScoreReply => {
      const where = spec === undefined ? req.fn : `${spec.display}: model '${spec.model}'`;
      return { seq: req.seq, ok: false, message: `${where}: ${messageOf(err)}` };
    };
    try {
      if (spec === undefined) throw new InferdError('INF_ERR_INTERNAL', `unknown SQL function ${req.fn}`);
      const output = await this.infer(spec, req.inputs, req.rows);
      // Views into a buffer they do not own (batched outputs, packed strings) are cloned, not
      // transferred: a transfer would detach memory others still use, or list a buffer twice.
      link.port.postMessage({ seq: req.seq, ok: true, output } satisfies ScoreReply, ownedBuffers(output));
    } catch (err) {
      // Whatever went wrong, the worker gets a reply: it is blocked until one arrives.
      link.port.postMessage(failed(err));
    } finally {
      Atomics.store(link.flag, 0, 1);
      Atomics.notify(link.flag, 0);
    }
  }

  /** Runs `rows` rows as max_batch_size slices, all queued at once, and joins the output. */
  private async infer(spec: PredictFunctionSpec, inputs: readonly Tensor[], rows: number): Promise<Tensor> {
    const mv = requireKind(this.repository.resolve(spec.model, String(spec.version)), 'v2 infer');
    const batching = mv.config.maxBatchSize > 0;
    const step = batching ? mv.config.maxBatchSize : 1;
    const runs: Promise<Tensor>[] = [];
    for (let start = 0; start < rows; start += step) {
      const count = Math.min(step, rows - start);
      const slice = inputs.map((t): Tensor => {
        const perRow = t.data.length / rows;
        const rowShape = t.shape.slice(1);
        const shape = batching ? [count, ...rowShape] : rowShape;
        // A slice of every row is the chunk's own tensor (its buffers were transferred here).
        if (count === rows) return batching ? t : makeTensor(t.name, t.datatype, shape, t.data);
        const [from, to] = [start * perRow, (start + count) * perRow];
        return makeTensor(t.name, t.datatype, shape, t.data.slice(from, to));
      });
      const request: InferRequest = {
        requestId: `sql-${spec.name}-${start}`,
        inputs: slice,
        outputNames: [spec.output.name],
        batchSize: batching ? count : 1,
        priority: 0,
        timeoutUs: 0,
        arrivalNs: process.hrtime.bigint(),
      };
      runs.push(
        mv.scheduler.infer(request).then((r) => {
          const out = r.outputs.find((o) => o.name === spec.output.name) ?? r.outputs[0];
          if (out === undefined) throw new InferdError('INF_ERR_INTERNAL', `no output '${spec.output.name}'`);
          return out;
        }),
      );
    }
    const outputs = await Promise.all(runs);
    return concatRows(outputs, rows, batching);
  }
}

/** The buffers a tensor's arrays own whole, each once: safe to transfer. */
function ownedBuffers(t: Tensor): ArrayBuffer[] {
  const views: ArrayBufferView[] = Array.isArray(t.data) ? t.data : [t.data];
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    const b = v.buffer;
    if (b instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === b.byteLength) out.add(b);
  }
  return [...out];
}

/** 'DECIMAL(2,1), DOUBLE[]' → ['DECIMAL(2,1)', 'DOUBLE[]']: commas inside parentheses stay. */
function splitTopLevel(types: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < types.length; i++) {
    const c = types[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(types.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(types.slice(start).trim());
  return out;
}

/** Joins per-slice outputs along the batch dimension. */
function concatRows(parts: readonly Tensor[], rows: number, batched: boolean): Tensor {
  const first = parts[0];
  if (first === undefined) throw new InferdError('INF_ERR_INTERNAL', 'no output to join');
  if (parts.length === 1 && batched) return first;
  const rowShape = batched ? first.shape.slice(1) : first.shape;
  const shape = [rows, ...rowShape];
  if (first.datatype === 'BYTES') return makeTensor(first.name, 'BYTES', shape, parts.flatMap(bytesElements));
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  const data = allocData(first.datatype, total);
  let at = 0;
  for (const p of parts) {
    copyElements(data, at, fixedElements(p));
    at += p.data.length;
  }
  return makeTensor(first.name, first.datatype, shape, data);
}
