// Every Prometheus metric inferd exports, declared in one place. Names and labels follow
// Triton's (nv_*) so existing dashboards work; latency histograms (inferd_*) are our addition.
// Label values are bounded: model, version, reason, phase, key id (one per configured API key, never
// the key itself) — never request ids.

import os from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { modelGpuMetrics, registerGpuDeviceGauges, type ModelGpuMetrics } from './gpu-metrics.js';
import type { GpuSample } from './nvidia-smi.js';

/** Seconds buckets from 25 µs to ~13 s (×2 steps): small models are fast, big ones are not. */
const LATENCY_BUCKETS_SECONDS = Array.from({ length: 20 }, (_, i) => 25e-6 * 2 ** i);

export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

/** A generation engine's load, as its gauges show it. */
export interface GenerationGaugeValues {
  readonly running: number;
  readonly waiting: number;
  readonly kvCacheUsage: number;
}

/** One model version's saturation: 0 = idle, 1 = its most loaded resource is full. */
export interface SaturationSample {
  readonly model: string;
  readonly version: string;
  readonly value: number;
}

/** What the memory budget's gauges read at each scrape. */
export interface MemoryBudgetSample {
  readonly budgetBytes: number;
  readonly residentBytes: number;
  readonly residentModels: number;
}

/** The memory budget's counters and load-time histogram. */
export interface MemoryBudgetMetrics {
  readonly loads: Counter<'model'>;
  readonly evictions: Counter<'model'>;
  readonly hits: Counter<'model'>;
  readonly misses: Counter<'model'>;
  readonly loadSeconds: Histogram;
}

/** The counters cost per inference moves (observability/cost.ts). */
export interface CostMetrics {
  readonly cpuSeconds: Counter<'model' | 'version'>;
  readonly gpuSeconds: Counter<'model' | 'version'>;
  readonly unattributedCpuSeconds: Counter;
}

/** Where the cost figures come from: brought up to date before each scrape and statistics read. */
export interface CostSource {
  /** Closes the current accounting interval, moving the counters. */
  refresh(): void;
  /** Currency per 1,000 inferences per serving version; undefined when no price is set (no gauge). */
  readonly costPer1k: (() => readonly SaturationSample[]) | undefined;
  /** The `cost` object of a version's statistics JSON, by its statistics object; undefined if unknown. */
  statistics(stats: object): Record<string, unknown> | undefined;
}

export class Metrics {
  readonly registry = new Registry();
  /** GPU busy time and load memory per model version; registered on first use (gpu-metrics.ts). */
  readonly modelGpu: ModelGpuMetrics = modelGpuMetrics(this.registry);

