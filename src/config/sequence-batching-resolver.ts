// Resolves a config's `sequence_batching` (stateful models) against the graph: which inputs and
// outputs the sequence batcher feeds itself, and every control and state tensor checked for
// existence, datatype and shape, so nothing of it can fail at run time.

import { shapeText, type ConfigIssue } from './config-issues.js';
import { MODEL_CONFIG_DEFAULTS, type SequenceBatchingConfig } from './model-config-schema.js';
import type {
  ResolvedSequenceBatching,
  ResolvedSequenceControl,
  ResolvedSequenceState,
  SequenceControlKind,
} from './resolved-model-config.js';
import type { GraphSignature, GraphTensor } from './graph-signature.js';
import { datatypeFromConfigName, type Datatype } from '../tensor/datatype.js';

/** Names the sequence batcher feeds (control and state inputs) and consumes (state outputs). */
export function serverFedNames(sequence: SequenceBatchingConfig | undefined): {
  inputs: ReadonlySet<string>;
  outputs: ReadonlySet<string>;
} {
  const inputs = new Set<string>();
  const outputs = new Set<string>();
  for (const c of sequence?.control_input ?? []) inputs.add(c.name);
  for (const s of sequence?.state ?? []) {
    inputs.add(s.input_name);
    outputs.add(s.output_name);
  }
  return { inputs, outputs };
}

/** Datatypes a CORRID control may have (Triton's list; TYPE_STRING for string ids). */
const CORRID_TYPES: readonly Datatype[] = ['UINT64', 'INT64', 'UINT32', 'INT32', 'BYTES'];

/**
 * Resolves `sequence_batching` against the graph: every control and state tensor must exist with
 * the configured datatype and a compatible shape, each input is fed once, and a state's input and
 * output agree, so nothing of this can fail at run time. Issues are appended to `issues`.
 */
