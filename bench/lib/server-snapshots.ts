// Server-side figures for a load measurement: snapshots of a model's Triton statistics, the
// server's CPU time (/metrics) and the machine's, and what they say summed over the windows.

import type { AcceptedWindow } from './concurrent-load.js';
import type { KServeClient, StatDuration } from './kserve-client.js';

/** Triton's statistics of one model version, the fields read here. */
export interface ModelStatsJson {
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: {
    readonly success: StatDuration;
    readonly fail: StatDuration;
    readonly queue: StatDuration;
  };
  readonly batch_stats: readonly { readonly batch_size: number; readonly compute_infer: StatDuration }[];
}

/** Taken at every window boundary; `stats` is absent when no model is measured. */
export interface Snapshot {
  readonly atNs: bigint;
  /** Busy CPU-seconds of the whole machine (/proc/stat). */
  readonly machineBusySeconds: number;
  readonly serverCpuSeconds: number;
  readonly stats: ModelStatsJson | undefined;
}

/** What the server saw over the measured windows, from /stats and /metrics deltas. */
export interface ServerView {
  readonly requests: number;
  readonly executions: number;
  /** Rows per execution, from batch_stats. */
  readonly meanBatch: number;
  /** The most frequent executed batch sizes, with their share of executions. */
  readonly topBatches: readonly { readonly size: number; readonly share: number }[];
  readonly queueUs: number;
  readonly requestUs: number;
  readonly computeInferUsPerExecution: number;
  readonly serverCpuCores: number;
  /** Machine busy cores − server − client: other processes (and unattributed kernel time). */
  readonly otherCpuCores: number;
}

export async function serverCpuSeconds(client: KServeClient): Promise<number> {
  const reply = await client.request('GET', '/metrics');
  if (reply.status !== 200) throw new Error(`GET /metrics: HTTP ${reply.status}`);
  const match = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(reply.body.toString('utf8'));
  if (match?.[1] === undefined) throw new Error('GET /metrics has no process_cpu_seconds_total');
  return Number(match[1]);
}

export async function modelStats(client: KServeClient, model: string): Promise<ModelStatsJson> {
  const body = (await client.getJson(`/v2/models/${encodeURIComponent(model)}/stats`)) as {
    model_stats?: ModelStatsJson[];
  };
  const stats = body.model_stats?.[0];
  if (stats === undefined) throw new Error(`no statistics for '${model}'`);
  return stats;
}

export type StatsDelta = Omit<
  ServerView,
  | 'meanBatch'
  | 'topBatches'
  | 'queueUs'
  | 'requestUs'
  | 'computeInferUsPerExecution'
  | 'serverCpuCores'
  | 'otherCpuCores'
> & {
  readonly seconds: number;
  readonly rows: number;
  readonly inferNs: number;
  readonly queueNs: number;
  readonly successNs: number;
  readonly serverCpuSeconds: number;
  readonly machineBusySeconds: number;
  readonly clientCpuSeconds: number;
  readonly perSize: ReadonlyMap<number, number>;
};

/** The server's and the machine's work over one window, from its two snapshots. */
export function windowDelta(model: string, before: Snapshot, after: Snapshot, clientCpuCores: number): StatsDelta {
  const seconds = Number(after.atNs - before.atNs) / 1e9;
  const a = after.stats;
  const b = before.stats;
  const perSize = new Map<number, number>();
  let executions = 0;
  let rows = 0;
  let inferNs = 0;
  if (a !== undefined && b !== undefined) {
    const failures = a.inference_stats.fail.count - b.inference_stats.fail.count;
    if (failures > 0) throw new Error(`${model}: the server counted ${failures} failed requests while measured`);
    for (const s of a.batch_stats) {
      const old = b.batch_stats.find((o) => o.batch_size === s.batch_size)?.compute_infer ?? { count: 0, ns: 0 };
      const count = s.compute_infer.count - old.count;
      if (count > 0) perSize.set(s.batch_size, count);
      executions += count;
      rows += s.batch_size * count;
      inferNs += s.compute_infer.ns - old.ns;
    }
  }
  const d = (k: 'queue' | 'success', f: 'count' | 'ns'): number =>
    a !== undefined && b !== undefined ? a.inference_stats[k][f] - b.inference_stats[k][f] : 0;
  return {
    seconds,
    requests: d('success', 'count'),
    executions,
    rows,
    inferNs,
    queueNs: d('queue', 'ns'),
    successNs: d('success', 'ns'),
    serverCpuSeconds: after.serverCpuSeconds - before.serverCpuSeconds,
    machineBusySeconds: after.machineBusySeconds - before.machineBusySeconds,
    clientCpuSeconds: clientCpuCores * seconds,
    perSize,
  };
}

/** Cores used by other processes in a window: machine busy − server − this process. */
export function otherCores(d: StatsDelta): number {
  return (d.machineBusySeconds - d.serverCpuSeconds - d.clientCpuSeconds) / d.seconds;
}

/** What the server saw over the reported windows, summed. */
export function serverView(model: string, windows: readonly AcceptedWindow<Snapshot>[]): ServerView {
  const deltas = windows.map((w) => windowDelta(model, w.before, w.after, w.window.clientCpuCores));
  const sum = (f: (d: StatsDelta) => number): number => deltas.reduce((n, d) => n + f(d), 0);
  const seconds = sum((d) => d.seconds);
  const executions = sum((d) => d.executions);
  const requests = sum((d) => d.requests);
  const perSize = new Map<number, number>();
  for (const d of deltas) for (const [size, n] of d.perSize) perSize.set(size, (perSize.get(size) ?? 0) + n);
  return {
    requests,
    executions,
    meanBatch: executions > 0 ? sum((d) => d.rows) / executions : Number.NaN,
    topBatches: [...perSize]
      .sort((p, q) => q[1] - p[1])
      .slice(0, 3)
      .map(([size, n]) => ({ size, share: n / executions })),
    queueUs: sum((d) => d.queueNs) / requests / 1000,
    requestUs: sum((d) => d.successNs) / requests / 1000,
    computeInferUsPerExecution: sum((d) => d.inferNs) / executions / 1000,
    serverCpuCores: sum((d) => d.serverCpuSeconds) / seconds,
    otherCpuCores: sum((d) => otherCores(d) * d.seconds) / seconds,
  };
}
