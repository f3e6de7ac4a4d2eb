// A sequence's life in the batcher: requests for unknown, ended or expired ids are refused with
// the reason; sequences beyond the slots wait in the backlog until END (or idleness) frees one;
// deadlines, cancellation, a full queue and drain behave as in the dynamic batcher. Scripted
// instances answer as the accumulator would; time moves only by mock-timer ticks.

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { accumulatorModel } from '../fixtures/stateful-models.js';
import { flush, observe, served } from './scripted-instance.js';
import { scalar, scriptedSequenceFixture, step, type ScriptedSequenceFixture } from './sequence-fixture.js';

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

/** Sends a request and answers runs until it has its result. */
function send(f: ScriptedSequenceFixture, request: InferRequest) {
  return served(f.instances, f.scheduler.infer(request));
}

describe('sequence ids the batcher does not know', () => {
  const model = accumulatorModel('acc', { sequenceConfig: '  max_sequence_idle_microseconds: 50000\n' });
  const fixture = (t: TestContext) => scriptedSequenceFixture(t, model, 'acc');

  it('refuses a request for an id that never started, naming it', async (t) => {
    const f = fixture(t);
    await assert.rejects(f.scheduler.infer(step(77n, 1)), (err) => {
      assert.equal(code(err), 'INF_ERR_INVALID_ARGUMENT');
      assert.equal(
        (err as Error).message,
        `sequence 77 of model 'acc' is unknown: its first request must have "sequence_start": true`,
      );
      return true;
    });
    assert.equal(f.instance.runs.length, 0);
  });

  it('says a sequence has ended after its END request, and accepts a new START for the id', async (t) => {
    const f = fixture(t);
    await send(f, step(5n, 1, { start: true, end: true }));
    await assert.rejects(f.scheduler.infer(step(5n, 1)), /sequence 5 of model 'acc' has ended/);
    const again = await send(f, step(5n, 2, { start: true, end: true }));
    assert.equal(scalar(again.outputs, 'SUM'), 2);
    assert.equal(f.instance.runs.length, 2);
  });

  it('frees an idle sequence after max_sequence_idle_microseconds and says it expired', async (t) => {
    const f = fixture(t);
    await send(f, step(6n, 1, { start: true }));
    assert.equal(f.scheduler.activeSequences, 1);
    t.mock.timers.tick(49);
    assert.equal(f.scheduler.activeSequences, 1, 'idle for 49 of its 50 ms');
    t.mock.timers.tick(1);
    assert.equal(f.scheduler.activeSequences, 0, 'the idle sequence gave its slot back');
    await assert.rejects(f.scheduler.infer(step(6n, 1)), (err) => {
      assert.equal(code(err), 'INF_ERR_INVALID_ARGUMENT');
      assert.match(
        (err as Error).message,
        /^sequence 6 of model 'acc' expired: it had no request for 50000 µs \(max_sequence_idle_microseconds\); start it again/,
      );
      return true;
    });
  });

  it('counts idleness from the last request, not from START', async (t) => {
    const f = fixture(t);
    await send(f, step(8n, 1, { start: true }));
    t.mock.timers.tick(40);
    await send(f, step(8n, 1));
    t.mock.timers.tick(40);
    assert.equal(f.scheduler.activeSequences, 1, '80 ms after START, 40 ms after its last request');
    t.mock.timers.tick(10);
    assert.equal(f.scheduler.activeSequences, 0);
  });

  it('refuses a request without a sequence_id, and one with more than one row', async (t) => {
    const f = fixture(t);
    const plain = { ...step(1n, 1), sequence: undefined };
    await assert.rejects(
      f.scheduler.infer(plain),
      /model 'acc' is stateful \(sequence_batching\): every request needs a "sequence_id"/,
    );
    const wide = step(1n, 1, { start: true, batchSize: 2 });
    await assert.rejects(
      f.scheduler.infer(wide),
      /a request of a sequence holds one batch row; sequence 1 sent batch size 2/,
    );
    assert.equal(f.stats.fail.count, 2);
  });
});

