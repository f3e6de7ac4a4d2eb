// Samples every GPU through nvidia-smi on an interval and serves the latest sample to the nv_gpu_*
// gauges, as Triton samples its GPU metrics every --metrics-interval-ms (2 s by default). A scrape
// never waits on the driver; a failed sample keeps the previous one and is logged once.

import type { IntervalTimer } from './cost.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { GpuSample, NvidiaSmi } from './nvidia-smi.js';

export const DEFAULT_GPU_METRICS_INTERVAL_MS = 2000;

const realTimer: IntervalTimer = (tick, ms) => {
  const t = setInterval(tick, ms);
  t.unref();
  return () => clearInterval(t);
};

export interface GpuMonitorOptions {
  readonly intervalMs?: number;
  readonly timer?: IntervalTimer;
  readonly logger?: Logger;
}

export class GpuMonitor {
  private latest: readonly GpuSample[] = [];
  private cancel: () => void = () => undefined;
  private warned = false;
  private inFlight: Promise<void> | undefined;

  private constructor(
    private readonly smi: NvidiaSmi,
    private readonly logger: Logger | undefined,
  ) {}

  /**
   * Takes a first sample, registers the gauges and samples on the interval. Undefined when the
   * first sample finds no GPU (or nvidia-smi fails): no GPU metric is exported then.
   */
  static async start(
    smi: NvidiaSmi,
    metrics: Metrics,
    options: GpuMonitorOptions = {},
  ): Promise<GpuMonitor | undefined> {
    const monitor = new GpuMonitor(smi, options.logger);
    await monitor.sample();
    if (monitor.latest.length === 0) return undefined;
    metrics.watchGpus(() => monitor.latest);
    monitor.cancel = (options.timer ?? realTimer)(
      () => void monitor.sample(),
      options.intervalMs ?? DEFAULT_GPU_METRICS_INTERVAL_MS,
    );
    return monitor;
  }

  /** The GPUs at the last sample. */
  get devices(): readonly GpuSample[] {
    return this.latest;
  }

  /** Reads every GPU once (a sample still running is not doubled). */
  sample(): Promise<void> {
    this.inFlight ??= this.smi
      .gpus()
      .then((s) => {
        this.latest = s;
      })
      .catch((err: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.logger?.warn({ err }, `GPU metrics: ${this.smi.executable} failed; keeping the last sample`);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  stop(): void {
    this.cancel();
  }
}
