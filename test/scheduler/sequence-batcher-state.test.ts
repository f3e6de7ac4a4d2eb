// The sequence batcher keeps each sequence's state apart while batching requests of different
// sequences, feeds the control inputs their configured values, and restarts a sequence on START.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accumulatorModel, unbatchedAccumulatorModel } from '../fixtures/stateful-models.js';
import { scalar, sequenceFixture, step, type SequenceFixture } from './sequence-fixture.js';

describe('sequence batcher state (oldest strategy, max_batch_size 8)', () => {
  let f: SequenceFixture;
  before(async () => {
    f = await sequenceFixture(
      accumulatorModel('acc', { sequenceConfig: '  oldest: { max_queue_delay_microseconds: 20000 }\n' }),
      'acc',
    );
  });
  after(async () => f.close());

  it('keeps the sums of many interleaved sequences exact while batching them', async () => {
    const sequences = 24;
    const steps = 6;
    const execBefore = f.stats.executionCount;
    const calls: Promise<{ s: number; j: number; sum: number | string }>[] = [];
    // Requests go in interleaved: step 0 of every sequence, then step 1 of every sequence, ...
    for (let j = 0; j < steps; j++) {
      for (let s = 0; s < sequences; s++) {
        const id = BigInt(1000 + s);
        const request = step(id, s * 100 + j, { start: j === 0, end: j === steps - 1 });
        calls.push(f.scheduler.infer(request).then((r) => ({ s, j, sum: scalar(r.outputs, 'SUM') })));
      }
    }
    const results = await Promise.all(calls);
    for (const { s, j, sum } of results) {
      let expected = 0;
      for (let k = 0; k <= j; k++) expected += s * 100 + k;
      assert.equal(sum, expected, `sequence ${s} after step ${j}`);
    }
    const executions = f.stats.executionCount - execBefore;
    assert.ok(executions < sequences * steps, `${executions} executions for ${sequences * steps} requests`);
    assert.ok(executions >= (sequences * steps) / 8, 'never more than max_batch_size rows per execution');
    assert.equal(f.scheduler.activeSequences, 0, 'every sequence ended and freed its slot');
    assert.equal(f.scheduler.pending, 0);
  });

  it('feeds START, READY, END and CORRID with their configured values', async () => {
    const id = 18446744073709551615n;
    const first = await f.scheduler.infer(step(id, 5, { start: true }));
    assert.equal(scalar(first.outputs, 'START_OUT'), 1);
    assert.equal(scalar(first.outputs, 'READY_OUT'), 1);
    assert.equal(scalar(first.outputs, 'END_OUT'), 0);
    const corrid = first.outputs.find((o) => o.name === 'CORRID_OUT');
    assert.equal((corrid?.data as BigUint64Array)[0], id, 'a uint64 id reaches the model exactly');
    const middle = await f.scheduler.infer(step(id, 5));
    assert.equal(scalar(middle.outputs, 'START_OUT'), 0);
    assert.equal(scalar(middle.outputs, 'END_OUT'), 0);
    const last = await f.scheduler.infer(step(id, 5, { end: true }));
    assert.equal(scalar(last.outputs, 'END_OUT'), 1);
    assert.equal(scalar(last.outputs, 'SUM'), 15);
  });

  it('does not return state outputs to the client', async () => {
    const r = await f.scheduler.infer(step(7n, 1, { start: true, end: true }));
    assert.deepEqual(
      r.outputs.map((o) => o.name),
      ['SUM', 'START_OUT', 'READY_OUT', 'END_OUT', 'CORRID_OUT'],
    );
    assert.deepEqual(r.outputs[0]?.shape, [1, 1]);
  });

  it('restarts a sequence from the initial state when START arrives for an active id', async () => {
    await f.scheduler.infer(step(42n, 10, { start: true }));
    const before = await f.scheduler.infer(step(42n, 10));
    assert.equal(scalar(before.outputs, 'SUM'), 20);
    const restarted = await f.scheduler.infer(step(42n, 3, { start: true }));
    assert.equal(scalar(restarted.outputs, 'SUM'), 3);
    assert.equal(scalar(restarted.outputs, 'START_OUT'), 1);
    const last = await f.scheduler.infer(step(42n, 4, { end: true }));
    assert.equal(scalar(last.outputs, 'SUM'), 7);
  });

  it('refuses a string id for a UINT64 CORRID without disturbing the integer sequence', async () => {
    await f.scheduler.infer(step(9n, 1, { start: true }));
    await assert.rejects(
      f.scheduler.infer(step('9', 1, { start: true })),
      /must be an integer from 1 to 18446744073709551615/,
    );
    const r = await f.scheduler.infer(step(9n, 1, { end: true }));
    assert.equal(scalar(r.outputs, 'SUM'), 2);
  });
});

describe('sequence batcher state (max_batch_size 0, string CORRID)', () => {
  let f: SequenceFixture;
  before(async () => (f = await sequenceFixture(unbatchedAccumulatorModel('acc0'), 'acc0')));
  after(async () => f.close());

  it('runs each request alone with its own state, BOOL START and the string id', async () => {
    const calls = [];
    for (let j = 0; j < 4; j++) {
      for (const id of ['alpha', 'beta', 'gamma']) {
        calls.push(f.scheduler.infer(step(id, id.length + j, { start: j === 0, end: j === 3, batched: false })));
      }
    }
    const results = await Promise.all(calls);
    const last = results.slice(-3);
    assert.deepEqual(
      last.map((r) => scalar(r.outputs, 'SUM')),
      [5 * 4 + 6, 4 * 4 + 6, 5 * 4 + 6],
    );
    assert.deepEqual(
      results.slice(0, 3).map((r) => [scalar(r.outputs, 'START_OUT'), scalar(r.outputs, 'CORRID_OUT')]),
      [
        [1, 'alpha'],
        [1, 'beta'],
        [1, 'gamma'],
      ],
    );
    assert.equal(scalar(last[0]?.outputs ?? [], 'START_OUT'), 0);
    assert.deepEqual(last[0]?.outputs[0]?.shape, [1]);
  });

  it('refuses an integer id when the model takes its correlation id as TYPE_STRING', async () => {
    await assert.rejects(
      f.scheduler.infer(step(5n, 1, { start: true, batched: false })),
      /"sequence_id" 5 must be a string: the model takes its correlation id as TYPE_STRING/,
    );
  });
});
