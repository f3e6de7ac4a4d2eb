// The one place requests wait for a model version: a bounded queue in front of the version's
// instances. Requests run one per free instance, in priority then arrival order; a full queue
// is refused at once, and expired or cancelled requests are dropped before they reach a worker.

import { InferdError } from '../errors/index.js';
import { assertStringTensorCarriable, type Instance } from '../runtime/index.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { FailureReason } from '../observability/metrics.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SchedulerOptions {
  readonly maxQueueSize: number;
  readonly defaultTimeoutUs: number;
  /** Level for requests with priority 0 (none given); 1 is the highest. */
  readonly defaultPriorityLevel?: number;
}

interface Queued {
  readonly request: InferRequest;
  readonly deadlineNs: bigint | undefined;
  resolve(result: InferResult): void;
  reject(err: Error): void;
  onAbort: (() => void) | undefined;
  /** Fires at the deadline, so a request expires while it waits, not only when an instance frees. */
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

export class DirectScheduler {
  private readonly idle: Instance[];
  /** One FIFO per priority level present; lower number first. */
  private readonly queues = new Map<number, Queued[]>();
  private queued = 0;
  private inFlight = 0;
  private draining = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly instances: readonly Instance[],
    private readonly stats: ModelStats,
    private readonly options: SchedulerOptions,
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
    return new Promise<InferResult>((resolve, reject) => {
      const item: Queued = { request, deadlineNs, resolve, reject, onAbort: undefined, timer: undefined, done: false };
      const ms = deadlineNs === undefined ? Infinity : Math.max(0, Number(deadlineNs - process.hrtime.bigint()) / 1e6);
      // Node clamps delays past 2^31-1 ms (about 24 days) to 1 ms; such deadlines are left to dispatch.
      if (ms <= MAX_TIMER_MS) {
        item.timer = setTimeout(() => this.removeQueued(item, this.deadlineError(item), 'REJECTED'), ms);
        item.timer.unref();
      }
      if (request.signal !== undefined) {
        item.onAbort = () =>
          this.removeQueued(
            item,
            new InferdError('INF_ERR_CANCELLED', 'request was cancelled by the client'),
            'CANCELED',
          );
        request.signal.addEventListener('abort', item.onAbort, { once: true });
      }
      const level = request.priority === 0 ? (this.options.defaultPriorityLevel ?? 1) : request.priority;
      let q = this.queues.get(level);
      if (q === undefined) {
        q = [];
        this.queues.set(level, q);
      }
      q.push(item);
      this.queued++;
      this.stats.pendingChanged(1);
      this.dispatch();
    });
  }

  /** Refuses new work and resolves once everything queued or running has finished. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private next(): Queued | undefined {
    if (this.queued === 0) return undefined;
    const levels = [...this.queues.keys()].sort((a, b) => a - b);
    for (const level of levels) {
      const q = this.queues.get(level);
      if (q === undefined) continue;
      const item = q.shift();
      if (q.length === 0) this.queues.delete(level);
      if (item !== undefined) {
        this.queued--;
        return item;
      }
    }
    return undefined;
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queued > 0) {
      const item = this.next();
      if (item === undefined) break;
      const now = process.hrtime.bigint();
      if (item.deadlineNs !== undefined && now > item.deadlineNs) {
        this.settleError(item, this.deadlineError(item), 'REJECTED');
        continue;
      }
      const instance = this.idle.pop();
      if (instance === undefined) break;
      this.execute(item, instance, Number(now - item.request.arrivalNs));
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

  private execute(item: Queued, instance: Instance, queueNs: number): void {
    this.inFlight++;
    this.detach(item);
    instance.run(item.request.inputs, item.request.outputNames).then(
      (result) => {
        this.inFlight--;
        this.release(instance);
        item.done = true;
        this.stats.pendingChanged(-1);
        const requestNs = Number(process.hrtime.bigint() - item.request.arrivalNs);
        this.stats.recordSuccess({ requestNs, queueNs, ...result.timings }, item.request.batchSize);
        item.resolve({ outputs: result.outputs, timings: { ...result.timings, queueNs } });
        this.dispatch();
      },
      (err: unknown) => {
        this.inFlight--;
        this.release(instance);
        this.settleError(item, err instanceof Error ? err : new Error(String(err)), 'BACKEND');
        this.dispatch();
      },
    );
  }

  private release(instance: Instance): void {
    if (instance.alive) this.idle.push(instance);
  }

  private deadlineError(item: Queued): InferdError {
    const us = item.request.timeoutUs || this.options.defaultTimeoutUs;
    return new InferdError(
      'INF_ERR_DEADLINE_EXCEEDED',
      `request timed out: its ${us} µs timeout passed while it waited in the queue`,
    );
  }

  /** Stops listening for cancellation and the deadline once a request leaves the queue. */
  private detach(item: Queued): void {
    if (item.onAbort !== undefined) item.request.signal?.removeEventListener('abort', item.onAbort);
    if (item.timer !== undefined) clearTimeout(item.timer);
  }

  /** Cancelled or expired while waiting: taken out of its queue so it never reaches a worker. */
  private removeQueued(item: Queued, err: InferdError, reason: FailureReason): void {
    if (item.done) return;
    this.queued--;
    for (const [level, q] of this.queues) {
      const i = q.indexOf(item);
      if (i >= 0) {
        q.splice(i, 1);
        if (q.length === 0) this.queues.delete(level);
        break;
      }
    }
    this.settleError(item, err, reason);
    this.checkDrained();
  }

  private settleError(item: Queued, err: Error, reason: FailureReason): void {
    if (item.done) return;
    item.done = true;
    this.stats.pendingChanged(-1);
    this.detach(item);
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
