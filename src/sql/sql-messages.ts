// Messages between the SQL engine (main thread) and its DuckDB worker thread.
//
// Two channels: the worker's own port carries queries and their results; a separate MessageChannel
// carries the scoring calls the worker makes from inside DuckDB's scalar-function callback, which
// must return synchronously: the worker posts a ScoreRequest, blocks in Atomics.wait on the shared
// flag, and reads the ScoreReply with receiveMessageOnPort once the main thread has set the flag.

import type { MessagePort } from 'node:worker_threads';
import type { Tensor } from '../tensor/tensor.js';
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

export type ToSqlWorker =
  | {
      readonly type: 'query';
      readonly id: number;
      readonly sql: string;
      /** Functions to register before the query runs (those not registered by an earlier query). */
      readonly functions: readonly PredictFunctionSpec[];
      /** Rows per 'rows' message. */
      readonly batchRows: number;
      /** Registered names and the call text they replace, for column names. */
      readonly renames: readonly (readonly [string, string])[];
      /** Format the rows in the worker and send text instead. */
      readonly output?: { readonly format: ResultFormat; readonly maxRows: number };
    }
  /** Stops query `id` if it is running (or whichever runs, without an id): it fails with an interrupt error. */
  | { readonly type: 'interrupt'; readonly id?: number }
  | { readonly type: 'close' };

export type FromSqlWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'columns'; readonly id: number; readonly columns: SqlColumn[] }
  | { readonly type: 'rows'; readonly id: number; readonly rows: unknown[][] }
  | { readonly type: 'text'; readonly id: number; readonly text: string }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly code?: string }
  | { readonly type: 'fatal'; readonly message: string };

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