describe('the backlog (one slot: oldest with max_candidate_sequences 1)', () => {
  const fixture = (t: TestContext) =>
    scriptedSequenceFixture(
      t,
      accumulatorModel('acc1', {
        sequenceConfig: '  oldest: { max_candidate_sequences: 1 }\n',
        extra: 'queue_policy: { max_queue_size: 3 }\n',
      }),
      'acc1',
    );

  it('holds a second sequence until the first one ends, then runs it', async (t) => {
    const f = fixture(t);
    await send(f, step(1n, 10, { start: true }));
    const waiting = observe(f.scheduler.infer(step(2n, 1, { start: true })));
    await flush();
    assert.equal(waiting.settled, false, 'the second sequence waits for the slot');
    assert.equal(f.instance.runs.length, 1, 'and does not reach the instance');
    assert.equal(f.scheduler.backlogSequences, 1);
    const a = await send(f, step(1n, 10, { end: true }));
    assert.equal(scalar(a.outputs, 'SUM'), 20);
    const b = await waiting.promise;
    assert.equal(scalar(b.outputs, 'SUM'), 1, 'it starts from the initial state');
    assert.equal(f.scheduler.backlogSequences, 0);
    const b2 = await send(f, step(2n, 1, { end: true }));
    assert.equal(scalar(b2.outputs, 'SUM'), 2);
    assert.deepEqual(
      f.instance.runs.map((r) => [r.values('INPUT'), r.values('START'), r.values('STATE_IN')]),
      [
        [[10], [1], [0]],
        [[10], [0], [10]],
        [[1], [1], [0]],
        [[1], [0], [1]],
      ],
    );
  });

  it('times out and cancels backlogged requests without running them, and forgets a sequence that never started', async (t) => {
    const f = fixture(t);
    await send(f, step(1n, 1, { start: true }));
    const timed = observe(f.scheduler.infer(step(3n, 1, { start: true, timeoutUs: 5000 })));
    t.mock.timers.tick(4);
    await flush();
    assert.equal(timed.settled, false);
    t.mock.timers.tick(1);
    await assert.rejects(timed.promise, (err) => {
      assert.equal(code(err), 'INF_ERR_DEADLINE_EXCEEDED');
      assert.match((err as Error).message, /5000 µs timeout passed while it waited in the queue/);
      return true;
    });
    const abort = new AbortController();
    const cancelled = f.scheduler.infer(step(4n, 1, { start: true, signal: abort.signal }));
    abort.abort();
    await assert.rejects(cancelled, (err) => code(err) === 'INF_ERR_CANCELLED');
    assert.equal(f.scheduler.backlogSequences, 0);
    assert.equal(f.instance.runs.length, 1, 'nothing else ran');
    await assert.rejects(f.scheduler.infer(step(3n, 1)), /sequence 3 of model 'acc1' is unknown/);
    await send(f, step(1n, 1, { end: true }));
    assert.equal(f.instance.runs.length, 2);
  });

  it('refuses a request when max_queue_size requests already wait, with Retry-After', async (t) => {
    const f = fixture(t);
    await send(f, step(1n, 1, { start: true }));
    const waiting = [2n, 3n, 4n].map((id) => f.scheduler.infer(step(id, 1, { start: true, end: true })));
    await assert.rejects(f.scheduler.infer(step(5n, 1, { start: true })), (err) => {
      assert.equal(code(err), 'INF_ERR_QUEUE_FULL');
      assert.equal((err as { headers?: Record<string, string> }).headers?.['retry-after'], '1');
      return true;
    });
    await send(f, step(1n, 1, { end: true }));
    const sums = (await Promise.all(waiting)).map((r) => scalar(r.outputs, 'SUM'));
    assert.deepEqual(sums, [1, 1, 1]);
    assert.deepEqual(
      f.instance.runs.map((r) => r.values('CORRID')),
      [[1], [1], [2], [3], [4]],
      'the backlog ran in arrival order, and sequence 5 never ran',
    );
  });

  it('drains: refuses new requests, frees idle sequences so the backlog runs, then resolves', async (t) => {
    const f = scriptedSequenceFixture(
      t,
      accumulatorModel('acc2', { sequenceConfig: '  oldest: { max_candidate_sequences: 1 }\n' }),
      'acc2',
    );
    await send(f, step(1n, 1, { start: true }));
    const backlogged = f.scheduler.infer(step(2n, 7, { start: true }));
    const drained = observe(f.scheduler.drain());
    await assert.rejects(f.scheduler.infer(step(1n, 1)), (err) => code(err) === 'INF_ERR_UNAVAILABLE');
    assert.equal(f.instance.runs.length, 2, 'the idle sequence gave its slot to the backlog at once');
    await flush();
    assert.equal(drained.settled, false, 'drain waits for the backlogged request');
    assert.equal(scalar((await served(f.instances, backlogged)).outputs, 'SUM'), 7);
    await drained.promise;
    assert.equal(f.scheduler.pending, 0);
    assert.equal(f.scheduler.activeSequences, 0);
  });
});

