// What every scheduler does, whatever it batches: admission (unloading, cancelled, full queue),
// a deadline timer and a cancel listener per waiting request, pending-request accounting and
// statistics, settling results and failures, the free-instance list, the queue-delay wake-up,
// drain, and the sweep that fails waiting work once no instance is left. The dynamic batcher and
// the sequence batcher stand on it and decide only what waits where and what runs together.

import { InferdError } from '../errors/index.js';
import { assertStringTensorCarriable, type Instance } from '../runtime/index.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { FailureReason } from '../observability/metrics.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import type { Tensor } from '../tensor/tensor.js';
import type { RunTimings } from '../runtime/worker-messages.js';
import { MAX_TIMER_MS, systemClock, type Clock } from './clock.js';
import type { Scheduler, SchedulerLoad } from './scheduler.js';

export type TimeoutOverride = 'replace' | 'shorten' | 'none';

export interface SchedulerBaseOptions {
  /** Requests that may wait; more are refused at once with 429. */
  readonly maxQueueSize: number;
  /** Timeout for requests that give none; 0 = none. */
  readonly defaultTimeoutUs: number;
  /**
   * How a request's own timeout combines with the default: 'replace' (inferd's default: it
   * replaces it), 'shorten' (Triton's allow_timeout_override: true; it applies only when shorter
   * than a default that is set) or 'none' (Triton's false: only the default applies).
   */
  readonly timeoutOverride?: TimeoutOverride;
  /** The time source (tests pass one driven by mock timers). */
  readonly clock?: Clock;
}

/** A request from admission until it is answered. */
export interface Waiting {
  readonly request: InferRequest;
  readonly deadlineNs: bigint | undefined;
  readonly enqueuedNs: bigint;
  resolve(result: InferResult): void;
  reject(err: Error): void;
  onAbort: (() => void) | undefined;
  /** Fires at the deadline, so a request expires while it waits, not only when an instance frees. */
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

/** The fields a scheduler adds to a waiting request. */
export type WaitingExtra<W extends Waiting> = Omit<W, keyof Waiting>;

export abstract class SchedulerBase<W extends Waiting> implements Scheduler {
  /** Indices of instances free to run. */
  protected readonly idle: number[];
  protected readonly clock: Clock;
  /** Requests waiting (admitted, not yet running). */
  protected queued = 0;
  protected inFlight = 0;
  protected draining = false;
  private drainWaiters: (() => void)[] = [];
  /**
   * Whether a request that expires or is cancelled while waiting triggers a dispatch (it may
   * unblock the requests behind it, as in a sequence).
   */
  protected readonly dispatchAfterRemoval: boolean = false;
  /** Wakes dispatch when a waiting batch's queue delay runs out. */
  private delayTimer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly instances: readonly Instance[],
    protected readonly stats: ModelStats,
    private readonly limits: SchedulerBaseOptions,
  ) {
    this.idle = instances.map((_, i) => i);
    this.clock = limits.clock ?? systemClock;
  }

  /** Requests queued or executing. */
  get pending(): number {
    return this.queued + this.inFlight;
  }

  get instanceCount(): number {
    return this.instances.length;
  }

  load(): SchedulerLoad {
    return {
      queued: this.queued,
      queueCapacity: this.limits.maxQueueSize,
      busyInstances: this.instances.length - this.idle.length,
      instances: this.instances.length,
    };
  }

  abstract infer(request: InferRequest): Promise<InferResult>;

  /** Starts what can run now on free instances. */
  protected abstract dispatch(): void;

  /** Takes a waiting request out of wherever it waits; false when it is not there. */
  protected abstract unqueue(item: W): boolean;

  /** Every waiting request, for the sweep when no instance is left. */
  protected abstract waitingItems(): Iterable<W>;

