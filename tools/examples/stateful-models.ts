// Stateful example models for the sequence batcher, built in code: accumulators whose state is the
// running sum of their input and which echo their control inputs, so a client (or a test) can
// check both. tools/examples/make-accumulator.ts writes one into a repository.

import { GraphBuilder } from '../onnx/onnx-builder.js';
import type { ExampleFile } from './example-models.js';

const MODEL_OPTIONS = { opset: 17, irVersion: 8 } as const;

/**
 * Batched accumulator (`max_batch_size` 8 by default): SUM = STATE_OUT = STATE_IN + INPUT (INT32
 * [-1,1]); START, READY (INT32) and END (FP32) controls and a UINT64 CORRID are echoed as
 * START_OUT, READY_OUT, END_OUT and CORRID_OUT. `sequenceConfig` is the body of
 * `sequence_batching` (YAML, indented two spaces) after the controls and state; `extra` is
 * appended to the config as it is.
 */
export function accumulatorModel(
  name: string,
  options: { maxBatchSize?: number; sequenceConfig?: string; extra?: string } = {},
): ExampleFile[] {
  const g = new GraphBuilder(name)
    .input('INPUT', 'INT32', [-1, 1])
    .input('STATE_IN', 'INT32', [-1, 1])
    .input('START', 'INT32', [-1, 1])
    .input('READY', 'INT32', [-1, 1])
    .input('END', 'FP32', [-1, 1])
    .input('CORRID', 'UINT64', [-1, 1])
    .node('Add', ['STATE_IN', 'INPUT'], ['STATE_OUT'])
    .node('Identity', ['STATE_OUT'], ['SUM'])
    .node('Identity', ['START'], ['START_OUT'])
    .node('Identity', ['READY'], ['READY_OUT'])
    .node('Identity', ['END'], ['END_OUT'])
    .node('Identity', ['CORRID'], ['CORRID_OUT'])
    .output('SUM', 'INT32', [-1, 1])
    .output('STATE_OUT', 'INT32', [-1, 1])
    .output('START_OUT', 'INT32', [-1, 1])
    .output('READY_OUT', 'INT32', [-1, 1])
    .output('END_OUT', 'FP32', [-1, 1])
    .output('CORRID_OUT', 'UINT64', [-1, 1]);
  const config = `max_batch_size: ${options.maxBatchSize ?? 8}
sequence_batching:
  control_input:
    - { name: START, control: [{ kind: CONTROL_SEQUENCE_START, int32_false_true: [0, 1] }] }
    - { name: READY, control: [{ kind: CONTROL_SEQUENCE_READY, int32_false_true: [0, 1] }] }
    - { name: END, control: [{ kind: CONTROL_SEQUENCE_END, fp32_false_true: [0, 1] }] }
    - { name: CORRID, control: [{ kind: CONTROL_SEQUENCE_CORRID, data_type: TYPE_UINT64 }] }
  state:
    - { input_name: STATE_IN, output_name: STATE_OUT, data_type: TYPE_INT32, dims: [1] }
${options.sequenceConfig ?? ''}${options.extra ?? ''}`;
  return [
    { path: `${name}/1/model.onnx`, bytes: g.toBytes(MODEL_OPTIONS) },
    { path: `${name}/config.yaml`, bytes: config },
  ];
}

/**
 * Accumulator without a batch dimension (`max_batch_size` 0): SUM = STATE_OUT = STATE_IN + INPUT
 * (INT32 [1]), a BOOL START control echoed as START_OUT and a string CORRID echoed as CORRID_OUT.
 */
export function unbatchedAccumulatorModel(name: string, sequenceConfig = '', extra = ''): ExampleFile[] {
  const g = new GraphBuilder(name)
    .input('INPUT', 'INT32', [1])
    .input('STATE_IN', 'INT32', [1])
    .input('START', 'BOOL', [1])
    .input('CORRID', 'BYTES', [1])
    .node('Add', ['STATE_IN', 'INPUT'], ['STATE_OUT'])
    .node('Identity', ['STATE_OUT'], ['SUM'])
    .node('Identity', ['START'], ['START_OUT'])
    .node('Identity', ['CORRID'], ['CORRID_OUT'])
    .output('SUM', 'INT32', [1])
    .output('STATE_OUT', 'INT32', [1])
    .output('START_OUT', 'BOOL', [1])
    .output('CORRID_OUT', 'BYTES', [1]);
  const config = `max_batch_size: 0
sequence_batching:
  control_input:
    - { name: START, control: [{ kind: CONTROL_SEQUENCE_START, bool_false_true: [false, true] }] }
    - { name: CORRID, control: [{ kind: CONTROL_SEQUENCE_CORRID, data_type: TYPE_STRING }] }
  state:
    - { input_name: STATE_IN, output_name: STATE_OUT, data_type: TYPE_INT32, dims: [1] }
${sequenceConfig}${extra}`;
  return [
    { path: `${name}/1/model.onnx`, bytes: g.toBytes(MODEL_OPTIONS) },
    { path: `${name}/config.yaml`, bytes: config },
  ];
}
