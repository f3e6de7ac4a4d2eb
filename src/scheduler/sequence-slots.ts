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
  private readonly free: Slot[] = [];
  private readonly bound = new Map<Slot, S>();
  /** Sequences waiting for a slot, first come first served. */
  private readonly backlog: S[] = [];

  constructor(strategy: ResolvedSequenceStrategy, instances: number, rowsPerRun: number) {
    if (strategy.kind === 'direct') {
      for (let row = 0; row < rowsPerRun; row++)
        for (let instance = 0; instance < instances; instance++) this.free.push({ instance, row });
    } else {
      const candidates = strategy.maxCandidateSequences * instances;
      for (let row = 0; row < candidates; row++) this.free.push({ instance: -1, row });
    }
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
    const slot = this.free.shift();
    if (slot === undefined) this.backlog.push(sequence);
    else this.seat(sequence, slot);
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
