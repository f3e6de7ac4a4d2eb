// The sequence batcher keeps each sequence's state apart while batching requests of different
// sequences, feeds the control inputs their configured values, and restarts a sequence on START.
// Batching and state handling run on scripted instances that answer as the accumulator would; the
// control values and correlation ids also go through the real models, as onnxruntime sees them.

import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { accumulatorModel, unbatchedAccumulatorModel } from '../fixtures/stateful-models.js';
import { served } from './scripted-instance.js';
import {
  scalar,
  scriptedSequenceFixture,
  sequenceFixture,
  step,
  type ScriptedSequenceFixture,
  type SequenceFixture,
} from './sequence-fixture.js';

const ACC = accumulatorModel('acc', { sequenceConfig: '  oldest: { max_queue_delay_microseconds: 20000 }\n' });

describe('sequence batcher state (oldest strategy, max_batch_size 8)', () => {
  const fixture = (t: TestContext) => scriptedSequenceFixture(t, ACC, 'acc');
  const send = (f: ScriptedSequenceFixture, request: InferRequest) => served(f.instances, f.scheduler.infer(request));

  it('keeps the sums of many interleaved sequences exact while batching them', async (t) => {
    const f = fixture(t);
    const sequences = 24;
    const steps = 6;
    const calls: Promise<{ s: number; j: number; sum: number | string }>[] = [];
    // Requests go in interleaved: step 0 of every sequence, then step 1 of every sequence, ...
    for (let j = 0; j < steps; j++) {
      for (let s = 0; s < sequences; s++) {
        const id = BigInt(1000 + s);
        const request = step(id, s * 100 + j, { start: j === 0, end: j === steps - 1 });
        calls.push(f.scheduler.infer(request).then((r) => ({ s, j, sum: scalar(r.outputs, 'SUM') })));
      }
    }
    const results = await served(f.instances, Promise.all(calls));
    for (const { s, j, sum } of results) {
      let expected = 0;
      for (let k = 0; k <= j; k++) expected += s * 100 + k;
      assert.equal(sum, expected, `sequence ${s} after step ${j}`);
    }
    // The first request ran alone (nothing else waited yet); the other 143 waited behind it and
    // ran max_batch_size at a time, each execution holding eight different sequences.
    assert.deepEqual(
      f.instance.runs.map((r) => r.rows),
      [1, ...new Array<number>(17).fill(8), 7],
    );
    for (const run of f.instance.runs) {
      const ids = run.values('CORRID');
      assert.equal(new Set(ids).size, ids.length, 'one row per sequence in an execution');
    }
    assert.equal(f.stats.executionCount, 19);
    assert.equal(f.scheduler.activeSequences, 0, 'every sequence ended and freed its slot');
    assert.equal(f.scheduler.pending, 0);
  });

  it('holds a ready request up to max_queue_delay for the other idle sequences, and runs them together', async (t) => {
    const f = fixture(t);
    await send(f, step(1n, 1, { start: true }));
    // Sequence 1 is seated, idle: sequence 2's START waits the 20 ms delay for its company.
    const start2 = f.scheduler.infer(step(2n, 2, { start: true }));
    t.mock.timers.tick(20);
    await served(f.instances, start2);
    assert.equal(f.instance.runs.length, 2);
    const a = f.scheduler.infer(step(1n, 10));
    t.mock.timers.tick(5);
    assert.equal(f.instance.runs.length, 2, 'sequence 1 waits for sequence 2');
    const b = f.scheduler.infer(step(2n, 20));
    assert.equal(f.instance.runs.length, 3, 'both seated sequences have a request: they go at once');
    assert.deepEqual(f.instance.runs[2]?.values('CORRID'), [1, 2]);
    const [ra, rb] = await served(f.instances, Promise.all([a, b]));
    assert.deepEqual([scalar(ra.outputs, 'SUM'), scalar(rb.outputs, 'SUM')], [11, 22]);
    const c = f.scheduler.infer(step(1n, 100, { end: true }));
    t.mock.timers.tick(19);
    assert.equal(f.instance.runs.length, 3, 'alone, it waits for company up to the 20 ms delay');
    t.mock.timers.tick(1);
    assert.deepEqual(f.instance.runs[3]?.values('CORRID'), [1]);
    assert.equal(scalar((await served(f.instances, c)).outputs, 'SUM'), 111);
  });

  it('does not return state outputs to the client', async (t) => {
    const f = fixture(t);
    const r = await send(f, step(7n, 1, { start: true, end: true }));
    // The instance is asked for the state output as well; the client gets what it asked for.
    assert.deepEqual(f.instance.runs[0]?.outputNames, [
      'SUM',
      'START_OUT',
      'READY_OUT',
      'END_OUT',
      'CORRID_OUT',
      'STATE_OUT',
    ]);
    assert.deepEqual(
      r.outputs.map((o) => o.name),
      ['SUM', 'START_OUT', 'READY_OUT', 'END_OUT', 'CORRID_OUT'],
    );
    assert.deepEqual(r.outputs[0]?.shape, [1, 1]);
  });

  it('restarts a sequence from the initial state when START arrives for an active id', async (t) => {
    const f = fixture(t);
    await send(f, step(42n, 10, { start: true }));
    const before = await send(f, step(42n, 10));
    assert.equal(scalar(before.outputs, 'SUM'), 20);
    const restarted = await send(f, step(42n, 3, { start: true }));
    assert.equal(scalar(restarted.outputs, 'SUM'), 3);
    assert.equal(scalar(restarted.outputs, 'START_OUT'), 1);
    assert.deepEqual(f.instance.runs[2]?.values('STATE_IN'), [0], 'the restart ran from the initial state');
    const last = await send(f, step(42n, 4, { end: true }));
    assert.equal(scalar(last.outputs, 'SUM'), 7);
  });

  it('refuses a string id for a UINT64 CORRID without disturbing the integer sequence', async (t) => {
    const f = fixture(t);
    await send(f, step(9n, 1, { start: true }));
    await assert.rejects(
      f.scheduler.infer(step('9', 1, { start: true })),
      /must be an integer from 1 to 18446744073709551615/,
    );
    const r = await send(f, step(9n, 1, { end: true }));
    assert.equal(scalar(r.outputs, 'SUM'), 2);
    assert.equal(f.instance.runs.length, 2);
  });
});

describe('sequence batcher controls on the accumulator (max_batch_size 8)', () => {
  let f: SequenceFixture;
  before(async () => (f = await sequenceFixture(ACC, 'acc')));
  after(async () => f.close());

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
