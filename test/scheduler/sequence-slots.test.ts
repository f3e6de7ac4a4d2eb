// The sequence batcher's slot table: lowest free slot first, the backlog served in arrival order,
// and slots made only as sequences need them (a huge max_candidate_sequences allocates nothing).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequenceSlots, type Seated } from '../../src/scheduler/sequence-slots.js';

const seq = (): Seated => ({ slot: undefined });

describe('SequenceSlots', () => {
  it('direct: fills row 0 of every instance before row 1, and hands a freed slot to the backlog', () => {
    const slots = new SequenceSlots<Seated>({ kind: 'direct', maxQueueDelayMicroseconds: 0 }, 2, 2);
    const s = [seq(), seq(), seq(), seq(), seq()];
    for (const x of s) slots.admit(x);
    assert.deepEqual(
      s.slice(0, 4).map((x) => x.slot),
      [
        { instance: 0, row: 0 },
        { instance: 1, row: 0 },
        { instance: 0, row: 1 },
        { instance: 1, row: 1 },
      ],
    );
    assert.equal(s[4]?.slot, undefined);
    assert.equal(slots.waiting, 1);
    slots.remove(s[1]!);
    assert.deepEqual(s[4]?.slot, { instance: 1, row: 0 });
    assert.equal(slots.active, 4);
    assert.equal(slots.waiting, 0);
  });

  it('oldest: gives back the lowest freed row before a new one', () => {
    const slots = new SequenceSlots<Seated>(
      { kind: 'oldest', maxCandidateSequences: 4, preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 },
      1,
      1,
    );
    const [a, b, c] = [seq(), seq(), seq()];
    slots.admit(a);
    slots.admit(b);
    slots.admit(c);
    slots.remove(b);
    slots.remove(a);
    const d = seq();
    slots.admit(d);
    assert.deepEqual(d.slot, { instance: -1, row: 0 });
    const e = seq();
    slots.admit(e);
    assert.deepEqual(e.slot, { instance: -1, row: 1 });
    const f = seq();
    slots.admit(f);
    assert.deepEqual(f.slot, { instance: -1, row: 3 });
  });

  it('allocates nothing up front: max_candidate_sequences 2^31 on 4 instances is instant', () => {
    const slots = new SequenceSlots<Seated>(
      { kind: 'oldest', maxCandidateSequences: 2 ** 31, preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 },
      4,
      1,
    );
    const a = seq();
    slots.admit(a);
    assert.deepEqual(a.slot, { instance: -1, row: 0 });
    assert.equal(slots.waiting, 0);
  });
});
