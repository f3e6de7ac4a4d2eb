// Per model-version statistics in the shape of Triton's statistics extension: counts and
// cumulative nanoseconds per phase, plus execution counts. Also feeds the Prometheus metrics.

import type { FailureReason, Metrics } from './metrics.js';

export interface StatDuration {
  count: number;
  ns: number;
}

export interface PhaseTimings {
  /** Arrival at the edge to result ready. */
  readonly requestNs: number;
  readonly queueNs: number;
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

const zero = (): StatDuration => ({ count: 0, ns: 0 });

export class ModelStats {
  readonly name: string;
  readonly version: string;
  lastInferenceMs = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success = zero();
  readonly fail = zero();
  readonly queue = zero();
  readonly computeInput = zero();
  readonly computeInfer = zero();
  readonly computeOutput = zero();
  readonly cacheHit = zero();
  readonly cacheMiss = zero();
  readonly batchStats = new Map<
    number,
    { computeInput: StatDuration; computeInfer: StatDuration; computeOutput: StatDuration }
  >();
  private readonly labels: { model: string; version: string };

  constructor(
    name: string,
    version: string,
    private readonly metrics: Metrics,
  ) {
    this.name = name;
    this.version = version;
    this.labels = { model: name, version };
  }

  pendingChanged(delta: number): void {
    this.metrics.pendingRequests.inc(this.labels, delta);
  }

  /**
   * One model execution, of `batchSize` rows in all (several requests when dynamically batched):
   * the execution count and the per-batch-size compute statistics.
   */
  recordExecution(t: Omit<PhaseTimings, 'requestNs' | 'queueNs'>, batchSize: number): void {
    this.executionCount += 1;
    let b = this.batchStats.get(batchSize);
    if (b === undefined) {
      b = { computeInput: zero(), computeInfer: zero(), computeOutput: zero() };
      this.batchStats.set(batchSize, b);
    }
    add(b.computeInput, t.computeInputNs);
    add(b.computeInfer, t.computeInferNs);
    add(b.computeOutput, t.computeOutputNs);
    this.metrics.execCount.inc(this.labels);
  }

  /**
   * One successful request of `batchSize` rows. As in Triton, each request of a batched execution
   * counts that execution's compute times as its own.
   */
  recordSuccess(t: PhaseTimings, batchSize: number): void {
    this.lastInferenceMs = Date.now();
    this.inferenceCount += batchSize;
    add(this.success, t.requestNs);
    add(this.queue, t.queueNs);
    add(this.computeInput, t.computeInputNs);
    add(this.computeInfer, t.computeInferNs);
    add(this.computeOutput, t.computeOutputNs);

    const m = this.metrics;
    m.requestSuccess.inc(this.labels);
    m.inferenceCount.inc(this.labels, batchSize);
    m.requestDurationUs.inc(this.labels, t.requestNs / 1000);
    m.queueDurationUs.inc(this.labels, t.queueNs / 1000);
    m.computeInputDurationUs.inc(this.labels, t.computeInputNs / 1000);
    m.computeInferDurationUs.inc(this.labels, t.computeInferNs / 1000);
    m.computeOutputDurationUs.inc(this.labels, t.computeOutputNs / 1000);
    m.requestLatency.observe(this.labels, t.requestNs / 1e9);
    m.queueLatency.observe(this.labels, t.queueNs / 1e9);
    m.computeLatency.observe(this.labels, (t.computeInputNs + t.computeInferNs + t.computeOutputNs) / 1e9);
  }

  /** A request answered from the response cache; `lookupNs` is the time the lookup took. */
  recordCacheHit(lookupNs: number): void {
    add(this.cacheHit, lookupNs);
    this.metrics.cacheHits.inc(this.labels);
  }

  /** A request the cache could not answer; `ns` covers the lookup and, later, the insertion. */
  recordCacheMiss(ns: number): void {
    add(this.cacheMiss, ns);
    this.metrics.cacheMisses.inc(this.labels);
  }

  recordFailure(requestNs: number, reason: FailureReason): void {
    add(this.fail, requestNs);
    this.metrics.requestFailure.inc({ ...this.labels, reason });
    this.metrics.requestDurationUs.inc(this.labels, requestNs / 1000);
  }

  recordLoadSeconds(seconds: number): void {
    this.metrics.modelLoadDurationSecs.set(this.labels, seconds);
  }

  /** Triton's ModelStatistics JSON (uint64 fields as numbers). */
  toJSON(): unknown {
    // inferd's addition: cost per inference (observability/cost.ts), when the server accounts it.
    const cost = this.metrics.costStatistics(this);
    return {
      name: this.name,
      version: this.version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        compute_input: { ...this.computeInput },
        compute_infer: { ...this.computeInfer },
        compute_output: { ...this.computeOutput },
        cache_hit: { ...this.cacheHit },
        cache_miss: { ...this.cacheMiss },
      },
      batch_stats: [...this.batchStats.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([batchSize, s]) => ({
          batch_size: batchSize,
          compute_input: { ...s.computeInput },
          compute_infer: { ...s.computeInfer },
          compute_output: { ...s.computeOutput },
        })),
      ...(cost === undefined ? {} : { cost }),
    };
  }
}

function add(d: StatDuration, ns: number): void {
  d.count += 1;
  d.ns += Math.round(ns);
}
