// The scheduler of a model version whose requests are independent: a bounded priority queue in
// front of the version's instances. Requests run on free instances in priority then arrival order,
// one per execution or, with dynamic batching, several compatible ones merged along the batch
// dimension. Admission, deadlines, cancellation and drain are the base's (scheduler-base.ts).

import { InferdError, invalidArgument } from '../errors/index.js';
import type { Instance } from '../runtime/index.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import { makeTensor, type Tensor } from '../tensor/tensor.js';
import { batchKey, mergeInputs, splitOutputs } from './batch-formation.js';
import { cacheKey, type ResponseCache } from './response-cache.js';
import { ArrivalRate, ExecutionTimeModel } from './execution-time-model.js';
import { PriorityQueue } from './priority-queue.js';
import { SchedulerBase, type SchedulerBaseOptions, type Waiting } from './scheduler-base.js';

export interface BatchingOptions {
  /** Most rows one execution may hold (the model's max_batch_size). */
  readonly maxBatchSize: number;
  /** How long a batch short of its target may wait for more requests; 0 = never wait. */
  readonly maxQueueDelayUs: number;
  /** Batch sizes worth dispatching at once, without waiting for more. */
  readonly preferredBatchSizes: readonly number[];
  /**
   * Learn execution time per batch size and wait only when waiting pays (maxQueueDelayUs caps
   * the wait); refuse up front requests that could not finish before their deadline.
   */
  readonly adaptive?: boolean;
}

export interface SchedulerOptions extends SchedulerBaseOptions {
  /** The server's response cache, for a model with `response_cache.enable`. */
  readonly cache?: ResponseCache;
  /** Dynamic batching (config `dynamic_batching`); without it each request runs alone. */
  readonly batching?: BatchingOptions;
  /** Level for requests with priority 0 (none given); 1 is the highest. */
  readonly defaultPriorityLevel?: number;
  /**
   * Triton's priority_levels: a request's priority above it (or 0) gets the default level, and
   * 0 turns priorities off. Undefined: every level a request gives is kept.
   */
  readonly priorityLevels?: number;
}

interface Queued extends Waiting {
  /** Requests with equal keys can share an execution (dynamic batching). */
  readonly key: string;
  /** Priority level it waits at (1 is the highest). */
  readonly level: number;
  /** Response cache key, when the model caches responses. */
  readonly cacheKey: string | undefined;
}

export class DynamicBatcher extends SchedulerBase<Queued> {
  private readonly queue = new PriorityQueue<Queued>();
  /** Rows of all queued requests (the work ahead of a new arrival). */
  private queuedRows = 0;
  private readonly timeModel = new ExecutionTimeModel();
  private readonly arrivals = new ArrivalRate();

  constructor(
    instances: readonly Instance[],
    stats: ModelStats,
    private options: SchedulerOptions,
  ) {
    super(instances, stats, options);
  }

  infer(request: InferRequest): Promise<InferResult> {
    if (this.draining) return Promise.reject(this.unloadingError());
    if (request.sequence !== undefined) {
      return this.refuse(
        request,
        invalidArgument(
          `model '${this.stats.name}' is not stateful (its config has no sequence_batching); remove "sequence_id"`,
        ),
        'OTHER',
      );
    }
    if (request.signal?.aborted === true) return this.refuse(request, this.cancelledError(), 'CANCELED');
    try {
      this.checkCarriable(request);
    } catch (err) {
      return this.refuse(request, err, 'OTHER');
    }
    let responseKey: string | undefined;
    const cache = this.options.cache;
    if (cache !== undefined) {
      const t0 = this.clock.nowNs();
      responseKey = cacheKey(this.stats.name, this.stats.version, request);
      const hit = cache.get(responseKey);
      const lookupNs = Number(this.clock.nowNs() - t0);
      if (hit !== undefined) {
        this.stats.recordCacheHit(lookupNs);
        const timings = { queueNs: 0, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };
        const requestNs = Number(this.clock.nowNs() - request.arrivalNs);
        this.stats.recordSuccess({ requestNs, ...timings }, request.batchSize);
        return Promise.resolve({ outputs: [...hit], timings });
      }
      this.stats.recordCacheMiss(lookupNs);
    }
    if (this.queueFull) return this.refuse(request, this.queueFullError(), 'REJECTED');
    const deadlineNs = this.deadlineOf(request);
    const batching = this.options.batching;
    if (batching?.adaptive === true) {
      const now = this.clock.nowNs();
      this.arrivals.arrived(now);
      const expected = deadlineNs === undefined ? undefined : this.expectedCompletionNs(request, batching);
      if (deadlineNs !== undefined && expected !== undefined && now + BigInt(Math.round(expected)) > deadlineNs) {
        return this.refuse(
          request,
          new InferdError(
            'INF_ERR_DEADLINE_EXCEEDED',
            `request refused: it would need about ${Math.round(expected / 1000)} µs, more than its ${this.timeoutUsOf(request)} µs timeout allows`,
          ),
          'REJECTED',
        );
      }
    }
    const extra = {
      key: batching === undefined ? '' : batchKey(request),
      level: this.levelOf(request.priority),
      cacheKey: responseKey,
    };
    return this.wait(request, deadlineNs, extra, (item) => {
      this.queue.push(item.level, item);
      this.queuedRows += request.batchSize;
    });
  }