describe('the direct strategy (max_batch_size 2: two slots, one per row)', () => {
  const fixture = (t: TestContext) =>
    scriptedSequenceFixture(
      t,
      accumulatorModel('accd', {
        maxBatchSize: 2,
        sequenceConfig: '  direct: { max_queue_delay_microseconds: 20000 }\n',
      }),
      'accd',
    );

  it('keeps each sequence in its row, batches rows together, and queues a third sequence', async (t) => {
    const f = fixture(t);
    const calls = [];
    for (let j = 0; j < 4; j++) {
      calls.push(f.scheduler.infer(step(1n, 1, { start: j === 0, end: j === 3 })));
      calls.push(f.scheduler.infer(step(2n, 10, { start: j === 0 })));
    }
    const third = f.scheduler.infer(step(3n, 100, { start: true, end: true }));
    const results = await served(f.instances, Promise.all(calls));
    assert.deepEqual(
      results.map((r) => scalar(r.outputs, 'SUM')),
      [1, 10, 2, 20, 3, 30, 4, 40],
    );
    assert.equal(scalar((await third).outputs, 'SUM'), 100, 'the third sequence took the freed slot');
    // Sequence 1 ran alone at first, in a one-row batch (it was the only one seated); from then on
    // every execution held both rows, sequence 3 taking row 0 once sequence 1 ended.
    assert.deepEqual(
      f.instance.runs.map((r) => [r.values('CORRID'), r.values('READY')]),
      [
        [[1], [1]],
        [
          [1, 2],
          [1, 1],
        ],
        [
          [1, 2],
          [1, 1],
        ],
        [
          [1, 2],
          [1, 1],
        ],
        [
          [3, 2],
          [1, 1],
        ],
      ],
    );
    await send(f, step(2n, 0, { end: true }));
  });

  it('feeds READY true only to the rows holding a request', async (t) => {
    const f = fixture(t);
    await send(f, step(11n, 1, { start: true }));
    const start12 = observe(f.scheduler.infer(step(12n, 1, { start: true })));
    // Two rows are seated and one has a request: it waits up to the queue delay for company.
    t.mock.timers.tick(19);
    await flush();
    assert.equal(f.instance.runs.length, 1);
    t.mock.timers.tick(1);
    await served(f.instances, start12.promise);
    // Only sequence 12 (row 1) has a request: row 0 runs idle, READY false, its state untouched.
    const end12 = f.scheduler.infer(step(12n, 1, { end: true }));
    t.mock.timers.tick(20);
    const r = await served(f.instances, end12);
    assert.equal(scalar(r.outputs, 'READY_OUT'), 1);
    assert.equal(scalar(r.outputs, 'SUM'), 2);
    const idle = f.instance.runs[2];
    assert.deepEqual(idle?.values('READY'), [0, 1]);
    assert.deepEqual(idle?.values('INPUT'), [0, 1]);
    assert.deepEqual(idle?.values('STATE_IN'), [0, 1]);
    const other = await send(f, step(11n, 5, { end: true }));
    assert.equal(scalar(other.outputs, 'SUM'), 6, 'the idle row kept its state');
  });
});
