// Resolving a config against the ONNX graph's declared inputs and outputs: auto-complete when the
// config leaves them out, and file / field / reason issues when it contradicts the graph.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import { modelConfigSchema, type ModelConfigInput } from '../../src/config/model-config-schema.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { Loaded } from '../../src/config/model-config-file.js';
import { AUTO_MAX_BATCH_SIZE, resolveModelConfig } from '../../src/config/model-config-resolver.js';
import type { ModelFolder } from '../../src/repository/repository-scanner.js';
import type { GraphTensor } from '../../src/config/graph-signature.js';
import { datatypeFromOrt } from '../../src/runtime/index.js';

const DIR = path.join('/repo', 'm');

function folder(configFiles: string[] = []): ModelFolder {
  return { name: 'm', dir: DIR, versions: [1], configFiles, fingerprint: '' };
}

function io(name: string, ortType: string, shape: number[]): GraphTensor {
  return { name, elementType: ortType, datatype: datatypeFromOrt(ortType), isTensor: true, shape };
}

/** `simple`'s graph: two INT32 [-1,16] inputs and outputs. */
const SIMPLE_GRAPH = {
  inputs: [io('INPUT0', 'int32', [-1, 16]), io('INPUT1', 'int32', [-1, 16])],
  outputs: [io('OUTPUT0', 'int32', [-1, 16]), io('OUTPUT1', 'int32', [-1, 16])],
};

function resolve(
  config: ModelConfigInput,
  graph: { inputs: GraphTensor[]; outputs: GraphTensor[] } = SIMPLE_GRAPH,
  configFiles = ['config.yaml'],
): Loaded<ResolvedModelConfig> {
  return resolveModelConfig(folder(configFiles), modelConfigSchema.parse(config), graph);
}