  /** A batch waiting for company goes now: nothing more will join it. */
  protected override onDrain(): void {
    if (this.options.batching !== undefined)
      this.options = { ...this.options, batching: { ...this.options.batching, maxQueueDelayUs: 0 } };
  }

  protected override unqueue(item: Queued): boolean {
    if (!this.queue.remove(item.level, item)) return false;
    this.queuedRows -= item.request.batchSize;
    return true;
  }

  protected override waitingItems(): Iterable<Queued> {
    return this.queue;
  }

  private next(): Queued | undefined {
    const item = this.queue.shift();
    if (item !== undefined) {
      this.queued--;
      this.queuedRows -= item.request.batchSize;
    }
    return item;
  }

  /**
   * The head request plus, with dynamic batching, the queued requests that can share its
   * execution (same batch key), in priority then arrival order, up to max_batch_size rows.
   */
  private candidates(batching: BatchingOptions): { items: Queued[]; rows: number } {
    let head: Queued | undefined;
    const items: Queued[] = [];
    let rows = 0;
    for (const item of this.queue) {
      head ??= item;
      if (item.key !== head.key) continue;
      if (rows + item.request.batchSize > batching.maxBatchSize) return { items, rows };
      items.push(item);
      rows += item.request.batchSize;
    }
    return { items, rows };
  }

  /** With a queue delay, a batch short of its target waits (up to the delay of its oldest request) for more. */
  private shouldWait(batching: BatchingOptions, items: readonly Queued[], rows: number, now: bigint): boolean {
    if (rows >= batching.maxBatchSize || batching.preferredBatchSizes.includes(rows)) return false;
    const oldest = items.reduce((t, i) => (i.enqueuedNs < t ? i.enqueuedNs : t), now);
    const waitedNs = Number(now - oldest);
    if (batching.adaptive === true) {
      const waitNs = this.adaptiveWaitNs(batching, items, rows, now, waitedNs);
      if (waitNs <= 0) return false;
      this.wakeIn(waitNs / 1e6);
      return true;
    }
    const delayNs = batching.maxQueueDelayUs * 1000;
    if (delayNs <= 0 || waitedNs >= delayNs) return false;
    this.wakeIn((delayNs - waitedNs) / 1e6);
    return true;
  }

  /**
   * The adaptive rule: wait for the next request only when it is expected to arrive before this
   * batch would even finish running (so it would otherwise wait that long anyway), within the
   * queue delay cap, and never past a waiting request's deadline. Returns how long to wait, or 0.
   */
  private adaptiveWaitNs(
    batching: BatchingOptions,
    items: readonly Queued[],
    rows: number,
    now: bigint,
    waitedNs: number,
  ): number {
    const gapNs = this.arrivals.expectedGapNs;
    const runNs = this.timeModel.estimate(rows);
    const nextNs = this.timeModel.estimate(rows + 1);
    if (gapNs === undefined || runNs === undefined || nextNs === undefined) return 0;
    const capNs =
      batching.maxQueueDelayUs > 0
        ? batching.maxQueueDelayUs * 1000
        : (this.timeModel.estimate(batching.maxBatchSize) ?? 0);
    if (waitedNs >= capNs || gapNs >= runNs) return 0;
    for (const item of items) {
      if (item.deadlineNs !== undefined && Number(item.deadlineNs - now) < gapNs + nextNs) return 0;
    }
    return Math.min(gapNs, capNs - waitedNs);
  }

