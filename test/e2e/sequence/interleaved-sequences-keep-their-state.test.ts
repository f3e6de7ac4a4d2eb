// Stateful sequences over REST: many concurrent, interleaved sequences keep their sums apart while
// their requests share executions; the control inputs reach the model with their configured
// values; control and state tensors are invisible to clients.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accumulatorModel, unbatchedAccumulatorModel } from '../../fixtures/stateful-models.js';
import { assertError, postInfer, request } from '../rest/rest-wire.js';
import {
  accumulatorStep,
  assertStillServing,
  startSequenceServer,
  values,
  type SequenceServer,
} from './sequence-wire.js';

describe('interleaved sequences over REST', () => {
  let s: SequenceServer;
  before(async () => {
    s = await startSequenceServer([
      ...accumulatorModel('acc', { sequenceConfig: '  oldest: { max_queue_delay_microseconds: 20000 }\n' }),
      ...unbatchedAccumulatorModel('acc0'),
    ]);
  });
  after(async () => s.close());

  async function stats(model: string): Promise<{ inference_count: number; execution_count: number }> {
    const reply = await request(`${s.server.url}/v2/models/${model}/stats`);
    const body = JSON.parse(reply.text) as { model_stats: { inference_count: number; execution_count: number }[] };
    const first = body.model_stats[0];
    assert.ok(first !== undefined);
    return first;
  }

  it('keeps the sums of 16 concurrent sequences exact and batches their requests', async () => {
    const before = await stats('acc');
    const sequences = 16;
    const steps = 6;
    // Each sequence is a client sending its steps one after another; the sequences run at once.
    const clients = Array.from({ length: sequences }, async (_, k) => {
      const id = 500 + k;
      const sums: unknown[] = [];
      for (let j = 0; j < steps; j++) {
        const reply = await accumulatorStep(s.server, 'acc', id, k * 10 + j, { start: j === 0, end: j === steps - 1 });
        sums.push(values(reply).SUM);
      }
      return sums;
    });
    const results = await Promise.all(clients);
    results.forEach((sums, k) => {
      const expected = Array.from({ length: steps }, (_, j) =>
        Array.from({ length: j + 1 }, (_, i) => k * 10 + i).reduce((a, b) => a + b, 0),
      );
      assert.deepEqual(sums, expected, `sequence ${500 + k}`);
    });
    const after = await stats('acc');
    const inferences = after.inference_count - before.inference_count;
    const executions = after.execution_count - before.execution_count;
    assert.equal(inferences, sequences * steps);
    assert.ok(executions < inferences, `${executions} executions for ${inferences} requests: requests were batched`);
  });

  it('feeds START, READY, END and the correlation id to the model', async () => {
    const first = values(await accumulatorStep(s.server, 'acc', 9007199254740991, 2, { start: true }));
    assert.deepEqual(first, { SUM: 2, START_OUT: 1, READY_OUT: 1, END_OUT: 0, CORRID_OUT: 9007199254740991 });
    const middle = values(await accumulatorStep(s.server, 'acc', 9007199254740991, 3));
    assert.deepEqual(middle, { SUM: 5, START_OUT: 0, READY_OUT: 1, END_OUT: 0, CORRID_OUT: 9007199254740991 });
    const last = values(await accumulatorStep(s.server, 'acc', 9007199254740991, 4, { end: true }));
    assert.deepEqual(last, { SUM: 9, START_OUT: 0, READY_OUT: 1, END_OUT: 1, CORRID_OUT: 9007199254740991 });
  });

  it('serves a model without a batch dimension with string ids', async () => {
    const post = (id: string, value: number, start = false, end = false) =>
      postInfer(s.server, 'acc0', {
        inputs: [{ name: 'INPUT', shape: [1], datatype: 'INT32', data: [value] }],
        parameters: { sequence_id: id, sequence_start: start, sequence_end: end },
      });
    const [a1, b1] = await Promise.all([post('left', 1, true), post('right', 100, true)]);
    assert.deepEqual(values(a1), { SUM: 1, START_OUT: true, CORRID_OUT: 'left' });
    assert.deepEqual(values(b1), { SUM: 100, START_OUT: true, CORRID_OUT: 'right' });
    const [a2, b2] = await Promise.all([post('left', 2, false, true), post('right', 200, false, true)]);
    assert.deepEqual(values(a2), { SUM: 3, START_OUT: false, CORRID_OUT: 'left' });
    assert.deepEqual(values(b2), { SUM: 300, START_OUT: false, CORRID_OUT: 'right' });
    const integer = await post('', 1);
    assertError(integer, 400, 'model \'acc0\' is stateful (sequence_batching): every request needs a "sequence_id"');
  });

  it('shows clients only their own inputs and outputs, and refuses a control input sent by one', async () => {
    const meta = JSON.parse((await request(`${s.server.url}/v2/models/acc`)).text) as {
      inputs: { name: string }[];
      outputs: { name: string }[];
    };
    assert.deepEqual(
      meta.inputs.map((i) => i.name),
      ['INPUT'],
    );
    assert.deepEqual(
      meta.outputs.map((o) => o.name),
      ['SUM', 'START_OUT', 'READY_OUT', 'END_OUT', 'CORRID_OUT'],
    );
    const reply = await postInfer(s.server, 'acc', {
      inputs: [
        { name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] },
        { name: 'STATE_IN', shape: [1, 1], datatype: 'INT32', data: [1000] },
      ],
      parameters: { sequence_id: 3, sequence_start: true },
    });
    assertError(reply, 400, "unexpected inference input 'STATE_IN' for model 'acc'");
    const asked = await postInfer(s.server, 'acc', {
      inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [1] }],
      outputs: [{ name: 'STATE_OUT' }],
      parameters: { sequence_id: 3, sequence_start: true },
    });
    assertError(asked, 400, "unexpected inference output 'STATE_OUT' for model 'acc'");
    await assertStillServing(s.server);
  });
});
