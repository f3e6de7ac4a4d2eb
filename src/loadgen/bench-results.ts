// The results of `inferd bench`, as written by --json and read by the table and the chart. Field
// definitions travel in the file, so a later reader (or a diff of two runs) knows what each means.

import type { BodyEncoding } from './infer-body.js';
import type { LatencySummary } from './latency-stats.js';
import type { WindowSummary } from './measurement-windows.js';
import type { CostSplit, ServerSplit } from './server-stats.js';
import type { SweepKind } from './sweep-spec.js';

export interface PointResult {
  /** The load level: set in concurrency mode. */
  readonly concurrency?: number;
  /** The load level: set in request-rate mode (requests/s asked for). */
  readonly requestRate?: number;
  readonly stable: boolean;
  readonly windows: readonly WindowSummary[];
  readonly reportedWindows: number;
  readonly seconds: number;
  /** Successful requests in the reported windows. */
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | null;
  /** Inferences per second (requests × batch size). */
  readonly throughput: number;
  readonly latencyUs: LatencySummary;
  readonly server: ServerSplit | null;
  /** CPU- and GPU-seconds per inference (and currency per 1,000) over the reported windows. */
  readonly cost: CostSplit | null;
  /** Request-rate mode: sends in the reported windows, how many were late, and arrivals dropped. */
  readonly sends: { readonly sent: number; readonly late: number; readonly dropped: number } | null;
}

export interface BenchReport {
  readonly tool: 'inferd bench';
  readonly inferdVersion: string;
  readonly startedAt: string;
  readonly url: string;
  readonly model: string;
  /** The version asked for, or null for the server's latest ready version. */
  readonly modelVersion: string | null;
  readonly mode: SweepKind;
  readonly encoding: BodyEncoding;
  readonly batchSize: number;
  readonly windowMs: number;
  readonly maxWindows: number;
  readonly stability: number;
  readonly stableWindows: number;
  /** Request-rate mode: the cap on outstanding requests. */
  readonly maxOutstanding: number | null;
  readonly inputs: readonly {
    readonly name: string;
    readonly datatype: string;
    readonly shape: readonly number[];
    readonly source: string;
  }[];
  readonly definitions: Readonly<Record<string, string>>;
  readonly results: readonly PointResult[];
}

export const DEFINITIONS = {
  throughput: 'successful inferences per second over the reported windows: requests × batch size / seconds',
  latencyUs:
    'client latency in microseconds, from just before the request is written to the last byte of the reply, ' +
    'over the successful requests of the reported windows (nearest-rank percentiles)',
  windows:
    'measurement windows repeated until the last stableWindows agree within ±stability of their mean on ' +
    'throughput and p50 latency, or maxWindows is reached (then stable is false); the last stableWindows are reported',
  server:
    'means per request from GET /v2/models/{model}/stats differenced over the reported windows: queue, ' +
    'compute input/infer/output, and overhead = success − queue − compute (decoding, scheduling, encoding)',
  cost:
    'from the cost objects of GET /v2/models/{model}/stats differenced over the reported windows: CPU- and ' +
    'GPU-seconds the server charged the model per inference, and currency per 1,000 inferences at the prices ' +
    "applied (the bench's --cost-per-cpu-hour / --cost-per-gpu-hour, else the server's); null when the server " +
    'gives no cost figures',
  sends:
    'request-rate mode: Poisson arrivals; late = sent more than 2 ms after the scheduled time, dropped = not ' +
    'sent because maxOutstanding requests were already in flight',
} as const;

/** The load level of a point, whichever mode it was measured in. */
export function levelOf(point: PointResult): number {
  return point.concurrency ?? point.requestRate ?? Number.NaN;
}
