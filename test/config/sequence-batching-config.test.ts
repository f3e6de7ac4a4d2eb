// Resolving `sequence_batching` against the ONNX graph: control and state tensors are hidden from
// clients (also when the config is completed from the graph), and every mistake that would fail at
// run time is reported at load as file / field / reason.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import { modelConfigSchema, type ModelConfigInput } from '../../src/config/model-config-schema.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { Loaded } from '../../src/config/model-config-file.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import type { ModelFolder } from '../../src/repository/repository-scanner.js';
import type { GraphTensor } from '../../src/config/graph-signature.js';
import { datatypeFromOrt } from '../../src/runtime/index.js';

const DIR = path.join('/repo', 'acc');
const FILE = path.join(DIR, 'config.yaml');

function io(name: string, ortType: string, shape: number[]): GraphTensor {
  return { name, elementType: ortType, datatype: datatypeFromOrt(ortType), isTensor: true, shape };
}

/** The accumulator's graph (test/fixtures/stateful-models.ts). */
const ACC_GRAPH = {
  inputs: [
    io('INPUT', 'int32', [-1, 1]),
    io('STATE_IN', 'int32', [-1, 1]),
    io('START', 'int32', [-1, 1]),
    io('READY', 'int32', [-1, 1]),
    io('END', 'float32', [-1, 1]),
    io('CORRID', 'uint64', [-1, 1]),
  ],
  outputs: [io('SUM', 'int32', [-1, 1]), io('STATE_OUT', 'int32', [-1, 1]), io('START_OUT', 'int32', [-1, 1])],
};

/** Silero VAD's graph, as onnxruntime reports it (symbolic dimensions as -1). */
const SILERO_GRAPH = {
  inputs: [
    io('input', 'float32', [-1, -1]),
    io('sr', 'int64', []),
    io('h', 'float32', [2, -1, 64]),
    io('c', 'float32', [2, -1, 64]),
  ],
  outputs: [io('output', 'float32', [-1, 1]), io('hn', 'float32', [2, -1, 64]), io('cn', 'float32', [2, -1, 64])],
};

type Sequence = NonNullable<ModelConfigInput['sequence_batching']>;
type Controls = NonNullable<Sequence['control_input']>;
type States = NonNullable<Sequence['state']>;

const CONTROLS: Controls = [
  { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] },
  { name: 'READY', control: [{ kind: 'CONTROL_SEQUENCE_READY', int32_false_true: [0, 1] }] },
  { name: 'END', control: [{ kind: 'CONTROL_SEQUENCE_END', fp32_false_true: [0, 1] }] },
  { name: 'CORRID', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_UINT64' }] },
];
const STATE: States = [{ input_name: 'STATE_IN', output_name: 'STATE_OUT', data_type: 'TYPE_INT32', dims: [1] }];

/** The accumulator's controls with the one feeding `name` replaced. */
function replaceControl(name: string, control: Controls[number]['control'][number]): Controls {
  return CONTROLS.map((c) => (c.name === name ? { name, control: [control] } : c));
}

function resolve(
  config: ModelConfigInput,
  graph: { inputs: GraphTensor[]; outputs: GraphTensor[] } = ACC_GRAPH,
): Loaded<ResolvedModelConfig> {
  const folder: ModelFolder = { name: 'acc', dir: DIR, versions: [1], configFiles: ['config.yaml'], fingerprint: '' };
  return resolveModelConfig(folder, modelConfigSchema.parse(config), graph);
}

function withSequence(sequence: Partial<Sequence>, more: ModelConfigInput = {}): Loaded<ResolvedModelConfig> {
  return resolve({
    max_batch_size: 8,
    sequence_batching: { control_input: CONTROLS, state: STATE, ...sequence },
    ...more,
  });
}

