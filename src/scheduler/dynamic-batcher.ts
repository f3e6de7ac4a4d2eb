// The one place requests wait for a model version: a bounded queue in front of the version's
// instances. Requests run on free instances in priority then arrival order, one per execution or,
// with dynamic batching, several compatible ones merged along the batch dimension; a full queue is
// refused at once, and expired or cancelled requests are dropped before they reach a worker.

import { InferdError, invalidArgument } from '../errors/index.js';
import { assertStringTensorCarriable, type Instance } from '../runtime/index.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { FailureReason } from '../observability/metrics.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import type { Tensor } from '../tensor/tensor.js';
import { batchKey, mergeInputs, splitOutputs } from './batch-formation.js';
import { cacheKey, type ResponseCache } from './response-cache.js';
import { ArrivalRate, ExecutionTimeModel } from './execution-time-model.js';
import type { Scheduler } from './scheduler.js';
import { queueDeadlineError, unwatch, watchWhileQueued } from './queue-watch.js';

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

export interface SchedulerOptions {
  /** The server's response cache, for a model with `response_cache.enable`. */
  readonly cache?: ResponseCache;
  /** Dynamic batching (config `dynamic_batching`); without it each request runs alone. */
  readonly batching?: BatchingOptions;
  readonly maxQueueSize: number;
  readonly defaultTimeoutUs: number;
  /** Level for requests with priority 0 (none given); 1 is the highest. */
  readonly defaultPriorityLevel?: number;
}

interface Queued {
  readonly request: InferRequest;
  readonly deadlineNs: bigint | undefined;
  /** Requests with equal keys can share an execution (dynamic batching). */
  readonly key: string;
  readonly enqueuedNs: bigint;
  /** Response cache key, when the model caches responses. */
  readonly cacheKey: string | undefined;
  resolve(result: InferResult): void;
  reject(err: Error): void;
  onAbort: (() => void) | undefined;
  /** Fires at the deadline, so a request expires while it waits, not only when an instance frees. */
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

export class DynamicBatcher implements Scheduler {
  private readonly idle: Instance[];
  /** One FIFO per priority level present; lower number first. */
  private readonly queues = new Map<number, Queued[]>();
  private queued = 0;
  private inFlight = 0;
  private draining = false;
  private drainWaiters: (() => void)[] = [];
  /** Wakes dispatch when a waiting batch's queue delay runs out. */
  private delayTimer: NodeJS.Timeout | undefined;
  /** Rows of all queued requests (the work ahead of a new arrival). */
  private queuedRows = 0;
  private readonly timeModel = new ExecutionTimeModel();
  private readonly arrivals = new ArrivalRate();

  constructor(
    private readonly instances: readonly Instance[],
    private readonly stats: ModelStats,
    private options: SchedulerOptions,
  ) {
    this.idle = [...instances];
  }

  /** Requests queued or executing. */
  get pending(): number {
    return this.queued + this.inFlight;
  }

