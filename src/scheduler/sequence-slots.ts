// The sequence batcher's slots: where active sequences sit, and the backlog of sequences waiting
// for one. Direct: one slot per instance and batch row. Oldest: max_candidate_sequences per
// instance, not pinned to an instance. Free slots are handed out lowest row first, so direct
// batches stay short.

import type { ResolvedSequenceStrategy } from '../config/resolved-model-config.js';

/** A place for one active sequence: a batch row of one instance (direct), or a candidate (oldest). */
export interface Slot {
  /** The instance the slot is pinned to (direct), or -1 (oldest: any free instance). */
  readonly instance: number;
  readonly row: number;
}

/** What the table needs of a sequence: where it sits. */
export interface Seated {
  slot: Slot | undefined;
}

export class SequenceSlots<S extends Seated> {
  /** Slots given back, lowest first; slots never used yet are made on demand (see `take`). */
  private readonly free: Slot[] = [];
  private readonly bound = new Map<Slot, S>();
  /** Sequences waiting for a slot, first come first served. */
  private readonly backlog: S[] = [];
  /** Slots in all: one per instance and row (direct), max_candidate_sequences per instance (oldest). */
  private readonly capacity: number;
  private readonly direct: boolean;
  /** Slots made so far; slot k is row k / instances of instance k % instances (direct), row k (oldest). */
  private made = 0;

  constructor(
    strategy: ResolvedSequenceStrategy,
    private readonly instances: number,
    rowsPerRun: number,
  ) {
    this.direct = strategy.kind === 'direct';
    this.capacity = strategy.kind === 'direct' ? rowsPerRun * instances : strategy.maxCandidateSequences * instances;
  }

  /** Sequences holding a slot. */
  get active(): number {
    return this.bound.size;
  }

  /** Sequences waiting for a slot. */
  get waiting(): number {
    return this.backlog.length;
  }

  /** The sequences holding slots, with their slots (safe to free sequences while iterating). */
  seated(): IterableIterator<[Slot, S]> {
    return this.bound.entries();
  }

  /** Seats a new sequence, or puts it at the back of the backlog. */
  admit(sequence: S): void {
    const slot = this.take();
    if (slot === undefined) this.backlog.push(sequence);
    else this.seat(sequence, slot);
  }

  /**
   * The lowest free slot. Slots are made as sequences need them, so a large max_candidate_sequences
   * or max_batch_size costs nothing until that many sequences are active.
   */
  private take(): Slot | undefined {
    const returned = this.free.shift();
    if (returned !== undefined) return returned;
    if (this.made >= this.capacity) return undefined;
    const k = this.made++;
    return this.direct
      ? { instance: k % this.instances, row: Math.floor(k / this.instances) }
      : { instance: -1, row: k };
  }

  /** Takes a sequence out: its slot goes to the oldest backlogged sequence, or back to the free list. */
  remove(sequence: S): void {
    const slot = sequence.slot;
    if (slot === undefined) {
      const i = this.backlog.indexOf(sequence);
      if (i >= 0) this.backlog.splice(i, 1);
      return;
    }
    sequence.slot = undefined;
    this.bound.delete(slot);
    const next = this.backlog.shift();
    if (next !== undefined) {
      this.seat(next, slot);
      return;
    }
    const at = this.free.findIndex((s) => s.row > slot.row || (s.row === slot.row && s.instance > slot.instance));
    if (at < 0) this.free.push(slot);
    else this.free.splice(at, 0, slot);
  }

  private seat(sequence: S, slot: Slot): void {
    sequence.slot = slot;
    this.bound.set(slot, sequence);
  }
}