  /** Refuses new requests and resolves once everything queued or running has finished. */
  drain(): Promise<void> {
    this.draining = true;
    // A batch waiting for company goes now: nothing more will join it.
    this.cancelWake();
    this.onDrain();
    this.dispatch();
    if (this.pending === 0) {
      this.checkDrained();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** What a scheduler lets go of when draining begins. */
  protected onDrain(): void {}

  /** What a scheduler releases once drained (timers of its own). */
  protected onDrained(): void {}

  // ---- admission -------------------------------------------------------------------------

  protected unloadingError(): InferdError {
    return new InferdError(
      'INF_ERR_UNAVAILABLE',
      `model '${this.stats.name}' version ${this.stats.version} is unloading`,
    );
  }

  protected cancelledError(): InferdError {
    return new InferdError('INF_ERR_CANCELLED', 'request was cancelled by the client');
  }

  protected queueFullError(): InferdError {
    return new InferdError(
      'INF_ERR_QUEUE_FULL',
      `queue for model '${this.stats.name}' is full (${this.limits.maxQueueSize} requests waiting)`,
      { headers: { 'retry-after': '1' } },
    );
  }

  protected get queueFull(): boolean {
    return this.queued >= this.limits.maxQueueSize;
  }

  /** BYTES inputs that cannot cross to onnxruntime unchanged are refused before queueing. */
  protected checkCarriable(request: InferRequest): void {
    for (const t of request.inputs) assertStringTensorCarriable(t);
  }

  /** Records the failure (when a reason is given) and rejects with the error. */
  protected refuse(request: InferRequest, err: unknown, reason: FailureReason | undefined): Promise<never> {
    if (reason !== undefined) this.recordFailure(request, reason);
    return Promise.reject(asError(err));
  }

  protected timeoutUsOf(request: InferRequest): number {
    const own = request.timeoutUs;
    const fallback = this.limits.defaultTimeoutUs;
    switch (this.limits.timeoutOverride ?? 'replace') {
      case 'replace':
        return own > 0 ? own : fallback;
      case 'shorten':
        // Triton's PriorityQueue::PolicyQueue::Enqueue: a default of 0 (none) is not shortened.
        return own > 0 && own < fallback ? own : fallback;
      case 'none':
        return fallback;
    }
  }

  protected deadlineOf(request: InferRequest): bigint | undefined {
    const timeoutUs = this.timeoutUsOf(request);
    return timeoutUs > 0 ? request.arrivalNs + BigInt(timeoutUs) * 1000n : undefined;
  }

  /**
   * Admits a request: builds its waiting record, arms its deadline and cancel listener, lets the
   * scheduler place it, counts it and dispatches.
   */
  protected wait(
    request: InferRequest,
    deadlineNs: bigint | undefined,
    extra: WaitingExtra<W>,
    place: (item: W) => void,
  ): Promise<InferResult> {
    return new Promise<InferResult>((resolve, reject) => {
      const base: Waiting = {
        request,
        deadlineNs,
        enqueuedNs: this.clock.nowNs(),
        resolve,
        reject,
        onAbort: undefined,
        timer: undefined,
        done: false,
      };
      // W is Waiting plus exactly the fields of WaitingExtra<W>.
      const item = Object.assign(base, extra) as W;
      this.watch(item);
      place(item);
      this.queued++;
      this.stats.pendingChanged(1);
      this.dispatch();
    });
  }

  // ---- deadlines and cancellation while waiting ---------------------------------------------

  /** Deadlines beyond the timer range are left to dispatch, which checks them too. */
  private watch(item: W): void {
    const deadline = item.deadlineNs;
    const ms = deadline === undefined ? Infinity : Math.max(0, Number(deadline - this.clock.nowNs()) / 1e6);
    if (ms <= MAX_TIMER_MS) {
      item.timer = setTimeout(
        () => this.removeQueued(item, this.deadlineError(item), 'REJECTED', this.dispatchAfterRemoval),
        ms,
      );
      item.timer.unref();
    }
    const signal = item.request.signal;
    if (signal !== undefined) {
      item.onAbort = () => this.removeQueued(item, this.cancelledError(), 'CANCELED', this.dispatchAfterRemoval);
      signal.addEventListener('abort', item.onAbort, { once: true });
    }
  }

  /** Stops listening for cancellation and the deadline once a request leaves the queue. */
  protected unwatch(item: W): void {
    if (item.onAbort !== undefined) item.request.signal?.removeEventListener('abort', item.onAbort);
    if (item.timer !== undefined) clearTimeout(item.timer);
  }

  protected deadlineError(item: W): InferdError {
    return new InferdError(
      'INF_ERR_DEADLINE_EXCEEDED',
      `request timed out: its ${this.timeoutUsOf(item.request)} µs timeout passed while it waited in the queue`,
    );
  }

  protected expired(item: W, now: bigint): boolean {
    return item.deadlineNs !== undefined && now > item.deadlineNs;
  }

  /**
   * Cancelled or expired while waiting: taken out of its queue so it never reaches a worker.
   * `redispatch` starts what the removal unblocked; otherwise only a finished drain is noticed.
   */
  protected removeQueued(item: W, err: InferdError, reason: FailureReason, redispatch = false): void {
    if (item.done || !this.unqueue(item)) return;
    this.queued--;
    this.settleError(item, err, reason);
    this.onUnqueued(item);
    if (redispatch) this.dispatch();
    else this.checkDrained();
  }

  /** What a scheduler does after one of its waiting requests was removed. */
  protected onUnqueued(_item: W): void {}

  // ---- execution ------------------------------------------------------------------------------

  /** A taken request starts running: no more deadline or cancel while it runs. */
  protected started(item: W): void {
    this.unwatch(item);
    this.inFlight++;
  }

  /** An execution of `count` requests ended: its instance is free again if it still runs. */
  protected finished(count: number, instanceIndex: number): void {
    this.inFlight -= count;
    if (this.instances[instanceIndex]?.alive === true) this.idle.push(instanceIndex);
  }

  protected settleSuccess(item: W, outputs: Tensor[], timings: RunTimings, startNs: bigint, endNs: bigint): void {
    item.done = true;
    this.stats.pendingChanged(-1);
    const queueNs = Number(startNs - item.request.arrivalNs);
    const requestNs = Number(endNs - item.request.arrivalNs);
    this.stats.recordSuccess({ requestNs, queueNs, ...timings }, item.request.batchSize);
    item.resolve({ outputs, timings: { ...timings, queueNs } });
  }

  protected settleError(item: W, err: unknown, reason: FailureReason): void {
    if (item.done) return;
    item.done = true;
    this.stats.pendingChanged(-1);
    this.unwatch(item);
    this.recordFailure(item.request, reason);
    item.reject(asError(err));
  }

  protected recordFailure(request: InferRequest, reason: FailureReason): void {
    this.stats.recordFailure(Number(this.clock.nowNs() - request.arrivalNs), reason);
  }

  // ---- the end of a dispatch --------------------------------------------------------------------

  /**
   * Every dispatch ends here: the queue-delay wake-up goes when nothing waits; when every
   * instance is gone for good, nothing will ever take the waiting requests, so they fail now.
   */
  protected afterDispatch(): void {
    if (this.queued === 0) this.cancelWake();
    if (this.idle.length === 0 && this.inFlight === 0 && this.queued > 0) {
      const gone = new InferdError('INF_ERR_UNAVAILABLE', `model '${this.stats.name}' has no running instance`);
      for (const item of [...this.waitingItems()]) this.removeQueued(item, gone, 'OTHER');
    }
    this.checkDrained();
  }

  /** Dispatch again in `ms` (once: a wake-up already armed stands). */
  protected wakeIn(ms: number): void {
    if (this.delayTimer !== undefined) return;
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.dispatch();
    }, ms);
    this.delayTimer.unref();
  }

  private cancelWake(): void {
    if (this.delayTimer !== undefined) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
  }

  protected checkDrained(): void {
    if (!this.draining || this.pending !== 0) return;
    this.onDrained();
    for (const w of this.drainWaiters) w();
    this.drainWaiters = [];
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