function resolved(result: Loaded<ResolvedModelConfig>): ResolvedModelConfig {
  if (!result.ok) assert.fail(`expected a resolved config, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issues(result: Loaded<ResolvedModelConfig>): readonly ConfigIssue[] {
  if (result.ok) assert.fail('expected the config to be refused');
  return result.issues;
}

describe('sequence_batching resolution', () => {
  it('hides control and state tensors from the client-visible inputs and outputs when completing from the graph', () => {
    const c = resolved(withSequence({}));
    assert.deepEqual(
      c.inputs.map((i) => i.name),
      ['INPUT'],
    );
    assert.deepEqual(
      c.outputs.map((o) => o.name),
      ['SUM', 'START_OUT'],
    );
    const seq = c.sequenceBatching;
    assert.ok(seq !== undefined);
    assert.equal(seq.maxSequenceIdleMicroseconds, 1_000_000);
    assert.deepEqual(
      seq.controls.map((k) => [k.kind, k.name, k.datatype, k.dims, k.falseTrue]),
      [
        ['START', 'START', 'INT32', [1], [0, 1]],
        ['READY', 'READY', 'INT32', [1], [0, 1]],
        ['END', 'END', 'FP32', [1], [0, 1]],
        ['CORRID', 'CORRID', 'UINT64', [1], [0, 0]],
      ],
    );
    assert.deepEqual(seq.states, [{ inputName: 'STATE_IN', outputName: 'STATE_OUT', datatype: 'INT32', dims: [1] }]);
    assert.deepEqual(seq.strategy, {
      kind: 'oldest',
      maxCandidateSequences: 64,
      preferredBatchSizes: [],
      maxQueueDelayMicroseconds: 0,
    });
  });

  it('accepts explicit inputs and outputs that leave the server-fed tensors out, and the direct strategy', () => {
    const c = resolved(
      withSequence(
        { direct: { max_queue_delay_microseconds: 100 } },
        {
          input: [{ name: 'INPUT', data_type: 'TYPE_INT32', dims: [1] }],
          output: [{ name: 'SUM', data_type: 'TYPE_INT32', dims: [1] }],
        },
      ),
    );
    assert.deepEqual(
      c.inputs.map((i) => i.name),
      ['INPUT'],
    );
    assert.deepEqual(c.sequenceBatching?.strategy, { kind: 'direct', maxQueueDelayMicroseconds: 100 });
  });

  it('refuses control and state tensors listed as client inputs or outputs', () => {
    const found = issues(
      withSequence(
        {},
        {
          input: [
            { name: 'INPUT', data_type: 'TYPE_INT32', dims: [1] },
            { name: 'START', data_type: 'TYPE_INT32', dims: [1] },
          ],
          output: [{ name: 'STATE_OUT', data_type: 'TYPE_INT32', dims: [1] }],
        },
      ),
    );
    assert.deepEqual(found, [
      {
        file: FILE,
        field: 'input[1].name',
        reason: "'START' is fed by the server (sequence_batching control or state input); remove it from input",
      },
      {
        file: FILE,
        field: 'output[0].name',
        reason: "'STATE_OUT' is fed by the server (sequence_batching state output); remove it from output",
      },
    ]);
  });

  it('serves Silero VAD without a batch dimension, its state batch axis in the middle', () => {
    const c = resolved(
      resolve(
        {
          max_batch_size: 0,
          sequence_batching: {
            state: [
              { input_name: 'h', output_name: 'hn', data_type: 'TYPE_FP32', dims: [2, 1, 64] },
              { input_name: 'c', output_name: 'cn', data_type: 'TYPE_FP32', dims: [2, 1, 64] },
            ],
          },
        },
        SILERO_GRAPH,
      ),
    );
    assert.deepEqual(
      c.inputs.map((i) => [i.name, i.dims]),
      [
        ['input', [-1, -1]],
        ['sr', []],
      ],
    );
    assert.deepEqual(
      c.outputs.map((o) => o.name),
      ['output'],
    );
    assert.equal(c.sequenceBatching?.states.length, 2);
  });

  const refusals: [string, Loaded<ResolvedModelConfig>, ConfigIssue[]][] = [
    [
      'a control input the graph lacks',
      withSequence({
        control_input: [{ name: 'BEGIN', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] }],
      }),
      [
        {
          file: FILE,
          field: 'sequence_batching.control_input[0].name',
          reason: "the model has no input 'BEGIN'; it has 'INPUT', 'STATE_IN', 'START', 'READY', 'END', 'CORRID'",
        },
      ],
    ],
    [
      'control values of the wrong type for the graph input',
      withSequence({
        control_input: replaceControl('END', { kind: 'CONTROL_SEQUENCE_END', int32_false_true: [0, 1] }),
      }),
      [
        {
          file: FILE,
          field: 'sequence_batching.control_input[2].control[0]',
          reason: "feeds INT32, but the model's input 'END' is FP32",
        },
      ],
    ],
    [
      'a START control with two kinds of values',
      withSequence({
        control_input: replaceControl('START', {
          kind: 'CONTROL_SEQUENCE_START',
          int32_false_true: [0, 1],
          fp32_false_true: [0, 1],
        }),
      }),
      [
        {
          file: FILE,
          field: 'sequence_batching.control_input[0].control[0]',
          reason: 'CONTROL_SEQUENCE_START needs exactly one of int32_false_true, fp32_false_true or bool_false_true',
        },
      ],
    ],
    [
      'a CORRID without a data_type',
      withSequence({ control_input: replaceControl('CORRID', { kind: 'CONTROL_SEQUENCE_CORRID' }) }),
      [
        {
          file: FILE,
          field: 'sequence_batching.control_input[3].control[0].data_type',
          reason:
            'CONTROL_SEQUENCE_CORRID needs data_type TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 or TYPE_STRING',
        },
      ],
    ],
    [
      'the same control kind twice, and one input fed twice',
      withSequence({
        control_input: [
          ...CONTROLS,
          { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] },
        ],
      }),
      [
        {
          file: FILE,
          field: 'sequence_batching.control_input[4].control[0].kind',
          reason: 'CONTROL_SEQUENCE_START is given more than once',
        },
        {
          file: FILE,
          field: 'sequence_batching.control_input[4].name',
          reason: "input 'START' is already fed by sequence_batching.control_input[0].name",
        },
      ],
    ],
    [
      'a state whose dims differ from the graph',
      withSequence({
        state: [{ input_name: 'STATE_IN', output_name: 'STATE_OUT', data_type: 'TYPE_INT32', dims: [2] }],
      }),
      [
        {
          file: FILE,
          field: 'sequence_batching.state[0].dims',
          reason: "is [2], but the model's input 'STATE_IN' has [1] after the batch dimension",
        },
        {
          file: FILE,
          field: 'sequence_batching.state[0].dims',
          reason: "is [2], but the model's output 'STATE_OUT' has [1] after the batch dimension",
        },
      ],
    ],
    [
      'a state whose output is of another type than its input',
      withSequence({
        state: [{ input_name: 'STATE_IN', output_name: 'STATE_OUT', data_type: 'TYPE_FP32', dims: [1] }],
      }),
      [
        {
          file: FILE,
          field: 'sequence_batching.state[0].data_type',
          reason: "is TYPE_FP32, but the model's input 'STATE_IN' is INT32",
        },
        {
          file: FILE,
          field: 'sequence_batching.state[0].data_type',
          reason: "is TYPE_FP32, but the model's output 'STATE_OUT' is INT32",
        },
      ],
    ],
    [
      'dynamic_batching beside sequence_batching, and the response cache',
      withSequence({}, { dynamic_batching: {}, response_cache: { enable: true } }),
      [
        {
          file: FILE,
          field: 'sequence_batching',
          reason:
            'cannot be combined with dynamic_batching: the sequence batcher batches requests of different sequences itself; remove dynamic_batching',
        },
        {
          file: FILE,
          field: 'response_cache.enable',
          reason: "cannot be used with sequence_batching: a stateful model's outputs depend on its sequence's state",
        },
      ],
    ],
    [
      'a preferred batch size over max_batch_size',
      withSequence({ oldest: { preferred_batch_size: [4, 16] } }),
      [
        {
          file: FILE,
          field: 'sequence_batching.oldest.preferred_batch_size[1]',
          reason: 'is 16, over max_batch_size 8',
        },
      ],
    ],
  ];
  for (const [what, result, expected] of refusals) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(issues(result), expected);
    });
  }

  it('refuses a control input holding more than one value per row', () => {
    const graph = {
      ...ACC_GRAPH,
      inputs: ACC_GRAPH.inputs.map((m) => (m.name === 'START' ? io('START', 'int32', [-1, 4]) : m)),
    };
    const found = issues(
      resolve({ max_batch_size: 8, sequence_batching: { control_input: CONTROLS, state: STATE } }, graph),
    );
    assert.deepEqual(found, [
      {
        file: FILE,
        field: 'sequence_batching.control_input[0].name',
        reason:
          "the model's input 'START' has shape [4] after the batch dimension; a control input holds one value (shape [1] or [])",
      },
    ]);
  });
});