  infer(request: InferRequest): Promise<InferResult> {
    if (this.draining) {
      return Promise.reject(
        new InferdError('INF_ERR_UNAVAILABLE', `model '${this.stats.name}' version ${this.stats.version} is unloading`),
      );
    }
    if (request.sequence !== undefined) {
      this.fail(request, 'OTHER');
      return Promise.reject(
        invalidArgument(
          `model '${this.stats.name}' is not stateful (its config has no sequence_batching); remove "sequence_id"`,
        ),
      );
    }
    if (request.signal?.aborted === true) {
      this.fail(request, 'CANCELED');
      return Promise.reject(new InferdError('INF_ERR_CANCELLED', 'request was cancelled by the client'));
    }
    try {
      for (const t of request.inputs) assertStringTensorCarriable(t);
    } catch (err) {
      this.fail(request, 'OTHER');
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    let responseKey: string | undefined;
    const cache = this.options.cache;
    if (cache !== undefined) {
      const t0 = process.hrtime.bigint();
      responseKey = cacheKey(this.stats.name, this.stats.version, request);
      const hit = cache.get(responseKey);
      const lookupNs = Number(process.hrtime.bigint() - t0);
      if (hit !== undefined) {
        this.stats.recordCacheHit(lookupNs);
        const timings = { queueNs: 0, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };
        const requestNs = Number(process.hrtime.bigint() - request.arrivalNs);
        this.stats.recordSuccess({ requestNs, ...timings }, request.batchSize);
        return Promise.resolve({ outputs: [...hit], timings });
      }
      this.stats.recordCacheMiss(lookupNs);
    }
    if (this.queued >= this.options.maxQueueSize) {
      this.fail(request, 'REJECTED');
      return Promise.reject(
        new InferdError(
          'INF_ERR_QUEUE_FULL',
          `queue for model '${this.stats.name}' is full (${this.options.maxQueueSize} requests waiting)`,
          {
            headers: { 'retry-after': '1' },
          },
        ),
      );
    }
    const timeoutUs = request.timeoutUs > 0 ? request.timeoutUs : this.options.defaultTimeoutUs;
    const deadlineNs = timeoutUs > 0 ? request.arrivalNs + BigInt(timeoutUs) * 1000n : undefined;
    const batching = this.options.batching;
    if (batching?.adaptive === true) {
      const now = process.hrtime.bigint();
      this.arrivals.arrived(now);
      const expected = deadlineNs === undefined ? undefined : this.expectedCompletionNs(request, batching);
      if (deadlineNs !== undefined && expected !== undefined && now + BigInt(Math.round(expected)) > deadlineNs) {
        this.fail(request, 'REJECTED');
        return Promise.reject(
          new InferdError(
            'INF_ERR_DEADLINE_EXCEEDED',
            `request refused: it would need about ${Math.round(expected / 1000)} µs, more than its ${timeoutUs} µs timeout allows`,
          ),
        );
      }
    }
    return new Promise<InferResult>((resolve, reject) => {
      const item: Queued = {
        request,
        deadlineNs,
        key: this.options.batching === undefined ? '' : batchKey(request),
        cacheKey: responseKey,
        enqueuedNs: process.hrtime.bigint(),
        resolve,
        reject,
        onAbort: undefined,
        timer: undefined,
        done: false,
      };
      watchWhileQueued(item, deadlineNs, this.options.defaultTimeoutUs, (i, err, reason) =>
        this.removeQueued(i, err, reason),
      );
      const level = request.priority === 0 ? (this.options.defaultPriorityLevel ?? 1) : request.priority;
      let q = this.queues.get(level);
      if (q === undefined) {
        q = [];
        this.queues.set(level, q);
      }
      q.push(item);
      this.queued++;
      this.queuedRows += request.batchSize;
      this.stats.pendingChanged(1);
      this.dispatch();
    });
  }

  /** Refuses new work and resolves once everything queued or running has finished. */
  drain(): Promise<void> {
    this.draining = true;
    // A batch waiting for company goes now: nothing more will join it.
    if (this.delayTimer !== undefined) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    if (this.options.batching !== undefined)
      this.options = { ...this.options, batching: { ...this.options.batching, maxQueueDelayUs: 0 } };
    this.dispatch();
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Levels present, highest priority (lowest number) first. */
  private levels(): number[] {
    return [...this.queues.keys()].sort((a, b) => a - b);
  }

  private take(item: Queued): void {
    for (const [level, q] of this.queues) {
      const i = q.indexOf(item);
      if (i >= 0) {
        q.splice(i, 1);
        if (q.length === 0) this.queues.delete(level);
        this.queued--;
        this.queuedRows -= item.request.batchSize;
        return;
      }
    }
  }

  private next(): Queued | undefined {
    for (const level of this.levels()) {
      const item = this.queues.get(level)?.[0];
      if (item !== undefined) {
        this.take(item);
        return item;
      }
    }
    return undefined;
  }

  /**
   * The head request plus, with dynamic batching, the queued requests that can share its
   * execution (same batch key), in priority then arrival order, up to max_batch_size rows.
   */
  private candidates(batching: BatchingOptions): { items: Queued[]; rows: number } {
    let head: Queued | undefined;
    const items: Queued[] = [];
    let rows = 0;
    for (const level of this.levels()) {
      for (const item of this.queues.get(level) ?? []) {
        head ??= item;
        if (item.key !== head.key) continue;
        if (rows + item.request.batchSize > batching.maxBatchSize) return { items, rows };
        items.push(item);
        rows += item.request.batchSize;
      }
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

  private wakeIn(ms: number): void {
    if (this.delayTimer !== undefined) return;
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.dispatch();
    }, ms);
    this.delayTimer.unref();
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

  private dispatch(): void {
    const batching = this.options.batching;
    while (this.idle.length > 0 && this.queued > 0) {
      const now = process.hrtime.bigint();
      let items: Queued[];
      if (batching === undefined) {
        const item = this.next();
        if (item === undefined) break;
        items = [item];
      } else {
        const c = this.candidates(batching);
        if (c.items.length === 0) break;
        if (this.shouldWait(batching, c.items, c.rows, now)) break;
        for (const item of c.items) this.take(item);
        items = c.items;
      }
      const live = items.filter((item) => {
        if (item.deadlineNs !== undefined && now > item.deadlineNs) {
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
    if (this.delayTimer !== undefined && this.queued === 0) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    if (this.idle.length === 0 && this.inFlight === 0 && this.queued > 0) {
      // Every instance is gone for good: nothing will ever take these requests.
      let item;
      while ((item = this.next()) !== undefined) {
        this.settleError(
          item,
          new InferdError('INF_ERR_UNAVAILABLE', `model '${this.stats.name}' has no running instance`),
          'OTHER',
        );
      }
    }
    this.checkDrained();
  }

  private execute(items: readonly Queued[], instance: Instance, startNs: bigint): void {
    this.inFlight += items.length;
    for (const item of items) unwatch(item);
    const requests = items.map((i) => i.request);
    const rows = requests.map((r) => r.batchSize);
    const totalRows = rows.reduce((a, b) => a + b, 0);
    let inputs;
    try {
      inputs = mergeInputs(requests);
    } catch (err) {
      this.inFlight -= items.length;
      this.release(instance);
      for (const item of items) this.settleError(item, err instanceof Error ? err : new Error(String(err)), 'OTHER');
      return;
    }
    const first = requests[0];
    instance.run(inputs, first?.outputNames ?? []).then(
      (result) => {
        this.inFlight -= items.length;
        this.release(instance);
        let parts: Tensor[][];
        try {
          parts = items.length === 1 ? [result.outputs] : splitOutputs(result.outputs, rows);
        } catch (err) {
          for (const item of items) this.settleError(item, err as Error, 'BACKEND');
          this.dispatch();
          return;
        }
        this.stats.recordExecution(result.timings, totalRows);
        const t = result.timings;
        this.timeModel.observe(totalRows, t.computeInputNs + t.computeInferNs + t.computeOutputNs);
        const end = process.hrtime.bigint();
        items.forEach((item, i) => {
          item.done = true;
          this.stats.pendingChanged(-1);
          const queueNs = Number(startNs - item.request.arrivalNs);
          const requestNs = Number(end - item.request.arrivalNs);
          this.stats.recordSuccess({ requestNs, queueNs, ...result.timings }, item.request.batchSize);
          const outputs = parts[i] ?? [];
          if (item.cacheKey !== undefined) this.options.cache?.set(item.cacheKey, outputs.map(ownCopy));
          item.resolve({ outputs, timings: { ...result.timings, queueNs } });
        });
        this.dispatch();
      },
      (err: unknown) => {
        this.inFlight -= items.length;
        this.release(instance);
        for (const item of items)
          this.settleError(item, err instanceof Error ? err : new Error(String(err)), 'BACKEND');
        this.dispatch();
      },
    );
  }

  private release(instance: Instance): void {
    if (instance.alive) this.idle.push(instance);
  }

  private deadlineError(item: Queued): InferdError {
    return queueDeadlineError(item.request, this.options.defaultTimeoutUs);
  }

  /** Cancelled or expired while waiting: taken out of its queue so it never reaches a worker. */
  private removeQueued(item: Queued, err: InferdError, reason: FailureReason): void {
    if (item.done) return;
    this.take(item);
    this.settleError(item, err, reason);
    this.checkDrained();
  }

  private settleError(item: Queued, err: Error, reason: FailureReason): void {
    if (item.done) return;
    item.done = true;
    this.stats.pendingChanged(-1);
    unwatch(item);
    this.fail(item.request, reason);
    item.reject(err);
  }

  private fail(request: InferRequest, reason: FailureReason): void {
    this.stats.recordFailure(Number(process.hrtime.bigint() - request.arrivalNs), reason);
  }

  private checkDrained(): void {
    if (this.draining && this.pending === 0) {
      for (const w of this.drainWaiters) w();
      this.drainWaiters = [];
    }
  }

  get instanceCount(): number {
    return this.instances.length;
  }
}

/** A cached output must not keep a whole batched output alive, nor share memory with a response. */
function ownCopy(t: Tensor): Tensor {
  const data =
    t.datatype === 'BYTES' ? (t.data as Uint8Array[]).map((e) => e.slice()) : (t.data as Float32Array).slice();
  // The copy has the same array type as the original, so the tensor stays well typed.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  return { ...t, data } as Tensor;
}
