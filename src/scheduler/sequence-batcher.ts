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
import type { Instance } from '../runtime/index.js';
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
import { MAX_TIMER_MS } from './clock.js';
import { SchedulerBase, type SchedulerBaseOptions, type Waiting } from './scheduler-base.js';

/**
 * `maxQueueSize` counts requests waiting in sequences' queues and the backlog together; more get
 * 429, except a first waiting request of a sequence that holds a slot.
 */
export interface SequenceBatcherOptions extends SchedulerBaseOptions {
  readonly spec: ResolvedSequenceBatching;
  /** The model's max_batch_size: rows per execution (0: no batch dimension, one request per run). */
  readonly maxBatchSize: number;
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

interface Pending extends Waiting {
  readonly sequence: Sequence;
  /** Requests with equal keys can share an execution. */
  readonly key: string;
  /** Runs from the initial state with START true (a dropped START passes this on to the next request). */
  start: boolean;
  readonly end: boolean;
}

export class SequenceBatcher extends SchedulerBase<Pending> {
  private readonly spec: ResolvedSequenceBatching;
  private readonly rowsPerRun: number;
  /** Active and backlogged sequences by key. */
  private readonly sequences = new Map<string, Sequence>();
  private readonly slots: SequenceSlots<Sequence>;
  private readonly recentlyEnded = new RecentlyEnded();
  private readonly idleNs: bigint;
  private idleTimer: NodeJS.Timeout | undefined;
  /** A dropped request may unblock the next one of its sequence. */
  protected override readonly dispatchAfterRemoval = true;

  constructor(
    instances: readonly Instance[],
    stats: ModelStats,
    private readonly options: SequenceBatcherOptions,
  ) {
    super(instances, stats, options);
    this.spec = options.spec;
    this.rowsPerRun = Math.max(1, options.maxBatchSize);
    this.idleNs = BigInt(this.spec.maxSequenceIdleMicroseconds) * 1000n;
    this.slots = new SequenceSlots(this.spec.strategy, instances.length, this.rowsPerRun);
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
    if (this.draining) return Promise.reject(this.unloadingError());
    const control = request.sequence;
    let sequence: Sequence | undefined;
    try {
      if (control === undefined) {
        throw invalidArgument(
          `model '${this.stats.name}' is stateful (sequence_batching): every request needs a "sequence_id", and a sequence's first request "sequence_start": true`,
        );
      }
      if (request.signal?.aborted === true) return this.refuse(request, this.cancelledError(), 'CANCELED');
      if (this.options.maxBatchSize > 0 && request.batchSize !== 1) {
        throw invalidArgument(
          `a request of a sequence holds one batch row; sequence ${sequenceIdText(control.id)} sent batch size ${request.batchSize}`,
        );
      }
      checkIdForCorrid(
        control.id,
        this.spec.controls.find((c) => c.kind === 'CORRID'),
      );
      this.checkCarriable(request);
      const key = sequenceKey(control.id);
      sequence = this.sequences.get(key);
      if (!control.start) {
        if (sequence === undefined) throw this.inactiveError(control.id, this.recentlyEnded.reason(key));
        if (sequence.endRequested) throw this.inactiveError(control.id, 'ended');
      }
    } catch (err) {
      return this.refuse(request, err, 'OTHER');
    }
    // A sequence holding a slot may always queue one request, so a full backlog never locks out
    // the requests that would end the running sequences and free their slots.
    const exempt = sequence?.slot !== undefined && sequence.queue.length === 0;
    if (this.queueFull && !exempt) return this.refuse(request, this.queueFullError(), 'REJECTED');
    if (sequence === undefined) sequence = this.open(control.id);
    // START on an active id restarts it: the request runs after those already queued, from the
    // initial state; the sequence keeps its slot.
    if (control.start) sequence.endRequested = false;
    if (control.end) sequence.endRequested = true;
    return this.enqueue(sequence, request, control.start, control.end);
  }

  /** No request can arrive any more: idle sequences give their slots to the backlog now. */
  protected override onDrain(): void {
    for (const [, s] of [...this.slots.seated()]) if (this.isIdle(s)) this.free(s, 'expired');
  }

  protected override onDrained(): void {
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
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
      idleSinceNs: this.clock.nowNs(),
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
    const extra = { sequence, key: this.options.maxBatchSize > 0 ? batchKey(request) : '', start, end };
    return this.wait(request, this.deadlineOf(request), extra, (item) => sequence.queue.push(item));
  }

  protected override dispatch(): void {
    if (this.spec.strategy.kind === 'direct') {
      for (const instance of [...this.idle])
        this.dispatchDirect(instance, this.spec.strategy.maxQueueDelayMicroseconds);
    } else {
      while (this.idle.length > 0 && this.dispatchOldest()) {
        // Each pass starts one execution.
      }
    }
    this.afterDispatch();
  }

  protected override waitingItems(): Iterable<Pending> {
    return [...this.sequences.values()].flatMap((sequence) => sequence.queue);
  }

  /** The head request of a sequence that may run now, dropping heads whose deadline has passed. */
  private readyHead(sequence: Sequence, now: bigint): Pending | undefined {
    if (sequence.running) return undefined;
    let head = sequence.queue[0];
    while (head !== undefined && this.expired(head, now)) {
      this.removeQueued(head, this.deadlineError(head), 'REJECTED');
      head = sequence.queue[0];
    }
    return head;
  }

  /** Oldest strategy: the oldest ready heads with the same batch key, up to max_batch_size rows. */
  private dispatchOldest(): boolean {
    const strategy = this.spec.strategy;
    if (strategy.kind !== 'oldest') return false;
    const now = this.clock.nowNs();
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
    const now = this.clock.nowNs();
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
    this.wakeIn(leftNs / 1e6);
    return true;
  }

  private execute(instanceIndex: number, items: readonly (Pending | undefined)[]): void {
    const instance = this.instances[instanceIndex];
    const running = items.filter((p): p is Pending => p !== undefined);
    const startNs = this.clock.nowNs();
    for (const item of running) {
      item.sequence.queue.shift();
      item.sequence.running = true;
      this.queued--;
      this.started(item);
    }
    const finish = (): void => this.finished(running.length, instanceIndex);
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
        const end = this.clock.nowNs();
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
          this.settleSuccess(item, outputs, result.timings, startNs, end);
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
    this.settleError(item, err, reason);
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
      sequence.idleSinceNs = this.clock.nowNs();
      this.armIdleTimer(sequence.idleSinceNs + this.idleNs);
    }
  }

  /** One timer for the earliest idle deadline; when it fires every overdue sequence is freed. */
  private armIdleTimer(atNs: bigint): void {
    if (this.idleTimer !== undefined) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, Number(atNs - this.clock.nowNs()) / 1e6));
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.expireIdle();
    }, ms);
    this.idleTimer.unref();
  }

  private expireIdle(): void {
    const now = this.clock.nowNs();
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

  /** A dropped START passes its reset on to the sequence's next request. */
  protected override unqueue(item: Pending): boolean {
    const queue = item.sequence.queue;
    const i = queue.indexOf(item);
    if (i < 0) return false;
    queue.splice(i, 1);
    const next = queue[i];
    if (item.start && next !== undefined) next.start = true;
    return true;
  }

  protected override onUnqueued(item: Pending): void {
    this.settled(item.sequence);
  }
}
