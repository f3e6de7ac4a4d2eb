// Cost per inference: CPU-seconds (and GPU-seconds) per model version, and with prices, currency
// per 1,000 inferences.
//
// Node 20 has no per-thread CPU clock (process.threadCpuUsage is Node 23+), and onnxruntime runs
// its intra-op threads inside each instance's worker thread, where nothing maps them to a model.
// So the process's CPU time (process.cpuUsage(): every thread) is sampled on an interval, and each
// interval's CPU time is shared among the versions that executed in it, in proportion to their
// execution time (compute input + infer + output, one figure per execution) in that interval:
// OpenCost's allocation, applied inside the process. An interval in which no version executed is
// not charged to a model: its CPU time is reported apart as unattributed (idle and overhead).
// A reading of the figures (statistics, a scrape) closes the current interval first, so they are
// current. GPU-seconds are the execution time of versions whose sessions run on a GPU provider.
// docs/monitoring.md ("Cost per inference") states the error of this method.

import type { CostMetrics, Metrics } from './metrics.js';

/** Execution providers that run a session on a GPU (`providers` of a model version). */
export const GPU_PROVIDERS: ReadonlySet<string> = new Set(['cuda', 'tensorrt', 'webgpu', 'dml', 'rocm', 'migraphx']);

/** The process's CPU time so far, in microseconds, as `process.cpuUsage()` gives it. */
export type CpuUsageReader = () => { readonly user: number; readonly system: number };

/** Calls `tick` every `ms` milliseconds until the returned function is called. */
export type IntervalTimer = (tick: () => void, ms: number) => () => void;

/** What the accountant reads of a version's statistics (observability/model-stats.ts). */
export interface CostedStats {
  readonly name: string;
  readonly version: string;
  /** Inferences so far (a batch of n counts n). */
  readonly inferenceCount: number;
  /** Per batch size, cumulative compute time of the executions: one entry per execution. */
  readonly batchStats: ReadonlyMap<
    number,
    {
      readonly computeInput: { readonly ns: number };
      readonly computeInfer: { readonly ns: number };
      readonly computeOutput: { readonly ns: number };
    }
  >;
}

/** A serving model version, as the repository lists it. */
export interface CostedVersion {
  readonly stats: CostedStats;
  /** Execution providers the version's sessions actually use. */
  readonly providers: readonly string[];
}

/** Prices in a currency per hour of one CPU core and of one GPU; null = not set. */
export interface CostPrices {
  readonly cpuPerHour: number | null;
  readonly gpuPerHour: number | null;
}

export interface CostAccountantOptions {
  /** The versions serving now; read at every sample. */
  readonly versions: () => readonly CostedVersion[];
  readonly prices: CostPrices;
  /** Counters to move and the scrape-time figures; none in unit tests that only read figures. */
  readonly metrics?: Metrics;
  /** process.cpuUsage by default. */
  readonly cpuUsage?: CpuUsageReader;
  /** setInterval (unref'd) by default. */
  readonly timer?: IntervalTimer;
  /** How often the CPU time is sampled and shared out (1,000 ms by default). */
  readonly intervalMs?: number;
}

/** One version's cost since it was loaded. */
export interface VersionCost {
  readonly cpuSeconds: number;
  readonly gpuSeconds: number;
  readonly inferences: number;
  /** null before the first inference. */
  readonly cpuSecondsPerInference: number | null;
  readonly gpuSecondsPerInference: number | null;
  /** Currency per 1,000 inferences at the configured prices; null with no price set or no inference. */
  readonly costPer1kInferences: number | null;
}

interface VersionState {
  readonly stats: CostedStats;
  executionNs: number;
  cpuSeconds: number;
  gpuSeconds: number;
}

const DEFAULT_INTERVAL_MS = 1000;

const realTimer: IntervalTimer = (tick, ms) => {
  const handle = setInterval(tick, ms).unref();
  return () => clearInterval(handle);
};

const processCpuUsage: CpuUsageReader = () => process.cpuUsage();

/** Total compute time of a version's executions so far, in nanoseconds. */
export function executionNs(stats: CostedStats): number {
  let ns = 0;
  for (const b of stats.batchStats.values()) ns += b.computeInput.ns + b.computeInfer.ns + b.computeOutput.ns;
  return ns;
}

/** Whether a version's sessions run on a GPU. */
export function runsOnGpu(providers: readonly string[]): boolean {
  return providers.some((p) => GPU_PROVIDERS.has(p.toLowerCase()));
}

/**
 * Currency per 1,000 inferences for `cpuSeconds` and `gpuSeconds` spent on `inferences`; null with
 * no price set or no inference. An unset price counts that resource as free.
 */
export function costPer1k(
  cpuSeconds: number,
  gpuSeconds: number,
  inferences: number,
  prices: CostPrices,
): number | null {
  if ((prices.cpuPerHour === null && prices.gpuPerHour === null) || inferences <= 0) return null;
  const currency = (cpuSeconds * (prices.cpuPerHour ?? 0) + gpuSeconds * (prices.gpuPerHour ?? 0)) / 3600;
  return (currency / inferences) * 1000;
}

