// The sequence batcher for stateful models (config `sequence_batching`), after Triton's: a request
// names its sequence (`sequence_id`, `sequence_start`, `sequence_end`); a sequence is bound at
// START to a slot and its requests run in order, one at a time, each carrying the sequence's state
// (kept here, on the main thread) and the control values the model asks for. Sequences beyond the
// slots wait in a backlog; idle sequences are freed after max_sequence_idle_microseconds.
//
// Strategies: `oldest` (the default) batches the next requests of the ready sequences, oldest
// first, on any free instance; `direct` pins each slot to one instance and batch row, running idle
// rows with READY false and zero inputs.

import { InferdError, invalidArgument } from '../errors/index.js';
import { assertStringTensorCarriable, type Instance } from '../runtime/index.js';
import type { ModelStats } from '../observability/model-stats.js';
import type { FailureReason } from '../observability/metrics.js';
import type { InferRequest, InferResult } from '../core/infer-request.js';
import { sequenceIdText } from '../core/request-parameters.js';
import type { ResolvedSequenceBatching } from '../config/resolved-model-config.js';
import type { Tensor } from '../tensor/tensor.js';
import { batchKey } from './batch-formation.js';
import { assembleInputs, rowOutputs, zeroStates, type SequenceRow } from './sequence-tensors.js';
import { checkIdForCorrid, RecentlyEnded, sequenceKey, type EndedReason } from './sequence-ids.js';
import { SequenceSlots, type Slot } from './sequence-slots.js';
import type { Scheduler } from './scheduler.js';
import { MAX_TIMER_MS, queueDeadlineError, unwatch, watchWhileQueued } from './queue-watch.js';

export interface SequenceBatcherOptions {
  readonly spec: ResolvedSequenceBatching;
  /** The model's max_batch_size: rows per execution (0: no batch dimension, one request per run). */
  readonly maxBatchSize: number;
  /**
   * Requests that may wait, in sequences' queues and the backlog together; more get 429 (except a
   * first waiting request of a sequence that holds a slot).
   */
  readonly maxQueueSize: number;
  readonly defaultTimeoutUs: number;
}

interface Sequence {
  readonly key: string;
  readonly id: bigint | string;
  slot: Slot | undefined;
  readonly queue: Pending[];
  running: boolean;
  /** The state after the last request; undefined = the initial state. */
  states: Tensor[] | undefined;
  /** The latest request carried `sequence_end`: the slot is freed once nothing is left to run. */
  endRequested: boolean;
  /** When the sequence last had nothing queued or running. */
  idleSinceNs: bigint;
}

interface Pending {
  readonly request: InferRequest;
  readonly sequence: Sequence;
  readonly deadlineNs: bigint | undefined;
  /** Requests with equal keys can share an execution. */
  readonly key: string;
  readonly enqueuedNs: bigint;
  /** Runs from the initial state with START true (a dropped START passes this on to the next request). */
  start: boolean;
  readonly end: boolean;
  resolve(result: InferResult): void;
  reject(err: Error): void;
  onAbort: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

export class SequenceBatcher implements Scheduler {
  private readonly spec: ResolvedSequenceBatching;
  private readonly rowsPerRun: number;
  /** Active and backlogged sequences by key. */
  private readonly sequences = new Map<string, Sequence>();
  private readonly slots: SequenceSlots<Sequence>;
  private readonly idle: number[];
  private readonly recentlyEnded = new RecentlyEnded();
  private readonly idleNs: bigint;
  private queued = 0;
  private inFlight = 0;
  private draining = false;
  private drainWaiters: (() => void)[] = [];
  private delayTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly instances: readonly Instance[],
    private readonly stats: ModelStats,
    private readonly options: SequenceBatcherOptions,
  ) {
    this.spec = options.spec;
    this.rowsPerRun = Math.max(1, options.maxBatchSize);
    this.idle = instances.map((_, i) => i);
    this.idleNs = BigInt(this.spec.maxSequenceIdleMicroseconds) * 1000n;
    this.slots = new SequenceSlots(this.spec.strategy, instances.length, this.rowsPerRun);
  }

