// The memory budget's policy with made-up sizes: it unloads idle models least recently used first,
// never a pinned one or one in use, and says when no choice of victims makes room.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBudget, type VictimCheck } from '../../src/repository/memory-budget.js';

const MB = 1024 * 1024;
const idle: VictimCheck = { inUse: () => false, busy: () => false };

function budgetWith(models: readonly [string, number][], budgetBytes = 100 * MB, pinned: string[] = []): MemoryBudget {
  const b = new MemoryBudget(budgetBytes, new Set(pinned));
  for (const [name, bytes] of models) b.admit(name, 'fp', bytes);
  return b;
}

describe('the memory budget', () => {
  it('needs no victim while the load fits', () => {
    const b = budgetWith([['a', 30 * MB]]);
    assert.deepEqual(b.planRoom('b', 70 * MB, idle), { fits: true, victims: [] });
    assert.equal(b.residentBytes(), 30 * MB);
  });

  it('unloads the least recently used models first, and only as many as needed', () => {
    const b = budgetWith([
      ['a', 30 * MB],
      ['b', 30 * MB],
      ['c', 30 * MB],
    ]);
    b.touch('a');
    assert.deepEqual(b.planRoom('d', 50 * MB, idle), { fits: true, victims: ['b', 'c'] });
    b.touch('b');
    assert.deepEqual(b.planRoom('d', 20 * MB, idle), { fits: true, victims: ['c'] });
  });

  it('never unloads a pinned model, one in use or one with an operation under way', () => {
    const b = budgetWith(
      [
        ['pinned', 30 * MB],
        ['busy', 30 * MB],
        ['used', 20 * MB],
        ['free', 20 * MB],
      ],
      100 * MB,
      ['pinned'],
    );
    const check: VictimCheck = { inUse: (n) => n === 'used', busy: (n) => n === 'busy' };
    assert.deepEqual(b.planRoom('x', 20 * MB, check), { fits: true, victims: ['free'] });
    assert.deepEqual(b.planRoom('x', 40 * MB, check), { fits: false, reason: 'nothing-evictable' });
    assert.deepEqual(b.planRoom('x', 70 * MB, idle), { fits: true, victims: ['busy', 'used', 'free'] });
  });

  it('refuses a model that cannot fit beside the pinned ones whatever is unloaded', () => {
    const b = budgetWith([['pinned', 60 * MB]], 100 * MB, ['pinned']);
    assert.deepEqual(b.planRoom('big', 50 * MB, idle), { fits: false, reason: 'larger-than-budget' });
    assert.deepEqual(b.planRoom('big', 120 * MB, idle), { fits: false, reason: 'larger-than-budget' });
  });

  it("does not count a reloading model's own bytes against its room", () => {
    const b = budgetWith([
      ['a', 60 * MB],
      ['b', 30 * MB],
    ]);
    assert.deepEqual(b.planRoom('a', 65 * MB, idle), { fits: true, victims: [] });
  });

  it('estimates a load from what the same files measured, else from the fallback', () => {
    const b = new MemoryBudget(100 * MB, new Set());
    assert.equal(b.estimate('a', 'v1', 5 * MB), 5 * MB);
    b.admit('a', 'v1', 12 * MB);
    b.remove('a');
    assert.equal(b.isResident('a'), false);
    assert.equal(b.estimate('a', 'v1', 5 * MB), 12 * MB);
    assert.equal(b.estimate('a', 'v2', 5 * MB), 5 * MB, 'changed files are estimated afresh');
  });
});
