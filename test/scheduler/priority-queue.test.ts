// The dynamic batcher's waiting line: priority then arrival order, without re-sorting.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PriorityQueue } from '../../src/scheduler/priority-queue.js';

describe('PriorityQueue', () => {
  it('yields the highest level (lowest number) first, each level in arrival order', () => {
    const q = new PriorityQueue<string>();
    q.push(3, 'c1');
    q.push(1, 'a1');
    q.push(2, 'b1');
    q.push(1, 'a2');
    q.push(3, 'c2');
    assert.deepEqual([...q], ['a1', 'a2', 'b1', 'c1', 'c2']);
    assert.equal(q.size, 5);
    assert.equal(q.shift(), 'a1');
    assert.equal(q.shift(), 'a2');
    q.push(1, 'a3');
    assert.deepEqual([...q], ['a3', 'b1', 'c1', 'c2']);
    assert.equal(q.size, 4);
  });

  it('removes an item from the middle of its level and forgets an emptied level', () => {
    const q = new PriorityQueue<string>();
    q.push(2, 'x');
    q.push(2, 'y');
    q.push(5, 'z');
    assert.equal(q.remove(2, 'x'), true);
    assert.equal(q.remove(2, 'x'), false, 'already gone');
    assert.equal(q.remove(5, 'y'), false, 'not at that level');
    assert.equal(q.remove(2, 'y'), true);
    assert.deepEqual([...q], ['z']);
    q.push(4, 'w');
    assert.deepEqual([...q], ['w', 'z']);
    assert.equal(q.size, 2);
  });

  it('shifts nothing from an empty queue', () => {
    const q = new PriorityQueue<number>();
    assert.equal(q.shift(), undefined);
    assert.equal(q.size, 0);
  });
});
