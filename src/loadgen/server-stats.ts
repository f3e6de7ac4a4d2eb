// The server's side of request time, from the statistics extension (GET /v2/models/{m}/stats,
// Triton's model_statistics): cumulative counts and nanoseconds per phase, read at the window
// boundaries, differenced over the reported windows and divided per request as perf_analyzer does.

import type { HttpClient } from './http-client.js';
import { modelPath } from './model-info.js';

export interface Duration {
  readonly count: number;
  readonly ns: number;
}

/** Cumulative totals over every version the endpoint lists. */
export interface StatsSnapshot {
  readonly success: Duration;
  readonly fail: Duration;
  readonly queue: Duration;
  readonly computeInput: Duration;
  readonly computeInfer: Duration;
  readonly computeOutput: Duration;
}

export interface ServerSplit {
  /** Successful requests the server counted over the reported windows. */
  readonly requests: number;
  readonly failures: number;
  /** Mean per request, microseconds: arrival to response ready. */
  readonly successUs: number;
  readonly queueUs: number;
  readonly computeInputUs: number;
  readonly computeInferUs: number;
  readonly computeOutputUs: number;
  /** success − queue − compute input/infer/output, at least 0: decoding, scheduling, encoding. */
  readonly overheadUs: number;
}

const FIELDS = {
  success: 'success',
  fail: 'fail',
  queue: 'queue',
  computeInput: 'compute_input',
  computeInfer: 'compute_infer',
  computeOutput: 'compute_output',
} as const satisfies Record<keyof StatsSnapshot, string>;

function duration(value: unknown): Duration {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return { count: typeof v.count === 'number' ? v.count : 0, ns: typeof v.ns === 'number' ? v.ns : 0 };
}

/**
 * Totals of a statistics response. Without a version the endpoint lists every served version;
 * the requests went to one of them, so the sum is that version's change.
 */
export function parseStats(json: unknown): StatsSnapshot | undefined {
  const list =
    typeof json === 'object' && json !== null && 'model_stats' in json && Array.isArray(json.model_stats)
      ? (json.model_stats as unknown[])
      : undefined;
  if (list === undefined || list.length === 0) return undefined;
  const total = Object.fromEntries(Object.keys(FIELDS).map((k) => [k, { count: 0, ns: 0 }])) as Record<
    keyof StatsSnapshot,
    { count: number; ns: number }
  >;
  for (const entry of list) {
    const stats = (entry as { inference_stats?: Record<string, unknown> }).inference_stats ?? {};
    for (const [key, field] of Object.entries(FIELDS) as [keyof StatsSnapshot, string][]) {
      const d = duration(stats[field]);
      total[key].count += d.count;
      total[key].ns += d.ns;
    }
  }
  return total;
}

/** Reads the model's statistics; undefined when the server has no statistics endpoint. */
export async function fetchStats(
  client: HttpClient,
  model: string,
  version: string | undefined,
): Promise<StatsSnapshot | undefined> {
  const reply = await client.getJson(`${modelPath(model, version)}/stats`);
  return reply.status === 200 ? parseStats(reply.json) : undefined;
}

/**
 * Per-request means between two snapshots. Each phase is divided by its own count, as
 * perf_analyzer does; undefined when either snapshot is missing or no request succeeded.
 */
export function serverSplit(
  before: StatsSnapshot | undefined,
  after: StatsSnapshot | undefined,
): ServerSplit | undefined {
  if (before === undefined || after === undefined) return undefined;
  const delta = (k: keyof StatsSnapshot): Duration => ({
    count: after[k].count - before[k].count,
    ns: after[k].ns - before[k].ns,
  });
  const meanUs = (d: Duration): number => (d.count > 0 ? d.ns / d.count / 1000 : 0);
  const success = delta('success');
  if (success.count <= 0) return undefined;
  const queueUs = meanUs(delta('queue'));
  const computeInputUs = meanUs(delta('computeInput'));
  const computeInferUs = meanUs(delta('computeInfer'));
  const computeOutputUs = meanUs(delta('computeOutput'));
  const successUs = meanUs(success);
  return {
    requests: success.count,
    failures: delta('fail').count,
    successUs,
    queueUs,
    computeInputUs,
    computeInferUs,
    computeOutputUs,
    overheadUs: Math.max(0, successUs - queueUs - computeInputUs - computeInferUs - computeOutputUs),
  };
}
