// Sequence mistakes over REST get a 400 that names the sequence or parameter and the reason, and
// the server keeps serving after each; START restarts a sequence; END frees the slot for a waiting
// sequence; an idle sequence expires.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accumulatorModel } from '../../fixtures/stateful-models.js';
import { waitFor } from '../repository/fixtures.js';
import { SIMPLE_JSON_REQUEST, assertError, postInfer } from '../rest/rest-wire.js';
import {
  accumulatorStep,
  assertStillServing,
  sequenceBatcherOf,
  startSequenceServer,
  values,
  type SequenceServer,
} from './sequence-wire.js';

describe('sequence errors and slots over REST', () => {
  let s: SequenceServer;
  before(async () => {
    s = await startSequenceServer([
      ...accumulatorModel('acc', { sequenceConfig: '  max_sequence_idle_microseconds: 100000\n' }),
      ...accumulatorModel('one_slot', { sequenceConfig: '  oldest: { max_candidate_sequences: 1 }\n' }),
    ]);
  });
  after(async () => s.close());

  it('refuses a request for a sequence that was never started', async () => {
    const reply = await accumulatorStep(s.server, 'acc', 31337, 1);
    assertError(
      reply,
      400,
      `sequence 31337 of model 'acc' is unknown: its first request must have "sequence_start": true`,
    );
    await assertStillServing(s.server);
  });

  it('refuses a request after the sequence ended, and accepts a new START for the id', async () => {
    values(await accumulatorStep(s.server, 'acc', 12, 1, { start: true, end: true }));
    assertError(await accumulatorStep(s.server, 'acc', 12, 1), 400, "sequence 12 of model 'acc' has ended");
    assert.equal(values(await accumulatorStep(s.server, 'acc', 12, 4, { start: true, end: true })).SUM, 4);
    await assertStillServing(s.server);
  });

  it('expires a sequence idle for max_sequence_idle_microseconds and says so', async () => {
    values(await accumulatorStep(s.server, 'acc', 13, 1, { start: true }));
    const batcher = sequenceBatcherOf(s.server, 'acc');
    assert.equal(batcher.activeSequences, 1);
    await waitFor(() => batcher.activeSequences === 0, 5000, 'the idle sequence to give its slot back');
    const reply = await accumulatorStep(s.server, 'acc', 13, 1);
    assertError(
      reply,
      400,
      "sequence 13 of model 'acc' expired: it had no request for 100000 µs (max_sequence_idle_microseconds)",
    );
    await assertStillServing(s.server);
  });

  it('restarts a sequence from zero when START arrives for an active id', async () => {
    values(await accumulatorStep(s.server, 'acc', 14, 50, { start: true }));
    assert.equal(values(await accumulatorStep(s.server, 'acc', 14, 50)).SUM, 100);
    const restarted = values(await accumulatorStep(s.server, 'acc', 14, 7, { start: true }));
    assert.equal(restarted.SUM, 7);
    assert.equal(restarted.START_OUT, 1);
    assert.equal(values(await accumulatorStep(s.server, 'acc', 14, 1, { end: true })).SUM, 8);
  });

  it('holds a sequence while the only slot is taken, and runs it once END frees the slot', async () => {
    values(await accumulatorStep(s.server, 'one_slot', 1, 5, { start: true }));
    let waitingDone = false;
    const waiting = accumulatorStep(s.server, 'one_slot', 2, 9, { start: true }).then((r) => {
      waitingDone = true;
      return r;
    });
    const batcher = sequenceBatcherOf(s.server, 'one_slot');
    await waitFor(() => batcher.backlogSequences === 1, 5000, 'the second sequence to reach the backlog');
    assert.equal(waitingDone, false, 'the second sequence waits for the slot');
    assert.equal(values(await accumulatorStep(s.server, 'one_slot', 1, 5)).SUM, 10, 'the first keeps running');
    assert.equal(values(await accumulatorStep(s.server, 'one_slot', 1, 5, { end: true })).SUM, 15);
    assert.equal(values(await waiting).SUM, 9);
    assert.equal(values(await accumulatorStep(s.server, 'one_slot', 2, 1, { end: true })).SUM, 10);
  });

  it('refuses sequence parameters for a model without sequence_batching', async () => {
    const reply = await postInfer(s.server, 'simple', {
      ...SIMPLE_JSON_REQUEST,
      parameters: { sequence_id: 5, sequence_start: true },
    });
    assertError(reply, 400, "model 'simple' is not stateful (its config has no sequence_batching)");
    await assertStillServing(s.server);
  });

  it('refuses a request to a stateful model without a sequence_id', async () => {
    const reply = await postInfer(s.server, 'acc', {
      inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] }],
    });
    assertError(reply, 400, `model 'acc' is stateful (sequence_batching): every request needs a "sequence_id"`);
    await assertStillServing(s.server);
  });

  const badParameters: [string, Record<string, unknown>, string][] = [
    [
      'a non-boolean sequence_start',
      { sequence_id: 1, sequence_start: 'yes' },
      'parameter "sequence_start" must be true or false, got "yes"',
    ],
    [
      'a non-boolean sequence_end',
      { sequence_id: 1, sequence_end: 1 },
      'parameter "sequence_end" must be true or false, got 1',
    ],
    [
      'a negative sequence_id',
      { sequence_id: -4 },
      'parameter "sequence_id" must be an unsigned 64-bit integer or a string, got -4',
    ],
    [
      'a fractional sequence_id',
      { sequence_id: 2.5 },
      'parameter "sequence_id" must be an unsigned 64-bit integer or a string, got 2.5',
    ],
    [
      'sequence_start without an id',
      { sequence_start: true },
      'parameters "sequence_start" and "sequence_end" need a non-zero "sequence_id"',
    ],
    [
      'a string id for a UINT64 correlation id',
      { sequence_id: 'abc', sequence_start: true },
      '"sequence_id" "abc" must be an integer from 1 to 18446744073709551615',
    ],
  ];
  for (const [what, parameters, message] of badParameters) {
    it(`refuses ${what}, naming the parameter`, async () => {
      const reply = await postInfer(s.server, 'acc', {
        inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] }],
        parameters,
      });
      assertError(reply, 400, message);
      await assertStillServing(s.server);
    });
  }

  it('refuses a sequence request with more than one row', async () => {
    const reply = await postInfer(s.server, 'acc', {
      inputs: [{ name: 'INPUT', shape: [2, 1], datatype: 'INT32', data: [1, 2] }],
      parameters: { sequence_id: 20, sequence_start: true },
    });
    assertError(reply, 400, 'a request of a sequence holds one batch row; sequence 20 sent batch size 2');
    await assertStillServing(s.server);
  });
});
