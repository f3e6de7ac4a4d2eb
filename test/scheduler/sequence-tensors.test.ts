// One execution's inputs from its rows (client inputs, state, controls; idle rows zero with every
// flag false), and each row's outputs taken back apart (client outputs, next state).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedSequenceBatching } from '../../src/config/resolved-model-config.js';
import { assembleInputs, rowOutputs, zeroStates } from '../../src/scheduler/sequence-tensors.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { step } from './sequence-fixture.js';

const SPEC: ResolvedSequenceBatching = {
  maxSequenceIdleMicroseconds: 1_000_000,
  controls: [
    { kind: 'START', name: 'S', datatype: 'INT32', dims: [1], falseTrue: [5, 6] },
    { kind: 'READY', name: 'R', datatype: 'FP32', dims: [1], falseTrue: [-1, 1] },
    { kind: 'END', name: 'E', datatype: 'BOOL', dims: [1], falseTrue: [0, 1] },
    { kind: 'CORRID', name: 'C', datatype: 'INT64', dims: [1], falseTrue: [0, 0] },
  ],
  states: [{ inputName: 'H', outputName: 'HN', datatype: 'FP32', dims: [2] }],
  strategy: { kind: 'direct', maxQueueDelayMicroseconds: 0 },
};

function byName(tensors: readonly Tensor[], name: string): Tensor {
  const t = tensors.find((x) => x.name === name);
  assert.ok(t !== undefined, `tensor ${name}`);
  return t;
}

describe('sequence tensors', () => {
  it('puts each row in its place and gives idle rows zero inputs, zero state and false flags', () => {
    const state: Tensor = { name: 'H', datatype: 'FP32', shape: [2], data: Float32Array.of(3, 4) };
    const inputs = assembleInputs(SPEC, 4, [
      undefined,
      { request: step(21n, 7, { start: true }), start: true, end: false, states: zeroStates(SPEC) },
      undefined,
      { request: step(22n, 9, { end: true }), start: false, end: true, states: [state] },
    ]);
    assert.deepEqual(
      inputs.map((t) => [t.name, t.shape]),
      [
        ['INPUT', [4, 1]],
        ['H', [4, 2]],
        ['S', [4, 1]],
        ['R', [4, 1]],
        ['E', [4, 1]],
        ['C', [4, 1]],
      ],
    );
    assert.deepEqual([...(byName(inputs, 'INPUT').data as Int32Array)], [0, 7, 0, 9]);
    assert.deepEqual([...(byName(inputs, 'H').data as Float32Array)], [0, 0, 0, 0, 0, 0, 3, 4]);
    assert.deepEqual([...(byName(inputs, 'S').data as Int32Array)], [5, 6, 5, 5]);
    assert.deepEqual([...(byName(inputs, 'R').data as Float32Array)], [-1, 1, -1, 1]);
    assert.deepEqual([...(byName(inputs, 'E').data as Uint8Array)], [0, 0, 0, 1]);
    assert.deepEqual([...(byName(inputs, 'C').data as BigInt64Array)], [0n, 21n, 0n, 22n]);
    assert.notEqual(
      (byName(inputs, 'H').data as Float32Array).buffer,
      state.data.buffer,
      'the state is copied, not handed over',
    );
  });

  it('keeps unbatched shapes as they are (max_batch_size 0)', () => {
    const spec: ResolvedSequenceBatching = { ...SPEC, controls: [{ ...SPEC.controls[0]!, dims: [] }] };
    const request = step(1n, 3, { batched: false });
    const inputs = assembleInputs(spec, 0, [{ request, start: false, end: false, states: zeroStates(spec) }]);
    assert.deepEqual(
      inputs.map((t) => [t.name, t.shape]),
      [
        ['INPUT', [1]],
        ['H', [2]],
        ['S', []],
      ],
    );
    assert.deepEqual([...(byName(inputs, 'S').data as Int32Array)], [5]);
  });

  it("splits a row's client outputs and copies its next state, checking the state's shape", () => {
    const outputs: Tensor[] = [
      { name: 'Y', datatype: 'INT32', shape: [2, 1], data: Int32Array.of(10, 20) },
      { name: 'HN', datatype: 'FP32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
    ];
    const row = rowOutputs(SPEC, 4, outputs, 2, 1);
    assert.deepEqual(
      row.outputs.map((t) => [t.name, t.shape, [...(t.data as Int32Array)]]),
      [['Y', [1, 1], [20]]],
    );
    assert.deepEqual(row.states[0]?.shape, [2]);
    assert.deepEqual([...(row.states[0]?.data as Float32Array)], [3, 4]);
    assert.equal((row.states[0]?.data as Float32Array).buffer.byteLength, 8, 'an own copy of the row');
    const wrong: Tensor[] = [outputs[0]!, { name: 'HN', datatype: 'FP32', shape: [2, 3], data: new Float32Array(6) }];
    assert.throws(
      () => rowOutputs(SPEC, 4, wrong, 2, 0),
      /state output 'HN' is FP32 \[3\] per sequence, but sequence_batching.state says FP32 \[2\]/,
    );
  });
});
