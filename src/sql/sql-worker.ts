// The SQL worker thread: owns the DuckDB instance, registers the predict functions, runs queries
// and streams their rows back to the main thread.
//
// Why a worker: @duckdb/node-api runs scalar-function callbacks on the JS thread that registered
// them and waits for them to return; the callback cannot await a Promise. The model scheduler
// (queues, batching, worker-thread instances, stats) lives on the main thread and answers through
// Promises. So DuckDB runs here, and the callback posts each chunk's tensors to the main thread,
// blocks this thread in Atomics.wait until the main thread has scored them through the model's
// scheduler, then reads the reply synchronously with receiveMessageOnPort. The main thread's event
// loop stays free throughout; the query runs once, streaming, so COPY and CREATE TABLE AS work.

import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  DuckDBInstance,
  DuckDBScalarFunction,
  JSDuckDBValueConverter,
  type DuckDBConnection,
  type DuckDBResult,
} from '@duckdb/node-api';
import type { Tensor } from '../tensor/tensor.js';
import { emit, sequential, serve } from '../util/worker-serve.js';
import { duckdbType, readChunkInputs, writeChunkOutput, type ChunkInputs } from './chunk-tensors.js';
import type { PredictFunctionSpec } from './predict-function-spec.js';
import { createResultWriter } from './result-format.js';
import type { QueryEvent, QueryRequest, ScoreReply, ScoreRequest, SqlProtocol, SqlWorkerData } from './sql-messages.js';

const data = workerData as SqlWorkerData;
let seq = 0;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function transferables(tensors: readonly Tensor[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of tensors) {
    if (Array.isArray(t.data)) for (const b of t.data) out.push(b.buffer as ArrayBuffer);
    else out.push(t.data.buffer as ArrayBuffer);
  }
  return out;
}

/** Scores one chunk's rows on the main thread, synchronously (see the file comment). */
function score(spec: PredictFunctionSpec, inputs: ChunkInputs): Tensor | undefined {
  if (inputs.validRows === 0) return undefined;
  const request: ScoreRequest = { seq: ++seq, fn: spec.name, inputs: inputs.tensors, rows: inputs.validRows };
  if (Atomics.load(data.flag, 1) === 1) throw new Error('the SQL engine is closing');
  Atomics.store(data.flag, 0, 0);
  data.scorePort.postMessage(request, transferables(inputs.tensors));
  while (Atomics.load(data.flag, 0) === 0) {
    // A closing engine wakes this thread without a reply: the query fails instead of hanging.
    if (Atomics.load(data.flag, 1) === 1) throw new Error('the SQL engine is closing');
    Atomics.wait(data.flag, 0, 0);
  }
  const reply = receiveMessageOnPort(data.scorePort)?.message as ScoreReply | undefined;
  if (reply?.seq !== request.seq) throw new Error(`${spec.display}: lost the reply for chunk ${request.seq}`);
  if (!reply.ok) throw new Error(reply.message);
  return reply.output;
}

function register(connection: DuckDBConnection, spec: PredictFunctionSpec): void {
  for (const parameterTypes of spec.parameterTypes) {
    connection.registerScalarFunction(
      DuckDBScalarFunction.create({
        name: spec.name,
        returnType: duckdbType(spec.returnType),
        parameterTypes: parameterTypes.map(duckdbType),
        mainFunction: (info, chunk, output) => {
          try {
            const inputs = readChunkInputs(spec, chunk);
            writeChunkOutput(spec, inputs, score(spec, inputs), output);
          } catch (err) {
            info.setError(messageOf(err));
          }
        },
      }),
    );
  }
}

async function streamLast(connection: DuckDBConnection, sql: string): Promise<DuckDBResult> {
  const statements = await connection.extractStatements(sql);
  if (statements.count === 0) throw new Error('the SQL text holds no statement');
  for (let i = 0; i < statements.count - 1; i++) await (await statements.prepare(i)).run();
  return (await statements.prepare(statements.count - 1)).stream();
}

async function runQuery(
  connection: DuckDBConnection,
  registered: Set<string>,
  msg: QueryRequest,
  id: number,
): Promise<void> {
  const post = (event: QueryEvent): void => emit(id, event);
  for (const spec of msg.functions) {
    if (registered.has(spec.name)) continue;
    register(connection, spec);
    registered.add(spec.name);
  }
  const result = await streamLast(connection, msg.sql);
  const columns = result.columnNames().map((name, i) => ({
    name: userText(name, msg.renames),
    type: result.columnType(i).toString(),
  }));
  // Printed output is formatted here, so only text crosses to the main thread: cloning row
  // arrays cost more than the query itself for wide results.
  let text = '';
  const writer =
    msg.output === undefined
      ? undefined
      : createResultWriter(msg.output.format, (t) => (text += t), { maxRows: msg.output.maxRows });
  const flushText = (): void => {
    if (text.length > 0) post({ type: 'text', text });
    text = '';
  };
  if (writer === undefined) post({ type: 'columns', columns });
  else writer.columns(columns);
  let rows: unknown[][] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const converted = chunk.convertRows(JSDuckDBValueConverter);
    if (writer !== undefined) {
      writer.rows(converted);
      if (text.length >= 1 << 20) flushText();
      continue;
    }
    for (const row of converted) rows.push(row);
    if (rows.length >= msg.batchRows) {
      post({ type: 'rows', rows });
      rows = [];
    }
  }
  if (rows.length > 0) post({ type: 'rows', rows });
  writer?.end();
  flushText();
}

/** Column names as written: `__inferd_predict_0(x)` becomes `predict('iris', x)`. */
function userText(text: string, renames: readonly (readonly [string, string])[]): string {
  let out = text;
  for (const [from, to] of renames) out = out.split(from).join(to);
  return out;
}

let db: { readonly instance: DuckDBInstance; readonly connection: DuckDBConnection } | undefined;
const registered = new Set<string>();
/** Queries run one after another: a second one waits for the first to finish. */
const inOrder = sequential();
let running: number | undefined;

function opened(): { readonly instance: DuckDBInstance; readonly connection: DuckDBConnection } {
  if (db === undefined) throw new Error('DuckDB is not open');
  return db;
}

serve<SqlProtocol>({
  open: async () => {
    const instance = await DuckDBInstance.create(
      ':memory:',
      data.threads === undefined ? {} : { threads: String(data.threads) },
    );
    db = { instance, connection: await instance.connect() };
  },
  query: (msg, id) =>
    inOrder(async () => {
      running = id;
      try {
        await runQuery(opened().connection, registered, msg, id);
      } finally {
        running = undefined;
      }
    }),
  // Handled between chunks (this thread is free while DuckDB fetches), not queued behind the query.
  interrupt: (msg) => {
    if (running !== undefined && (msg.id === undefined || msg.id === running)) opened().connection.interrupt();
  },
  close: () =>
    inOrder(() => {
      const { instance, connection } = opened();
      db = undefined;
      connection.closeSync();
      instance.closeSync();
      data.scorePort.close();
    }),
});