function resolved(result: Loaded<ResolvedModelConfig>): ResolvedModelConfig {
  if (!result.ok) assert.fail(`expected a resolved config, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issues(result: Loaded<ResolvedModelConfig>): readonly ConfigIssue[] {
  if (result.ok) assert.fail('expected the config to be refused');
  return result.issues;
}

type TensorInput = NonNullable<ModelConfigInput['input']>[number];

const tensor = (name: string, data_type: TensorInput['data_type'], dims: number[]): TensorInput => ({
  name,
  data_type,
  dims,
});

describe('auto-complete from the graph', () => {
  it('takes inputs, outputs, datatypes and shapes from the graph, batching 64 when the first dim is dynamic', () => {
    const c = resolved(resolve({}, SIMPLE_GRAPH, []));
    assert.equal(AUTO_MAX_BATCH_SIZE, 64);
    assert.equal(c.maxBatchSize, 64);
    assert.equal(c.autoCompleted, true);
    assert.equal(c.name, 'm');
    assert.deepEqual(
      c.inputs.map((t) => [t.name, t.datatype, t.dims]),
      [
        ['INPUT0', 'INT32', [16]],
        ['INPUT1', 'INT32', [16]],
      ],
    );
    assert.deepEqual(
      c.outputs.map((t) => [t.name, t.datatype, t.dims]),
      [
        ['OUTPUT0', 'INT32', [16]],
        ['OUTPUT1', 'INT32', [16]],
      ],
    );
  });

  it('gives max_batch_size 0 and the full shapes when a first dimension is fixed', () => {
    const c = resolved(
      resolve({}, { inputs: [io('x', 'float32', [1, 4])], outputs: [io('y', 'float32', [-1, 3])] }, []),
    );
    assert.equal(c.maxBatchSize, 0);
    assert.deepEqual(c.inputs[0]?.dims, [1, 4]);
    assert.deepEqual(c.outputs[0]?.dims, [-1, 3]);
  });

  it('gives max_batch_size 0 to a graph with a scalar output', () => {
    const c = resolved(resolve({}, { inputs: [io('x', 'float32', [-1])], outputs: [io('y', 'float32', [])] }, []));
    assert.equal(c.maxBatchSize, 0);
  });

  it('maps every onnxruntime type to its v2 datatype', () => {
    const types: [string, string][] = [
      ['bool', 'BOOL'],
      ['uint8', 'UINT8'],
      ['int64', 'INT64'],
      ['float16', 'FP16'],
      ['float64', 'FP64'],
      ['string', 'BYTES'],
    ];
    const c = resolved(
      resolve(
        {},
        { inputs: types.map(([t], i) => io(`i${i}`, t, [-1, 2])), outputs: [io('o', 'float32', [-1, 2])] },
        [],
      ),
    );
    assert.deepEqual(
      c.inputs.map((t) => t.datatype),
      types.map(([, dt]) => dt),
    );
  });

  it('keeps a config max_batch_size and completes the tensors under it', () => {
    const c = resolved(resolve({ max_batch_size: 8 }));
    assert.equal(c.maxBatchSize, 8);
    assert.equal(c.autoCompleted, true);
    assert.deepEqual(c.inputs[0]?.dims, [16]);
  });

  it('uses the graph size where the config says -1 and marks a complete config as not auto-completed', () => {
    const c = resolved(
      resolve({
        max_batch_size: 8,
        input: [tensor('INPUT0', 'TYPE_INT32', [-1]), tensor('INPUT1', 'TYPE_INT32', [16])],
        output: [tensor('OUTPUT0', 'TYPE_INT32', [16])],
      }),
    );
    assert.deepEqual(c.inputs[0]?.dims, [16]);
    assert.equal(c.autoCompleted, false);
    assert.deepEqual(
      c.outputs.map((o) => o.name),
      ['OUTPUT0'],
    );
  });

  it('returns a frozen config', () => {
    const c = resolved(resolve({}));
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.inputs[0]?.dims));
  });
});

describe('checks against the graph', () => {
  const file = path.join(DIR, 'config.yaml');

  it('refuses a data_type that differs from the graph', () => {
    assert.deepEqual(
      issues(
        resolve({
          max_batch_size: 8,
          input: [tensor('INPUT0', 'TYPE_INT32', [16]), tensor('INPUT1', 'TYPE_FP32', [16])],
        }),
      ),
      [{ file, field: 'input[1].data_type', reason: "is TYPE_FP32, but the model's input 'INPUT1' is INT32" }],
    );
  });

  it('refuses an input the graph lacks, and reports the graph input left out', () => {
    assert.deepEqual(
      issues(
        resolve({
          max_batch_size: 8,
          input: [tensor('INPUT0', 'TYPE_INT32', [16]), tensor('INPUT9', 'TYPE_INT32', [16])],
        }),
      ),
      [
        { file, field: 'input[1].name', reason: "the model has no input 'INPUT9'; it has 'INPUT0', 'INPUT1'" },
        { file, field: 'input', reason: "the model's input 'INPUT1' is missing from the config" },
      ],
    );
  });

  it('refuses an output the graph lacks', () => {
    const [issue] = issues(resolve({ max_batch_size: 8, output: [tensor('OUT', 'TYPE_INT32', [16])] }));
    assert.equal(issue?.field, 'output[0].name');
    assert.match(issue?.reason ?? '', /the model has no output 'OUT'/);
  });

  it('refuses dims that differ from the graph after the batch dimension', () => {
    assert.deepEqual(
      issues(
        resolve({
          max_batch_size: 8,
          input: [tensor('INPUT0', 'TYPE_INT32', [15]), tensor('INPUT1', 'TYPE_INT32', [16, 1])],
        }),
      ),
      [
        {
          file,
          field: 'input[0].dims',
          reason: "is [15], but the model's input 'INPUT0' has [16] after the batch dimension",
        },
        {
          file,
          field: 'input[1].dims',
          reason: "is [16,1], but the model's input 'INPUT1' has [16] after the batch dimension",
        },
      ],
    );
  });

  it('refuses max_batch_size > 0 when the graph has a fixed first dimension', () => {
    const graph = { inputs: [io('x', 'float32', [1, 4])], outputs: [io('y', 'float32', [1, 3])] };
    assert.deepEqual(issues(resolve({ max_batch_size: 4 }, graph)), [
      {
        file,
        field: 'max_batch_size',
        reason: 'is 4, but not every input and output of the graph has a dynamic first dimension; use 0',
      },
    ]);
  });

  it('names the model file when the graph has a BF16 tensor', () => {
    const graph = {
      inputs: [io('INPUT0', 'unsupported', [-1, -1])],
      outputs: [io('OUTPUT0', 'unsupported', [-1, -1])],
    };
    const found = issues(resolve({}, graph, []));
    assert.deepEqual(
      found.map((i) => [i.file, i.field]),
      [
        [path.join(DIR, 'model.onnx'), "input 'INPUT0'"],
        [path.join(DIR, 'model.onnx'), "output 'OUTPUT0'"],
      ],
    );
    assert.match(found[0]?.reason ?? '', /not supported by onnxruntime-node \(e\.g\. BF16\)/);
  });

  it('refuses inputs that are not tensors', () => {
    const graph = {
      inputs: [{ name: 'seq', elementType: 'non-tensor', datatype: undefined, isTensor: false, shape: [] }],
      outputs: [io('y', 'float32', [1])],
    };
    assert.equal(issues(resolve({}, graph, []))[0]?.reason, 'is not a tensor (sequences and maps are not supported)');
  });
});