  readonly requestSuccess = this.modelCounter(
    'nv_inference_request_success',
    'Number of successful inference requests, all batch sizes',
  );
  readonly requestFailure = new Counter({
    name: 'nv_inference_request_failure',
    help: 'Number of failed inference requests, all batch sizes',
    labelNames: ['model', 'version', 'reason'] as const,
    registers: [this.registry],
  });
  readonly inferenceCount = this.modelCounter(
    'nv_inference_count',
    'Number of inferences performed (a batch of n counts n)',
  );
  readonly execCount = this.modelCounter('nv_inference_exec_count', 'Number of model executions performed');
  readonly pendingRequests = new Gauge({
    name: 'nv_inference_pending_request_count',
    help: 'Instantaneous number of requests waiting or executing',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly requestDurationUs = this.modelCounter(
    'nv_inference_request_duration_us',
    'Cumulative inference request duration in microseconds',
  );
  readonly queueDurationUs = this.modelCounter(
    'nv_inference_queue_duration_us',
    'Cumulative inference queuing duration in microseconds',
  );
  readonly computeInputDurationUs = this.modelCounter(
    'nv_inference_compute_input_duration_us',
    'Cumulative compute input duration in microseconds',
  );
  readonly computeInferDurationUs = this.modelCounter(
    'nv_inference_compute_infer_duration_us',
    'Cumulative compute inference duration in microseconds',
  );
  readonly computeOutputDurationUs = this.modelCounter(
    'nv_inference_compute_output_duration_us',
    'Cumulative inference compute output duration in microseconds',
  );
  readonly modelLoadDurationSecs = new Gauge({
    name: 'nv_model_load_duration_secs',
    help: 'Time taken to load the model version, in seconds',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly versionFailures = this.modelCounter(
    'inferd_model_version_failures_total',
    'Times a model version stopped serving because its instances kept failing (its load is retried)',
  );
  readonly cacheHits = this.modelCounter('nv_cache_num_hits_per_model', 'Number of response cache hits per model');
  readonly cacheMisses = this.modelCounter(
    'nv_cache_num_misses_per_model',
    'Number of response cache misses per model',
  );
  readonly requestLatency = this.histogram(
    'inferd_request_duration_seconds',
    'Server-side request latency, arrival to response',
  );
  readonly queueLatency = this.histogram('inferd_queue_duration_seconds', 'Time requests wait in the queue');
  readonly computeLatency = this.histogram(
    'inferd_compute_duration_seconds',
    'Execution time (compute input + infer + output) per request',
  );

  // Text generation, under vLLM's metric names with an `inferd:` prefix (docs/generation.md maps them).
  readonly genRunning = this.generationGauge('inferd:num_requests_running', 'Sequences running (in the batch)');
  readonly genWaiting = this.generationGauge('inferd:num_requests_waiting', 'Sequences waiting to be scheduled');
  readonly genKvCacheUsage = this.generationGauge(
    'inferd:kv_cache_usage_perc',
    'KV cache usage: tokens held by running sequences / (max_running_sequences × context length), 1 = full',
  );
  // The same three under vLLM's own names: the Gateway API inference extension's endpoint picker
  // and existing vLLM dashboards and autoscalers read these.
  private readonly vllmRunning = this.generationGauge('vllm:num_requests_running', 'Sequences running (in the batch)');
  private readonly vllmWaiting = this.generationGauge('vllm:num_requests_waiting', 'Sequences waiting to be scheduled');
  private readonly vllmKvCacheUsage = this.generationGauge(
    'vllm:kv_cache_usage_perc',
    'KV cache usage, 0-1 (the same value as inferd:kv_cache_usage_perc)',
  );
  readonly genPromptTokens = this.generationCounter('inferd:prompt_tokens_total', 'Prompt tokens processed');
  readonly genGenerationTokens = this.generationCounter('inferd:generation_tokens_total', 'Tokens generated');
  readonly genRequestSuccess = new Counter({
    name: 'inferd:request_success_total',
    help: 'Sequences finished, by finish reason (stop, length, abort)',
    labelNames: ['model_name', 'finished_reason'] as const,
    registers: [this.registry],
  });
  readonly genTimeToFirstToken = this.generationHistogram(
    'inferd:time_to_first_token_seconds',
    'Arrival to first generated token',
  );
  readonly genInterTokenLatency = this.generationHistogram(
    'inferd:inter_token_latency_seconds',
    'Time between consecutive generated tokens of a sequence',
  );
  readonly genE2eLatency = this.generationHistogram(
    'inferd:e2e_request_latency_seconds',
    'Arrival to the end of a sequence',
  );
  readonly genQueueTime = this.generationHistogram(
    'inferd:request_queue_time_seconds',
    'Time a sequence waited before it was scheduled',
  );
  readonly genPrefixQueries = this.generationCounter(
    'inferd:prefix_cache_queries',
    'Prompt tokens looked up in the prefix cache',
  );
  readonly genPrefixHits = this.generationCounter(
    'inferd:prefix_cache_hits',
    'Prompt tokens whose KV came from the prefix cache',
  );
  // Speculative decoding, under the names vLLM exposes (its Python client adds `_total` to a
  // counter's name), so its dashboards' acceptance-rate panels read them as they are.
  readonly specDrafts = this.generationCounter(
    'vllm:spec_decode_num_drafts_total',
    'Draft proposals verified (one per sequence and step that speculated)',
  );
  readonly specDraftTokens = this.generationCounter('vllm:spec_decode_num_draft_tokens_total', 'Draft tokens verified');
  readonly specAcceptedTokens = this.generationCounter(
    'vllm:spec_decode_num_accepted_tokens_total',
    'Draft tokens accepted',
  );
  readonly specAcceptedPerPos = new Counter({
    name: 'vllm:spec_decode_num_accepted_tokens_per_pos_total',
    help: 'Draft tokens accepted, by their position in the draft (0 = the first)',
    labelNames: ['model_name', 'position'] as const,
    registers: [this.registry],
  });

  /**
   * Every error answer, by protocol and reason (the INF_ERR_* code on HTTP, the status name on
   * gRPC): the client's mistakes (a malformed body, an unknown model) included, which never reach
   * a model's own failure counts.
   */
  readonly requestErrors = new Counter({
    name: 'inferd_request_errors_total',
    help: 'Error answers, by protocol (http, grpc) and reason (INF_ERR_* code, or gRPC status)',
    labelNames: ['protocol', 'reason'] as const,
    registers: [this.registry],
  });

  // Per-key quotas (security/quota.ts records them), labelled by the API key's id.
  readonly keyRequests = new Counter({
    name: 'inferd_key_requests_total',
    help: 'Requests per API key, by admission outcome (admitted, refused)',
    labelNames: ['key_id', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly keyQuotaRefusals = new Counter({
    name: 'inferd_key_quota_refusals_total',
    help: 'Quota refusals per API key, by the limit that refused (requests, concurrency, tokens, tensor_bytes)',
    labelNames: ['key_id', 'reason'] as const,
    registers: [this.registry],
  });
  readonly keyPromptTokens = this.keyCounter('inferd_key_prompt_tokens_total', 'Prompt tokens charged per API key');
  readonly keyCompletionTokens = this.keyCounter(
    'inferd_key_completion_tokens_total',
    'Completion tokens charged per API key',
  );
  readonly keyTensorBytes = this.keyCounter('inferd_key_tensor_bytes_total', 'Tensor bytes charged per API key');
  readonly keyConcurrentRequests = new Gauge({
    name: 'inferd_key_concurrent_requests',
    help: 'Requests admitted and not yet finished, per API key',
    labelNames: ['key_id'] as const,
    registers: [this.registry],
  });

  // Accuracy from delayed labels (monitoring/predictions.ts sets them as labels arrive).
  readonly feedbackLabels = new Counter({
    name: 'inferd_feedback_labels_total',
    help: 'Labels sent to /v2/feedback, by outcome (accepted, unknown, expired, duplicate, invalid); model and version are empty for an unknown id',
    labelNames: ['model', 'version', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly accuracy = this.modelGauge(
    'inferd_accuracy',
    'Share of labelled classification rows whose argmax is the label',
  );
  readonly logLoss = this.modelGauge('inferd_log_loss', 'Mean log-loss of labelled classification rows');
  readonly meanAbsoluteError = this.modelGauge(
    'inferd_mean_absolute_error',
    'Mean absolute error of labelled regression values',
  );
  readonly labelCoverage = new Gauge({
    name: 'inferd_label_coverage',
    help: 'Prediction rows labelled / prediction rows recorded (cumulative)',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
    // Recording a prediction only marks its version; the gauges are brought up to date at a scrape.
    collect: () => this.beforeAccuracyScrape?.(),
  });
  /** Brings the accuracy gauges up to date (monitoring/predictions.ts sets it). */
  beforeAccuracyScrape: (() => void) | undefined;

  // Drift monitoring (monitoring/drift-monitors.ts, docs/monitoring.md): one series per watched feature.
  readonly driftScore = new Gauge({
    name: 'inferd_drift_score',
    help: "A feature's drift statistic in its last tested window (ks, psi, chi2, and the tests' p-values ks_p_value, chi2_p_value)",
    labelNames: ['model', 'version', 'feature', 'statistic'] as const,
    registers: [this.registry],
  });
  readonly driftAlarm = new Gauge({
    name: 'inferd_drift_alarm',
    help: 'Whether the last tested window of a model version drifted (1) or not (0)',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly driftWindows = this.modelCounter('inferd_drift_windows_total', 'Drift windows tested (inputs and outputs)');
  readonly driftAlarms = this.modelCounter('inferd_drift_alarms_total', 'Drift windows that alarmed');

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'nv_cpu_utilization',
      help: 'CPU utilization rate [0.0 - 1.0] since the last scrape',
      registers: [this.registry],
      collect: cpuUtilizationCollector(),
    });
    new Gauge({
      name: 'nv_cpu_memory_total_bytes',
      help: 'CPU total memory (RAM), in bytes',
      registers: [this.registry],
      collect() {
        this.set(os.totalmem());
      },
    });
    new Gauge({
      name: 'nv_cpu_memory_used_bytes',
      help: 'CPU used memory (RAM), in bytes',
      registers: [this.registry],
      collect() {
        this.set(os.totalmem() - os.freemem());
      },
    });
  }

  /** Triton's per-GPU gauges (nv_gpu_*), read from the latest nvidia-smi sample at each scrape. */
  watchGpus(latest: () => readonly GpuSample[]): void {
    registerGpuDeviceGauges(this.registry, latest);
  }

  /** Sets a generation engine's gauges, under inferd's and vLLM's names. */
  generationLoad(model: string, load: GenerationGaugeValues): void {
    const labels = { model_name: model };
    this.genRunning.set(labels, load.running);
    this.vllmRunning.set(labels, load.running);
    this.genWaiting.set(labels, load.waiting);
    this.vllmWaiting.set(labels, load.waiting);
    this.genKvCacheUsage.set(labels, load.kvCacheUsage);
    this.vllmKvCacheUsage.set(labels, load.kvCacheUsage);
  }

  /**
   * `inferd_saturation` (per process: the maximum over model versions, so one autoscaling trigger
   * follows the most loaded resource rather than an average) and `inferd_model_saturation` per
   * version, read from `samples` at each scrape.
   */
  /**
   * The HTTP listener's request bytes in flight and unsent answer bytes against their budgets, and
   * the budgets' refusals.
   */
  watchMemoryGate(
    stats: () => {
      readonly bytesInFlight: number;
      readonly refusals: number;
      readonly unsentBytes: number;
      readonly unsentRefusals: number;
    },
  ): void {
    new Gauge({
      name: 'inferd_inflight_request_bytes',
      help: 'Request body bytes the HTTP listener holds or is receiving (bounded by --max-inflight-request-size)',
      registers: [this.registry],
      collect() {
        this.set(stats().bytesInFlight);
      },
    });
    new Counter({
      name: 'inferd_request_bytes_refusals_total',
      help: 'Requests refused with 503 because their body would pass the server-wide budget of request bytes in flight',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(stats().refusals);
      },
    });
    new Gauge({
      name: 'inferd_unsent_response_bytes',
      help: 'Answer bytes written to HTTP and WebSocket connections and not yet read by their clients (bounded by --max-unsent-response-size)',
      registers: [this.registry],
      collect() {
        this.set(stats().unsentBytes);
      },
    });
    new Counter({
      name: 'inferd_unsent_response_refusals_total',
      help: 'Requests refused with 503 because clients had more than --max-unsent-response-size of answers unread',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(stats().unsentRefusals);
      },
    });
  }

  /**
   * The memory budget's metrics (`--model-memory-budget`), registered only when the budget is on:
   * resident and budget bytes read from `stats` at each scrape, and the counters the repository moves.
   */
  memoryBudget(stats: () => MemoryBudgetSample): MemoryBudgetMetrics {
    const registers = [this.registry];
    new Gauge({
      name: 'inferd_model_memory_budget_bytes',
      help: 'Bytes the loaded models may take together (--model-memory-budget)',
      registers,
      collect() {
        this.set(stats().budgetBytes);
      },
    });
    new Gauge({
      name: 'inferd_model_memory_resident_bytes',
      help: 'Bytes the loaded models take together, as measured at each load',
      registers,
      collect() {
        this.set(stats().residentBytes);
      },
    });
    new Gauge({
      name: 'inferd_model_resident_models',
      help: 'Models loaded under the memory budget',
      registers,
      collect() {
        this.set(stats().residentModels);
      },
    });
    const byModel = (name: string, help: string): Counter<'model'> =>
      new Counter({ name, help, labelNames: ['model'] as const, registers });
    return {
      loads: byModel(
        'inferd_model_loads_total',
        'Model loads under the memory budget (at start, on request, explicit)',
      ),
      evictions: byModel(
        'inferd_model_evictions_total',
        'Idle models unloaded, least recently used first, to make room under the memory budget',
      ),
      hits: byModel('inferd_model_residency_hits_total', 'Requests that found their model loaded'),
      misses: byModel('inferd_model_residency_misses_total', 'Requests that found their model unloaded and loaded it'),
      loadSeconds: new Histogram({
        name: 'inferd_model_load_seconds',
        help: 'Time to load a model under the memory budget, room-making (evictions) included',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    };
  }

  private costSource: CostSource | undefined;

  /**
   * Cost per inference: `inferd_cpu_seconds_total`, `inferd_gpu_seconds_total`,
   * `inferd_unattributed_cpu_seconds_total`, and with a price `inferd_cost_per_1k_inferences`;
   * `source` is refreshed at each scrape and gives the statistics JSON its `cost` objects.
   */
  costMetrics(source: CostSource): CostMetrics {
    this.costSource = source;
    const registers = [this.registry];
    const refresh = (): void => source.refresh();
    const perVersion = (name: string, help: string): Counter<'model' | 'version'> =>
      new Counter({ name, help, labelNames: ['model', 'version'] as const, registers, collect: refresh });
    const metrics: CostMetrics = {
      cpuSeconds: perVersion(
        'inferd_cpu_seconds_total',
        "Process CPU-seconds charged to a model version: each interval's CPU time shared by execution time",
      ),
      gpuSeconds: perVersion(
        'inferd_gpu_seconds_total',
        'GPU-seconds of a model version: execution time of sessions on a GPU provider (cuda, webgpu, ...)',
      ),
      unattributedCpuSeconds: new Counter({
        name: 'inferd_unattributed_cpu_seconds_total',
        help: 'Process CPU-seconds of intervals in which no model version executed (idle and overhead)',
        registers,
        collect: refresh,
      }),
    };
    const costPer1k = source.costPer1k;
    if (costPer1k !== undefined)
      new Gauge({
        name: 'inferd_cost_per_1k_inferences',
        help: 'Currency per 1,000 inferences of a model version since its load, at --cost-per-cpu-hour / --cost-per-gpu-hour',
        labelNames: ['model', 'version'] as const,
        registers,
        collect() {
          refresh();
          this.reset();
          for (const s of costPer1k()) this.set({ model: s.model, version: s.version }, s.value);
        },
      });
    return metrics;
  }

  /** The `cost` object of a version's statistics JSON, when cost is accounted. */
  costStatistics(stats: object): Record<string, unknown> | undefined {
    return this.costSource?.statistics(stats);
  }

  watchSaturation(samples: () => readonly SaturationSample[]): void {
    new Gauge({
      name: 'inferd_model_saturation',
      help: 'How full a model version is, 0-1: the maximum of queue depth / max_queue_size, busy instances / instances and (text generation) running / max sequences, waiting / max waiting, KV cache use',
      labelNames: ['model', 'version'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of samples()) this.set({ model: s.model, version: s.version }, s.value);
      },
    });
    new Gauge({
      name: 'inferd_saturation',
      help: 'How full this server is, 0-1: the maximum of inferd_model_saturation over model versions (0 with none loaded)',
      registers: [this.registry],
      collect() {
        let max = 0;
        for (const s of samples()) max = Math.max(max, s.value);
        this.set(max);
      },
    });
  }

  /** A counter labelled by model and version, the shape of most of Triton's metrics. */
  private modelCounter(name: string, help: string): Counter<'model' | 'version'> {
    return new Counter({ name, help, labelNames: ['model', 'version'] as const, registers: [this.registry] });
  }

  private modelGauge(name: string, help: string): Gauge<'model' | 'version'> {
    return new Gauge({ name, help, labelNames: ['model', 'version'] as const, registers: [this.registry] });
  }

  private keyCounter(name: string, help: string): Counter<'key_id'> {
    return new Counter({ name, help, labelNames: ['key_id'] as const, registers: [this.registry] });
  }

  private generationGauge(name: string, help: string): Gauge<'model_name'> {
    return new Gauge({ name, help, labelNames: ['model_name'] as const, registers: [this.registry] });
  }

  private generationCounter(name: string, help: string): Counter<'model_name'> {
    return new Counter({ name, help, labelNames: ['model_name'] as const, registers: [this.registry] });
  }

  private generationHistogram(name: string, help: string): Histogram<'model_name'> {
    return new Histogram({
      name,
      help,
      labelNames: ['model_name'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
  }

  private histogram(name: string, help: string): Histogram<'model' | 'version'> {
    return new Histogram({
      name,
      help,
      labelNames: ['model', 'version'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
  }
}

function cpuUtilizationCollector(): (this: Gauge) => void {
  let last = cpuTimes();
  return function collect(this: Gauge) {
    const now = cpuTimes();
    const total = now.total - last.total;
    this.set(total > 0 ? (now.busy - last.busy) / total : 0);
    last = now;
  };
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    total += sum;
    busy += sum - t.idle;
  }
  return { busy, total };
}