export class CostAccountant {
  // Keyed by the statistics object, which lives as long as its loaded version.
  private readonly states = new WeakMap<object, VersionState>();
  private readonly readCpu: CpuUsageReader;
  private readonly cancel: () => void;
  private readonly counters: CostMetrics | undefined;
  private lastCpuMicros: number;
  private unattributed = 0;
  private attributed = 0;

  constructor(private readonly options: CostAccountantOptions) {
    this.readCpu = options.cpuUsage ?? processCpuUsage;
    this.lastCpuMicros = this.cpuMicros();
    const { cpuPerHour, gpuPerHour } = options.prices;
    this.counters = options.metrics?.costMetrics({
      refresh: () => this.sample(),
      costPer1k:
        cpuPerHour === null && gpuPerHour === null
          ? undefined
          : () => this.options.versions().flatMap((v) => this.sampleOf(v.stats)),
      statistics: (stats) => this.statisticsOf(stats),
    });
    this.cancel = (options.timer ?? realTimer)(() => this.sample(), options.intervalMs ?? DEFAULT_INTERVAL_MS);
  }

  /**
   * Closes the current interval: the CPU time since the last sample goes to the versions that
   * executed since then, in proportion to their execution time, or, if none did, to unattributed.
   */
  sample(): void {
    const now = this.cpuMicros();
    const cpuSeconds = Math.max(0, now - this.lastCpuMicros) / 1e6;
    this.lastCpuMicros = now;
    const executed: { version: CostedVersion; state: VersionState; ns: number }[] = [];
    let totalNs = 0;
    for (const version of this.options.versions()) {
      let state = this.states.get(version.stats);
      if (state === undefined) {
        // A version's statistics start at its load, so everything it ran belongs to this interval or later.
        state = { stats: version.stats, executionNs: 0, cpuSeconds: 0, gpuSeconds: 0 };
        this.states.set(version.stats, state);
      }
      const ns = executionNs(version.stats);
      const delta = Math.max(0, ns - state.executionNs);
      state.executionNs = ns;
      if (delta > 0) {
        executed.push({ version, state, ns: delta });
        totalNs += delta;
      }
    }
    if (totalNs === 0) {
      this.unattributed += cpuSeconds;
      if (cpuSeconds > 0) this.counters?.unattributedCpuSeconds.inc(cpuSeconds);
      return;
    }
    this.attributed += cpuSeconds;
    for (const { version, state, ns } of executed) {
      const labels = { model: version.stats.name, version: version.stats.version };
      const share = (cpuSeconds * ns) / totalNs;
      state.cpuSeconds += share;
      if (share > 0) this.counters?.cpuSeconds.inc(labels, share);
      if (runsOnGpu(version.providers)) {
        state.gpuSeconds += ns / 1e9;
        this.counters?.gpuSeconds.inc(labels, ns / 1e9);
      }
    }
  }

  /** A version's cost since its load (after closing the current interval); undefined if never seen. */
  costOf(stats: CostedStats): VersionCost | undefined {
    this.sample();
    return this.figures(stats);
  }

  /** CPU-seconds of the process since the accountant started that no version was charged. */
  get unattributedCpuSeconds(): number {
    return this.unattributed;
  }

  /** CPU-seconds charged to versions since the accountant started (unloaded ones included). */
  get attributedCpuSeconds(): number {
    return this.attributed;
  }

  stop(): void {
    this.cancel();
  }

  private figures(stats: object): VersionCost | undefined {
    const state = this.states.get(stats);
    if (state === undefined) return undefined;
    const n = state.stats.inferenceCount;
    return {
      cpuSeconds: state.cpuSeconds,
      gpuSeconds: state.gpuSeconds,
      inferences: n,
      cpuSecondsPerInference: n > 0 ? state.cpuSeconds / n : null,
      gpuSecondsPerInference: n > 0 ? state.gpuSeconds / n : null,
      costPer1kInferences: costPer1k(state.cpuSeconds, state.gpuSeconds, n, this.options.prices),
    };
  }

  /** The `cost` object of a version's statistics JSON (snake_case, as Triton's fields are). */
  private statisticsOf(stats: object): Record<string, unknown> | undefined {
    this.sample();
    const f = this.figures(stats);
    if (f === undefined) return undefined;
    return {
      cpu_seconds: f.cpuSeconds,
      gpu_seconds: f.gpuSeconds,
      cpu_seconds_per_inference: f.cpuSecondsPerInference,
      gpu_seconds_per_inference: f.gpuSecondsPerInference,
      cost_per_1k_inferences: f.costPer1kInferences,
      currency_per_hour: { cpu: this.options.prices.cpuPerHour, gpu: this.options.prices.gpuPerHour },
    };
  }

  private sampleOf(stats: CostedStats): { model: string; version: string; value: number }[] {
    const value = this.figures(stats)?.costPer1kInferences;
    return value === undefined || value === null ? [] : [{ model: stats.name, version: stats.version, value }];
  }

  private cpuMicros(): number {
    const u = this.readCpu();
    return u.user + u.system;
  }
}