  /** Requests queued or executing. */
  get pending(): number {
    return this.queued + this.inFlight;
  }

  /** Sequences holding a slot. */
  get activeSequences(): number {
    return this.slots.active;
  }

  /** Sequences waiting for a slot. */
  get backlogSequences(): number {
    return this.slots.waiting;
  }

  infer(request: InferRequest): Promise<InferResult> {
    if (this.draining) {
      return Promise.reject(
        new InferdError('INF_ERR_UNAVAILABLE', `model '${this.stats.name}' version ${this.stats.version} is unloading`),
      );
    }
    const control = request.sequence;
    let sequence: Sequence | undefined;
    try {
      if (control === undefined) {
        throw invalidArgument(
          `model '${this.stats.name}' is stateful (sequence_batching): every request needs a "sequence_id", and a sequence's first request "sequence_start": true`,
        );
      }
      if (request.signal?.aborted === true) {
        this.fail(request, 'CANCELED');
        return Promise.reject(new InferdError('INF_ERR_CANCELLED', 'request was cancelled by the client'));
      }
      if (this.options.maxBatchSize > 0 && request.batchSize !== 1) {
        throw invalidArgument(
          `a request of a sequence holds one batch row; sequence ${sequenceIdText(control.id)} sent batch size ${request.batchSize}`,
        );
      }
      checkIdForCorrid(
        control.id,
        this.spec.controls.find((c) => c.kind === 'CORRID'),
      );
      for (const t of request.inputs) assertStringTensorCarriable(t);
      const key = sequenceKey(control.id);
      sequence = this.sequences.get(key);
      if (!control.start) {
        if (sequence === undefined) throw this.inactiveError(control.id, this.recentlyEnded.reason(key));
        if (sequence.endRequested) throw this.inactiveError(control.id, 'ended');
      }
    } catch (err) {
      this.fail(request, 'OTHER');
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // A sequence holding a slot may always queue one request, so a full backlog never locks out
    // the requests that would end the running sequences and free their slots.
    const exempt = sequence?.slot !== undefined && sequence.queue.length === 0;
    if (this.queued >= this.options.maxQueueSize && !exempt) {
      this.fail(request, 'REJECTED');
      return Promise.reject(
        new InferdError(
          'INF_ERR_QUEUE_FULL',
          `queue for model '${this.stats.name}' is full (${this.options.maxQueueSize} requests waiting)`,
          { headers: { 'retry-after': '1' } },
        ),
      );
    }
    if (sequence === undefined) sequence = this.open(control.id);
    // START on an active id restarts it: the request runs after those already queued, from the
    // initial state; the sequence keeps its slot.
    if (control.start) sequence.endRequested = false;
    if (control.end) sequence.endRequested = true;
    return this.enqueue(sequence, request, control.start, control.end);
  }

  /** Refuses new requests, frees idle sequences and resolves once everything queued has run. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.delayTimer !== undefined) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    // No request can arrive any more: idle sequences give their slots to the backlog now.
    for (const [, s] of [...this.slots.seated()]) if (this.isIdle(s)) this.free(s, 'expired');
    this.dispatch();
    if (this.pending === 0) {
      this.checkDrained();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private inactiveError(id: bigint | string, reason: EndedReason | undefined): InferdError {
    const text = `sequence ${sequenceIdText(id)} of model '${this.stats.name}'`;
    const again = 'start it again with "sequence_start": true';
    if (reason === 'expired') {
      return invalidArgument(
        `${text} expired: it had no request for ${this.spec.maxSequenceIdleMicroseconds} µs (max_sequence_idle_microseconds); ${again}`,
      );
    }
    if (reason === 'ended') return invalidArgument(`${text} has ended (a request with "sequence_end": true); ${again}`);
    return invalidArgument(`${text} is unknown: its first request must have "sequence_start": true`);
  }

  private open(id: bigint | string): Sequence {
    const key = sequenceKey(id);
    const sequence: Sequence = {
      key,
      id,
      slot: undefined,
      queue: [],
      running: false,
      states: undefined,
      endRequested: false,
      idleSinceNs: process.hrtime.bigint(),
    };
    this.sequences.set(key, sequence);
    this.recentlyEnded.forget(key);
    this.slots.admit(sequence);
    return sequence;
  }

  /**
   * Ends a sequence: its slot goes to the oldest backlogged sequence, its id is remembered (unless
   * it never started: undefined reason).
   */
  private free(sequence: Sequence, reason: EndedReason | undefined): void {
    this.sequences.delete(sequence.key);
    if (reason !== undefined) this.recentlyEnded.remember(sequence.key, reason);
    sequence.states = undefined;
    this.slots.remove(sequence);
  }

  private isIdle(sequence: Sequence): boolean {
    return sequence.queue.length === 0 && !sequence.running;
  }

  private enqueue(sequence: Sequence, request: InferRequest, start: boolean, end: boolean): Promise<InferResult> {
    const timeoutUs = request.timeoutUs > 0 ? request.timeoutUs : this.options.defaultTimeoutUs;
    const deadlineNs = timeoutUs > 0 ? request.arrivalNs + BigInt(timeoutUs) * 1000n : undefined;
    return new Promise<InferResult>((resolve, reject) => {
      const item: Pending = {
        request,
        sequence,
        deadlineNs,
        key: this.options.maxBatchSize > 0 ? batchKey(request) : '',
        enqueuedNs: process.hrtime.bigint(),
        start,
        end,
        resolve,
        reject,
        onAbort: undefined,
        timer: undefined,
        done: false,
      };
      watchWhileQueued(item, deadlineNs, this.options.defaultTimeoutUs, (i, err, reason) =>
        this.removeQueued(i, err, reason),
      );
      sequence.queue.push(item);
      this.queued++;
      this.stats.pendingChanged(1);
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.spec.strategy.kind === 'direct') {
      for (const instance of [...this.idle])
        this.dispatchDirect(instance, this.spec.strategy.maxQueueDelayMicroseconds);
    } else {
      while (this.idle.length > 0 && this.dispatchOldest()) {
        // Each pass starts one execution.
      }
    }
    if (this.delayTimer !== undefined && this.queued === 0) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    if (this.idle.length === 0 && this.inFlight === 0 && this.queued > 0) {
      // Every instance is gone for good: nothing will ever run these requests.
      for (const sequence of [...this.sequences.values()]) {
        for (const item of [...sequence.queue]) {
          this.removeQueued(
            item,
            new InferdError('INF_ERR_UNAVAILABLE', `model '${this.stats.name}' has no running instance`),
            'OTHER',
            false,
          );
        }
      }
    }
    this.checkDrained();
  }

  /** The head request of a sequence that may run now, dropping heads whose deadline has passed. */
  private readyHead(sequence: Sequence, now: bigint): Pending | undefined {
    if (sequence.running) return undefined;
    let head = sequence.queue[0];
    while (head !== undefined && head.deadlineNs !== undefined && now > head.deadlineNs) {
      this.removeQueued(head, this.deadlineError(head), 'REJECTED', false);
      head = sequence.queue[0];
    }
    return head;
  }

  /** Oldest strategy: the oldest ready heads with the same batch key, up to max_batch_size rows. */
  private dispatchOldest(): boolean {
    const strategy = this.spec.strategy;
    if (strategy.kind !== 'oldest') return false;
    const now = process.hrtime.bigint();
    const ready: Pending[] = [];
    let waiting = 0;
    for (const [, sequence] of this.slots.seated()) {
      if (!sequence.running) waiting++;
      const head = this.readyHead(sequence, now);
      if (head !== undefined) ready.push(head);
    }
    if (ready.length === 0) return false;
    ready.sort((a, b) => (a.enqueuedNs < b.enqueuedNs ? -1 : a.enqueuedNs > b.enqueuedNs ? 1 : 0));
    const first = ready[0];
    if (first === undefined) return false;
    const chosen = ready.filter((p) => p.key === first.key).slice(0, this.rowsPerRun);
    const target = Math.min(this.rowsPerRun, waiting);
    if (
      !strategy.preferredBatchSizes.includes(chosen.length) &&
      this.shouldWait(chosen.length, target, first.enqueuedNs, strategy.maxQueueDelayMicroseconds, now)
    ) {
      return false;
    }
    const instance = this.idle.pop();
    if (instance === undefined) return false;
    this.execute(instance, chosen);
    return true;
  }

  /** Direct strategy: the instance runs its own slots' ready heads, each in its slot's row. */
  private dispatchDirect(instance: number, maxQueueDelayUs: number): void {
    const now = process.hrtime.bigint();
    const ready: Pending[] = [];
    let occupied = 0;
    for (const [slot, sequence] of this.slots.seated()) {
      if (slot.instance !== instance) continue;
      occupied++;
      const head = this.readyHead(sequence, now);
      if (head !== undefined) ready.push(head);
    }
    if (ready.length === 0) return;
    const oldest = ready.reduce((a, b) => (b.enqueuedNs < a.enqueuedNs ? b : a));
    const chosen = ready.filter((p) => p.key === oldest.key);
    if (this.shouldWait(chosen.length, occupied, oldest.enqueuedNs, maxQueueDelayUs, now)) return;
    const rows: (Pending | undefined)[] = [];
    for (const p of chosen) rows[p.sequence.slot?.row ?? 0] = p;
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    this.execute(instance, Array.from(rows));
  }

  /** A batch short of its target waits, up to the queue delay of its oldest request, for more. */
  private shouldWait(rows: number, target: number, oldestNs: bigint, delayUs: number, now: bigint): boolean {
    if (this.draining || rows >= target || delayUs <= 0) return false;
    const leftNs = delayUs * 1000 - Number(now - oldestNs);
    if (leftNs <= 0) return false;
    if (this.delayTimer === undefined) {
      this.delayTimer = setTimeout(() => {
        this.delayTimer = undefined;
        this.dispatch();
      }, leftNs / 1e6);
      this.delayTimer.unref();
    }
    return true;
  }

  private execute(instanceIndex: number, items: readonly (Pending | undefined)[]): void {
    const instance = this.instances[instanceIndex];
    const running = items.filter((p): p is Pending => p !== undefined);
    const startNs = process.hrtime.bigint();
    for (const item of running) {
      item.sequence.queue.shift();
      item.sequence.running = true;
      unwatch(item);
      this.queued--;
      this.inFlight++;
    }
    const finish = (): void => {
      this.inFlight -= running.length;
      if (instance?.alive === true) this.idle.push(instanceIndex);
    };
    let inputs: Tensor[];
    try {
      if (instance === undefined) throw new InferdError('INF_ERR_INTERNAL', `no instance ${instanceIndex}`);
      inputs = assembleInputs(
        this.spec,
        this.options.maxBatchSize,
        items.map((p) => this.rowOf(p)),
      );
    } catch (err) {
      finish();
      for (const item of running) this.settleRun(item, err, 'OTHER');
      this.dispatch();
      return;
    }
    const first = running[0];
    const outputNames = [...(first?.request.outputNames ?? [])];
    for (const s of this.spec.states) if (!outputNames.includes(s.outputName)) outputNames.push(s.outputName);
    instance.run(inputs, outputNames).then(
      (result) => {
        finish();
        this.stats.recordExecution(result.timings, running.length);
        const end = process.hrtime.bigint();
        items.forEach((item, row) => {
          if (item === undefined) return;
          let outputs: Tensor[];
          try {
            const part = rowOutputs(this.spec, this.options.maxBatchSize, result.outputs, items.length, row);
            item.sequence.states = part.states;
            outputs = part.outputs;
          } catch (err) {
            this.settleRun(item, err, 'BACKEND');
            return;
          }
          item.done = true;
          this.stats.pendingChanged(-1);
          const queueNs = Number(startNs - item.request.arrivalNs);
          const requestNs = Number(end - item.request.arrivalNs);
          this.stats.recordSuccess({ requestNs, queueNs, ...result.timings }, item.request.batchSize);
          item.resolve({ outputs, timings: { ...result.timings, queueNs } });
          this.ran(item.sequence);
        });
        this.dispatch();
      },
      (err: unknown) => {
        finish();
        for (const item of running) this.settleRun(item, err, 'BACKEND');
        this.dispatch();
      },
    );
  }

  private rowOf(item: Pending | undefined): SequenceRow | undefined {
    if (item === undefined) return undefined;
    const sequence = item.sequence;
    const states = item.start || sequence.states === undefined ? zeroStates(this.spec) : sequence.states;
    return { request: item.request, start: item.start, end: item.end, states };
  }

  /** A request that reached an instance failed: the sequence keeps the state it had before it. */
  private settleRun(item: Pending, err: unknown, reason: FailureReason): void {
    if (item.start) item.sequence.states = undefined;
    this.settleError(item, err instanceof Error ? err : new Error(String(err)), reason);
    this.ran(item.sequence);
  }

  /** After a sequence's request finished: free it after END, or start counting its idle time. */
  private ran(sequence: Sequence): void {
    sequence.running = false;
    this.settled(sequence);
  }

  /** The sequence has nothing running: free it if it ended (or the model is draining), else watch its idleness. */
  private settled(sequence: Sequence): void {
    if (!this.isIdle(sequence) || this.sequences.get(sequence.key) !== sequence) return;
    if (sequence.slot === undefined) {
      // Every request of a backlogged sequence was dropped: it never started.
      this.free(sequence, undefined);
      return;
    }
    if (sequence.endRequested) this.free(sequence, 'ended');
    else if (this.draining) this.free(sequence, 'expired');
    else {
      sequence.idleSinceNs = process.hrtime.bigint();
      this.armIdleTimer(sequence.idleSinceNs + this.idleNs);
    }
  }

  /** One timer for the earliest idle deadline; when it fires every overdue sequence is freed. */
  private armIdleTimer(atNs: bigint): void {
    if (this.idleTimer !== undefined) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, Number(atNs - process.hrtime.bigint()) / 1e6));
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.expireIdle();
    }, ms);
    this.idleTimer.unref();
  }

  private expireIdle(): void {
    const now = process.hrtime.bigint();
    let next: bigint | undefined;
    for (const [, sequence] of [...this.slots.seated()]) {
      if (!this.isIdle(sequence)) continue;
      const due = sequence.idleSinceNs + this.idleNs;
      if (due <= now) this.free(sequence, 'expired');
      else if (next === undefined || due < next) next = due;
    }
    if (next !== undefined) this.armIdleTimer(next);
    this.dispatch();
  }

  private deadlineError(item: Pending): InferdError {
    return queueDeadlineError(item.request, this.options.defaultTimeoutUs);
  }

  /**
   * Cancelled or expired while waiting: taken out of its sequence's queue so it never runs. A
   * dropped START passes its reset on to the sequence's next request.
   */
  private removeQueued(item: Pending, err: InferdError, reason: FailureReason, redispatch = true): void {
    if (item.done) return;
    const queue = item.sequence.queue;
    const i = queue.indexOf(item);
    if (i < 0) return;
    queue.splice(i, 1);
    this.queued--;
    const next = queue[i];
    if (item.start && next !== undefined) next.start = true;
    this.settleError(item, err, reason);
    this.settled(item.sequence);
    if (redispatch) this.dispatch();
  }

  private settleError(item: Pending, err: Error, reason: FailureReason): void {
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
    if (!this.draining || this.pending !== 0) return;
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    for (const w of this.drainWaiters) w();
    this.drainWaiters = [];
  }
}
