// A sequence's life in the batcher: requests for unknown, ended or expired ids are refused with
// the reason; sequences beyond the slots wait in the backlog until END (or idleness) frees one;
// deadlines, cancellation, a full queue and drain behave as in the dynamic batcher.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { accumulatorModel } from '../fixtures/stateful-models.js';
import { scalar, sequenceFixture, step, type SequenceFixture } from './sequence-fixture.js';

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

/** Resolves true when the promise has settled by the next macrotask. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await sleep(20);
  return done;
}

describe('sequence ids the batcher does not know', () => {
  let f: SequenceFixture;
  before(async () => {
    f = await sequenceFixture(
      accumulatorModel('acc', { sequenceConfig: '  max_sequence_idle_microseconds: 50000\n' }),
      'acc',
    );
  });
  after(async () => f.close());

  it('refuses a request for an id that never started, naming it', async () => {
    await assert.rejects(f.scheduler.infer(step(77n, 1)), (err) => {
      assert.equal(code(err), 'INF_ERR_INVALID_ARGUMENT');
      assert.equal(
        (err as Error).message,
        `sequence 77 of model 'acc' is unknown: its first request must have "sequence_start": true`,
      );
      return true;
    });
  });

  it('says a sequence has ended after its END request, and accepts a new START for the id', async () => {
    await f.scheduler.infer(step(5n, 1, { start: true, end: true }));
    await assert.rejects(f.scheduler.infer(step(5n, 1)), /sequence 5 of model 'acc' has ended/);
    const again = await f.scheduler.infer(step(5n, 2, { start: true, end: true }));
    assert.equal(scalar(again.outputs, 'SUM'), 2);
  });

  it('frees an idle sequence after max_sequence_idle_microseconds and says it expired', async () => {
    await f.scheduler.infer(step(6n, 1, { start: true }));
    assert.equal(f.scheduler.activeSequences, 1);
    await sleep(300);
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

  it('refuses a request without a sequence_id, and one with more than one row', async () => {
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
    assert.equal(f.stats.fail.count >= 2, true);
  });
});

describe('the backlog (one slot: oldest with max_candidate_sequences 1)', () => {
  let f: SequenceFixture;
  before(async () => {
    f = await sequenceFixture(
      accumulatorModel('acc1', {
        sequenceConfig: '  oldest: { max_candidate_sequences: 1 }\n',
        extra: 'queue_policy: { max_queue_size: 3 }\n',
      }),
      'acc1',
    );
  });
  after(async () => f.close());

  it('holds a second sequence until the first one ends, then runs it', async () => {
    await f.scheduler.infer(step(1n, 10, { start: true }));
    const waiting = f.scheduler.infer(step(2n, 1, { start: true }));
    assert.equal(await settled(waiting), false, 'the second sequence waits for the slot');
    assert.equal(f.scheduler.backlogSequences, 1);
    const a = await f.scheduler.infer(step(1n, 10, { end: true }));
    assert.equal(scalar(a.outputs, 'SUM'), 20);
    const b = await waiting;
    assert.equal(scalar(b.outputs, 'SUM'), 1, 'it starts from the initial state');
    assert.equal(f.scheduler.backlogSequences, 0);
    const b2 = await f.scheduler.infer(step(2n, 1, { end: true }));
    assert.equal(scalar(b2.outputs, 'SUM'), 2);
  });

  it('times out and cancels backlogged requests without running them, and forgets a sequence that never started', async () => {
    await f.scheduler.infer(step(1n, 1, { start: true }));
    const execBefore = f.stats.executionCount;
    const timed = f.scheduler.infer(step(3n, 1, { start: true, timeoutUs: 5000 }));
    await assert.rejects(timed, (err) => {
      assert.equal(code(err), 'INF_ERR_DEADLINE_EXCEEDED');
      assert.match((err as Error).message, /5000 µs timeout passed while it waited in the queue/);
      return true;
    });
    const abort = new AbortController();
    const cancelled = f.scheduler.infer(step(4n, 1, { start: true, signal: abort.signal }));
    abort.abort();
    await assert.rejects(cancelled, (err) => code(err) === 'INF_ERR_CANCELLED');
    assert.equal(f.scheduler.backlogSequences, 0);
    assert.equal(f.stats.executionCount, execBefore, 'nothing ran');
    await assert.rejects(f.scheduler.infer(step(3n, 1)), /sequence 3 of model 'acc1' is unknown/);
    await f.scheduler.infer(step(1n, 1, { end: true }));
  });

  it('refuses a request when max_queue_size requests already wait, with Retry-After', async () => {
    await f.scheduler.infer(step(1n, 1, { start: true }));
    const waiting = [2n, 3n, 4n].map((id) => f.scheduler.infer(step(id, 1, { start: true, end: true })));
    await assert.rejects(f.scheduler.infer(step(5n, 1, { start: true })), (err) => {
      assert.equal(code(err), 'INF_ERR_QUEUE_FULL');
      assert.equal((err as { headers?: Record<string, string> }).headers?.['retry-after'], '1');
      return true;
    });
    await f.scheduler.infer(step(1n, 1, { end: true }));
    const sums = (await Promise.all(waiting)).map((r) => scalar(r.outputs, 'SUM'));
    assert.deepEqual(sums, [1, 1, 1]);
  });

  it('drains: refuses new requests, frees idle sequences so the backlog runs, then resolves', async () => {
    const g = await sequenceFixture(
      accumulatorModel('acc2', { sequenceConfig: '  oldest: { max_candidate_sequences: 1 }\n' }),
      'acc2',
    );
    try {
      await g.scheduler.infer(step(1n, 1, { start: true }));
      const backlogged = g.scheduler.infer(step(2n, 7, { start: true }));
      const drained = g.scheduler.drain();
      await assert.rejects(g.scheduler.infer(step(1n, 1)), (err) => code(err) === 'INF_ERR_UNAVAILABLE');
      assert.equal(scalar((await backlogged).outputs, 'SUM'), 7);
      await drained;
      assert.equal(g.scheduler.pending, 0);
      assert.equal(g.scheduler.activeSequences, 0);
    } finally {
      await g.close();
    }
  });
});

describe('the direct strategy (max_batch_size 2: two slots, one per row)', () => {
  let f: SequenceFixture;
  before(async () => {
    f = await sequenceFixture(
      accumulatorModel('accd', {
        maxBatchSize: 2,
        sequenceConfig: '  direct: { max_queue_delay_microseconds: 20000 }\n',
      }),
      'accd',
    );
  });
  after(async () => f.close());

  it('keeps each sequence in its row, batches rows together, and queues a third sequence', async () => {
    const execBefore = f.stats.executionCount;
    const calls = [];
    for (let j = 0; j < 4; j++) {
      calls.push(f.scheduler.infer(step(1n, 1, { start: j === 0, end: j === 3 })));
      calls.push(f.scheduler.infer(step(2n, 10, { start: j === 0 })));
    }
    const third = f.scheduler.infer(step(3n, 100, { start: true, end: true }));
    const results = await Promise.all(calls);
    assert.deepEqual(
      results.map((r) => scalar(r.outputs, 'SUM')),
      [1, 10, 2, 20, 3, 30, 4, 40],
    );
    assert.equal(scalar((await third).outputs, 'SUM'), 100, 'the third sequence took the freed slot');
    assert.ok(f.stats.executionCount - execBefore < 9, 'rows of the two sequences shared executions');
    await f.scheduler.infer(step(2n, 0, { end: true }));
  });

  it('feeds READY true only to the rows holding a request', async () => {
    await f.scheduler.infer(step(11n, 1, { start: true }));
    await f.scheduler.infer(step(12n, 1, { start: true }));
    // Only sequence 12 (row 1) has a request: row 0 runs idle, READY false, its state untouched.
    const r = await f.scheduler.infer(step(12n, 1, { end: true }));
    assert.equal(scalar(r.outputs, 'READY_OUT'), 1);
    assert.equal(scalar(r.outputs, 'SUM'), 2);
    const other = await f.scheduler.infer(step(11n, 5, { end: true }));
    assert.equal(scalar(other.outputs, 'SUM'), 6, 'the idle row kept its state');
  });
});
