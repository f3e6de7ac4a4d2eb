// The server's side of request time, from the statistics extension (GET /v2/models/{m}/stats,
// Triton's model_statistics): cumulative counts and nanoseconds per phase, read at the window
// boundaries, differenced over the reported windows and divided per request as perf_analyzer does.

import type { HttpClient } from './http-client.js';
import { modelPath } from './model-info.js';

export interface Duration {
  readonly count: number;
  readonly ns: number;
}

/** inferd's `cost` objects of the listed versions, summed (docs/monitoring.md, "Cost per inference"). */
export interface CostTotals {
  readonly cpuSeconds: number;
  readonly gpuSeconds: number;
  /** The server's prices (--cost-per-cpu-hour, --cost-per-gpu-hour); null = unset. */
  readonly cpuPerHour: number | null;
  readonly gpuPerHour: number | null;
}

/** Cumulative totals over every version the endpoint lists. */
export interface StatsSnapshot {
  /** Inferences (inference_count: a batch of n counts n). */
  readonly inferences: number;
  /** null when the server gives no cost figures (Triton, or an older inferd). */
  readonly cost: CostTotals | null;
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

/** What the inferences between two snapshots cost. */
export interface CostSplit {
  readonly inferences: number;
  readonly cpuSecondsPerInference: number;
  readonly gpuSecondsPerInference: number;
  /** The prices applied: the bench's own where given, else the server's; null = unset. */
  readonly cpuPerHour: number | null;
  readonly gpuPerHour: number | null;
  /** Currency per 1,000 inferences; null when neither price is set. */
  readonly costPer1kInferences: number | null;
}

/** Prices given to the bench itself, in place of the server's. */
export interface BenchPrices {
  readonly cpuPerHour?: number;
  readonly gpuPerHour?: number;
}

/** The phases of a snapshot, each a count and nanoseconds. */
type Phase = Exclude<keyof StatsSnapshot, 'inferences' | 'cost'>;

const FIELDS = {
  success: 'success',
  fail: 'fail',
  queue: 'queue',
  computeInput: 'compute_input',
  computeInfer: 'compute_infer',
  computeOutput: 'compute_output',
} as const satisfies Record<Phase, string>;

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
  let inferences = 0;
  let cost: { cpuSeconds: number; gpuSeconds: number; cpuPerHour: number | null; gpuPerHour: number | null } | null =
    null;
  for (const entry of list) {
    const e = entry as { inference_count?: unknown; cost?: unknown };
    if (typeof e.inference_count === 'number') inferences += e.inference_count;
    const c = parseCost(e.cost);
    if (c === undefined) continue;
    cost ??= { cpuSeconds: 0, gpuSeconds: 0, cpuPerHour: c.cpuPerHour, gpuPerHour: c.gpuPerHour };
    cost.cpuSeconds += c.cpuSeconds;
    cost.gpuSeconds += c.gpuSeconds;
  }
  const total = Object.fromEntries(Object.keys(FIELDS).map((k) => [k, { count: 0, ns: 0 }])) as Record<
    Phase,
    { count: number; ns: number }
  >;
  for (const entry of list) {
    const stats = (entry as { inference_stats?: Record<string, unknown> }).inference_stats ?? {};
    for (const [key, field] of Object.entries(FIELDS) as [Phase, string][]) {
      const d = duration(stats[field]);
      total[key].count += d.count;
      total[key].ns += d.ns;
    }
  }
  return { ...total, inferences, cost };
}

function price(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/** A version's `cost` object, or undefined when it has none. */
function parseCost(value: unknown): CostTotals | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  if (typeof c.cpu_seconds !== 'number') return undefined;
  const perHour = (
    typeof c.currency_per_hour === 'object' && c.currency_per_hour !== null ? c.currency_per_hour : {}
  ) as Record<string, unknown>;
  return {
    cpuSeconds: c.cpu_seconds,
    gpuSeconds: typeof c.gpu_seconds === 'number' ? c.gpu_seconds : 0,
    cpuPerHour: price(perHour.cpu),
    gpuPerHour: price(perHour.gpu),
  };
}

/**
 * CPU- and GPU-seconds per inference between two snapshots, priced at the bench's prices where
 * given and the server's otherwise (an unset price counts that resource as free); undefined when
 * the server gave no cost figures or no inference ran.
 */
export function costSplit(
  before: StatsSnapshot | undefined,
  after: StatsSnapshot | undefined,
  prices: BenchPrices = {},
): CostSplit | undefined {
  if (before?.cost == null || after?.cost == null) return undefined;
  const inferences = after.inferences - before.inferences;
  if (inferences <= 0) return undefined;
  const cpuSeconds = Math.max(0, after.cost.cpuSeconds - before.cost.cpuSeconds);
  const gpuSeconds = Math.max(0, after.cost.gpuSeconds - before.cost.gpuSeconds);
  const cpuPerHour = prices.cpuPerHour ?? after.cost.cpuPerHour;
  const gpuPerHour = prices.gpuPerHour ?? after.cost.gpuPerHour;
  const priced = cpuPerHour !== null || gpuPerHour !== null;
  return {
    inferences,
    cpuSecondsPerInference: cpuSeconds / inferences,
    gpuSecondsPerInference: gpuSeconds / inferences,
    cpuPerHour,
    gpuPerHour,
    costPer1kInferences: priced
      ? (((cpuSeconds * (cpuPerHour ?? 0) + gpuSeconds * (gpuPerHour ?? 0)) / 3600) * 1000) / inferences
      : null,
  };
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
  const delta = (k: Phase): Duration => ({
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