  /**
   * Roughly how long a request would take from now: the rest of a running execution when no
   * instance is free, the batches queued ahead of it shared over the instances, and its own run.
   * Undefined while execution times are still being learned.
   */
  private expectedCompletionNs(request: InferRequest, batching: BatchingOptions): number | undefined {
    const own = this.timeModel.estimate(request.batchSize);
    const full = this.timeModel.estimate(batching.maxBatchSize);
    if (own === undefined || full === undefined) return undefined;
    const busy = this.idle.length === 0 ? full / 2 : 0;
    const batchesAhead = Math.ceil(this.queuedRows / batching.maxBatchSize);
    return busy + (batchesAhead * full) / Math.max(1, this.instances.length) + own;
  }

  protected override dispatch(): void {
    const batching = this.options.batching;
    while (this.idle.length > 0 && this.queued > 0) {
      const now = this.clock.nowNs();
      let items: Queued[];
      if (batching === undefined) {
        const item = this.next();
        if (item === undefined) break;
        items = [item];
      } else {
        const c = this.candidates(batching);
        if (c.items.length === 0) break;
        if (this.shouldWait(batching, c.items, c.rows, now)) break;
        for (const item of c.items) {
          this.unqueue(item);
          this.queued--;
        }
        items = c.items;
      }
      const live = items.filter((item) => {
        if (this.expired(item, now)) {
          this.settleError(item, this.deadlineError(item), 'REJECTED');
          return false;
        }
        return true;
      });
      if (live.length === 0) continue;
      const instance = this.idle.pop();
      if (instance === undefined) break;
      this.execute(live, instance, now);
    }
    this.afterDispatch();
  }

  private execute(items: readonly Queued[], instanceIndex: number, startNs: bigint): void {
    for (const item of items) this.started(item);
    const requests = items.map((i) => i.request);
    const rows = requests.map((r) => r.batchSize);
    const totalRows = rows.reduce((a, b) => a + b, 0);
    const instance = this.instances[instanceIndex];
    let inputs;
    try {
      if (instance === undefined) throw new InferdError('INF_ERR_INTERNAL', `no instance ${instanceIndex}`);
      inputs = mergeInputs(requests);
    } catch (err) {
      this.finished(items.length, instanceIndex);
      for (const item of items) this.settleError(item, err, 'OTHER');
      return;
    }
    instance.run(inputs, requests[0]?.outputNames ?? []).then(
      (result) => {
        this.finished(items.length, instanceIndex);
        let parts: Tensor[][];
        try {
          parts = items.length === 1 ? [result.outputs] : splitOutputs(result.outputs, rows);
        } catch (err) {
          for (const item of items) this.settleError(item, err, 'BACKEND');
          this.dispatch();
          return;
        }
        this.stats.recordExecution(result.timings, totalRows);
        const t = result.timings;
        this.timeModel.observe(totalRows, t.computeInputNs + t.computeInferNs + t.computeOutputNs);
        const end = this.clock.nowNs();
        items.forEach((item, i) => {
          const outputs = parts[i] ?? [];
          if (item.cacheKey !== undefined) this.options.cache?.set(item.cacheKey, outputs.map(ownCopy));
          this.settleSuccess(item, outputs, result.timings, startNs, end);
        });
        this.dispatch();
      },
      (err: unknown) => {
        this.finished(items.length, instanceIndex);
        for (const item of items) this.settleError(item, err, 'BACKEND');
        this.dispatch();
      },
    );
  }

  /** Triton's InferenceRequest::SetPriority: 0, or a level past priority_levels, is the default level. */
  private levelOf(priority: number): number {
    const fallback = this.options.defaultPriorityLevel ?? 1;
    const levels = this.options.priorityLevels;
    if (priority === 0 || (levels !== undefined && priority > levels)) return levels === 0 ? 1 : fallback;
    return priority;
  }
}

/** A cached output must not keep a whole batched output alive, nor share memory with a response. */
function ownCopy(t: Tensor): Tensor {
  return makeTensor(
    t.name,
    t.datatype,
    t.shape,
    t.datatype === 'BYTES' ? t.data.map((e) => e.slice()) : t.data.slice(),
  );
}