export function resolveSequenceBatching(
  sequence: SequenceBatchingConfig,
  maxBatchSize: number,
  graph: GraphSignature,
  graphTypes: ReadonlyMap<string, Datatype>,
  file: string,
  issues: ConfigIssue[],
): ResolvedSequenceBatching {
  const rowDims = (m: GraphTensor): number[] => (maxBatchSize > 0 ? m.shape.slice(1) : [...m.shape]);
  const afterBatch = maxBatchSize > 0 ? ' after the batch dimension' : '';
  const names = (list: readonly GraphTensor[]) => list.map((m) => `'${m.name}'`).join(', ');
  const feeders = new Map<string, string>();
  const claim = (name: string, field: string): void => {
    const previous = feeders.get(name);
    if (previous === undefined) feeders.set(name, field);
    else issues.push({ file, field, reason: `input '${name}' is already fed by ${previous}` });
  };
  const find = (kind: 'input' | 'output', name: string, field: string): GraphTensor | undefined => {
    const list = kind === 'input' ? graph.inputs : graph.outputs;
    const meta = list.find((m) => m.name === name);
    if (meta === undefined)
      issues.push({ file, field, reason: `the model has no ${kind} '${name}'; it has ${names(list)}` });
    return meta;
  };

  const controls: ResolvedSequenceControl[] = [];
  const kinds = new Set<SequenceControlKind>();
  sequence.control_input.forEach((input, i) => {
    const field = `sequence_batching.control_input[${i}]`;
    const control = input.control[0];
    if (control === undefined) return;
    const kind = control.kind.slice('CONTROL_SEQUENCE_'.length) as SequenceControlKind;
    if (kinds.has(kind))
      issues.push({ file, field: `${field}.control[0].kind`, reason: `${control.kind} is given more than once` });
    kinds.add(kind);
    claim(input.name, `${field}.name`);
    const values: [Datatype, readonly [number | boolean, number | boolean]][] = [];
    if (control.int32_false_true !== undefined) values.push(['INT32', control.int32_false_true]);
    if (control.fp32_false_true !== undefined) values.push(['FP32', control.fp32_false_true]);
    if (control.bool_false_true !== undefined) values.push(['BOOL', control.bool_false_true]);
    let datatype: Datatype | undefined;
    let falseTrue: [number, number] = [0, 0];
    if (kind === 'CORRID') {
      if (values.length > 0)
        issues.push({
          file,
          field: `${field}.control[0]`,
          reason: 'CONTROL_SEQUENCE_CORRID takes data_type, not false/true values',
        });
      datatype = control.data_type === undefined ? undefined : datatypeFromConfigName(control.data_type);
      if (datatype === undefined || !CORRID_TYPES.includes(datatype)) {
        issues.push({
          file,
          field: `${field}.control[0].data_type`,
          reason: `CONTROL_SEQUENCE_CORRID needs data_type TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 or TYPE_STRING${control.data_type === undefined ? '' : `, not ${control.data_type}`}`,
        });
        datatype = undefined;
      }
    } else {
      if (control.data_type !== undefined)
        issues.push({
          file,
          field: `${field}.control[0].data_type`,
          reason: `${control.kind} takes int32_false_true, fp32_false_true or bool_false_true, not data_type`,
        });
      const [only, ...more] = values;
      if (only === undefined || more.length > 0) {
        issues.push({
          file,
          field: `${field}.control[0]`,
          reason: `${control.kind} needs exactly one of int32_false_true, fp32_false_true or bool_false_true`,
        });
      } else {
        datatype = only[0];
        const [f, t] = only[1];
        falseTrue = [Number(f), Number(t)];
      }
    }
    const meta = find('input', input.name, `${field}.name`);
    if (meta === undefined || datatype === undefined) return;
    const graphDt = graphTypes.get(`input:${input.name}`);
    if (graphDt !== datatype) {
      issues.push({
        file,
        field: `${field}.control[0]`,
        reason: `feeds ${datatype}, but the model's input '${input.name}' is ${graphDt}`,
      });
    }
    const dims = rowDims(meta);
    if (dims.some((d) => d !== 1 && d !== -1)) {
      issues.push({
        file,
        field: `${field}.name`,
        reason: `the model's input '${input.name}' has shape ${shapeText(dims)}${afterBatch}; a control input holds one value (shape [1] or [])`,
      });
    }
    controls.push({ kind, name: input.name, datatype, dims: dims.map(() => 1), falseTrue });
  });

  const states: ResolvedSequenceState[] = [];
  const stateOutputs = new Set<string>();
  sequence.state.forEach((s, i) => {
    const field = `sequence_batching.state[${i}]`;
    claim(s.input_name, `${field}.input_name`);
    if (stateOutputs.has(s.output_name))
      issues.push({
        file,
        field: `${field}.output_name`,
        reason: `output '${s.output_name}' already feeds another state`,
      });
    stateOutputs.add(s.output_name);
    const datatype = datatypeFromConfigName(s.data_type);
    if (datatype === undefined || datatype === 'BYTES') {
      issues.push({
        file,
        field: `${field}.data_type`,
        reason: 'string (TYPE_STRING) states are not supported; use a numeric type',
      });
    }
    const input = find('input', s.input_name, `${field}.input_name`);
    const output = find('output', s.output_name, `${field}.output_name`);
    for (const [kind, meta] of [['input', input] as const, ['output', output] as const]) {
      if (meta === undefined || datatype === undefined) continue;
      const graphDt = graphTypes.get(`${kind}:${meta.name}`);
      if (graphDt !== datatype)
        issues.push({
          file,
          field: `${field}.data_type`,
          reason: `is ${s.data_type}, but the model's ${kind} '${meta.name}' is ${graphDt}`,
        });
      const gd = rowDims(meta);
      if (gd.length !== s.dims.length || gd.some((d, j) => d !== -1 && d !== s.dims[j])) {
        issues.push({
          file,
          field: `${field}.dims`,
          reason: `is ${shapeText(s.dims)}, but the model's ${kind} '${meta.name}' has ${shapeText(gd)}${afterBatch}`,
        });
      }
    }
    if (datatype !== undefined)
      states.push({ inputName: s.input_name, outputName: s.output_name, datatype, dims: [...s.dims] });
  });

  const rows = Math.max(1, maxBatchSize);
  const oldest = sequence.oldest ?? MODEL_CONFIG_DEFAULTS.sequence_batching.oldest;
  oldest.preferred_batch_size.forEach((size, i) => {
    if (size > rows)
      issues.push({
        file,
        field: `sequence_batching.oldest.preferred_batch_size[${i}]`,
        reason: `is ${size}, over max_batch_size ${maxBatchSize}${maxBatchSize === 0 ? ' (one request per execution)' : ''}`,
      });
  });
  return {
    maxSequenceIdleMicroseconds: sequence.max_sequence_idle_microseconds,
    controls,
    states,
    strategy:
      sequence.direct !== undefined
        ? { kind: 'direct', maxQueueDelayMicroseconds: sequence.direct.max_queue_delay_microseconds }
        : {
            kind: 'oldest',
            maxCandidateSequences: oldest.max_candidate_sequences,
            preferredBatchSizes: [...oldest.preferred_batch_size].sort((a, b) => a - b),
            maxQueueDelayMicroseconds: oldest.max_queue_delay_microseconds,
          },
  };
}
