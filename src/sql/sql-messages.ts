// Messages between the SQL engine (main thread) and its DuckDB worker thread.
//
// Two channels: the worker's own port carries queries and their results (util/worker-rpc.ts); a
// separate MessageChannel carries the scoring calls the worker makes from inside DuckDB's
// scalar-function callback, which must return synchronously: the worker posts a ScoreRequest,
// blocks in Atomics.wait on the shared flag, and reads the ScoreReply with receiveMessageOnPort
// once the main thread has set the flag. A replacement worker gets a channel and flag of its own.

import type { MessagePort } from 'node:worker_threads';
import type { Tensor } from '../tensor/tensor.js';
import type { Method } from '../util/worker-rpc.js';
import type { PredictFunctionSpec } from './predict-function-spec.js';
import type { ResultFormat, SqlColumn } from './result-format.js';

export interface SqlWorkerData {
  /** The worker's end of the scoring channel. */
  readonly scorePort: MessagePort;
  /**
   * Int32Array over a SharedArrayBuffer: [0] is set to 1 when a reply has been posted; [1] is set
   * to 1 when the engine closes, so a callback still waiting gives up instead of blocking forever.
   */
  readonly flag: Int32Array;
  /** DuckDB's `threads` setting; undefined keeps DuckDB's default (the machine's cores). */
  readonly threads: number | undefined;
}

export interface QueryRequest {
  readonly sql: string;
  /** Functions the query calls; the worker registers those it has not registered yet. */
  readonly functions: readonly PredictFunctionSpec[];
  /** Rows per 'rows' event. */
  readonly batchRows: number;
  /** Registered names and the call text they replace, for column names. */
  readonly renames: readonly (readonly [string, string])[];
  /** Format the rows in the worker and send text instead. */
  readonly output?: { readonly format: ResultFormat; readonly maxRows: number };
}

/** What a running query streams back: its columns, then its rows in batches (or their text). */
export type QueryEvent =
  | { readonly type: 'columns'; readonly columns: SqlColumn[] }
  | { readonly type: 'rows'; readonly rows: unknown[][] }
  | { readonly type: 'text'; readonly text: string };

/** The SQL worker's requests (util/worker-rpc.ts carries them). */
export type SqlProtocol = {
  /** Creates the in-memory DuckDB database. */
  readonly open: Method<undefined, void>;
  /** Runs the SQL; resolves when the last row has been sent. Queries run one after another. */
  readonly query: Method<QueryRequest, void, QueryEvent>;
  /**
   * Stops query `id` (the call's id) if it is running, or whichever runs without an id: it fails
   * with an interrupt error. Sent as a notification, handled between chunks, not queued.
   */
  readonly interrupt: Method<{ readonly id?: number }, void>;
  /** Closes DuckDB after the queries before it. */
  readonly close: Method<undefined, void>;
};

/** One chunk's valid rows for one function; the main thread splits them into executions. */
export interface ScoreRequest {
  readonly seq: number;
  /** The registered function's name (its spec is on the main thread). */
  readonly fn: string;
  readonly inputs: Tensor[];
  readonly rows: number;
}

export type ScoreReply =
  | { readonly seq: number; readonly ok: true; readonly output: Tensor }
  | { readonly seq: number; readonly ok: false; readonly message: string };
