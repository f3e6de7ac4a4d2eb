// model_warmup in Triton's form (YAML, JSON or config.pbtxt): samples are checked against the
// model's inputs, and their data files are read from the model folder's warmup/ directory, with
// every problem named by field and sample.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import { readModelConfig } from '../../src/config/model-config-file.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import { readWarmupData, type WarmupData } from '../../src/config/warmup-data.js';
import { scanModelFolder } from '../../src/repository/repository-scanner.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';

const repos: string[] = [];
after(async () => {
  await Promise.all(repos.map((r) => removeRepository(r)));
});

const GRAPH = {
  inputs: [
    { name: 'INPUT0', elementType: 'int32', datatype: 'INT32' as const, isTensor: true, shape: [-1, 16] },
    { name: 'INPUT1', elementType: 'int32', datatype: 'INT32' as const, isTensor: true, shape: [-1, -1] },
  ],
  outputs: [{ name: 'OUTPUT0', elementType: 'int32', datatype: 'INT32' as const, isTensor: true, shape: [-1, 16] }],
};

type Outcome =
  | { readonly ok: true; readonly config: ResolvedModelConfig; readonly data: WarmupData }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Reads, resolves and reads the warmup data of model `m` written with `configFile` and `files`. */
async function load(
  configFile: string,
  text: string,
  files: Record<string, string | Uint8Array> = {},
): Promise<Outcome> {
  const repo = await makeRepository([
    { path: 'm/1/model.onnx', bytes: 'unused' },
    { path: `m/${configFile}`, bytes: text },
    ...Object.entries(files).map(([p, bytes]) => ({ path: `m/${p}`, bytes })),
  ]);
  repos.push(repo);
  const folder = await scanModelFolder(repo, 'm');
  assert.ok(folder !== undefined);
  const parsed = await readModelConfig(folder);
  if (!parsed.ok) return { ok: false, issues: parsed.issues };
  assert.equal(parsed.warnings, undefined, 'model_warmup is no longer a warning');
  const resolved = resolveModelConfig(folder, parsed.value, GRAPH);
  if (!resolved.ok) return { ok: false, issues: resolved.issues };
  const data = await readWarmupData(folder, resolved.value);
  if (!data.ok) return { ok: false, issues: data.issues };
  return { ok: true, config: resolved.value, data: data.value };
}

function yaml(warmup: string, maxBatch = 8): string {
  return `max_batch_size: ${maxBatch}\nmodel_warmup:\n${warmup}`;
}

/** The one issue of a failed outcome, as `field: reason`. */
function issueOf(o: Outcome): string {
  assert.ok(!o.ok, 'expected the config to be refused');
  assert.equal(o.issues.length, 1, JSON.stringify(o.issues));
  return `${o.issues[0]?.field}: ${o.issues[0]?.reason}`;
}

const INPUT1_FILE = Buffer.from(new Int32Array([7, 8, 9]).buffer);

const TWO_SAMPLES_YAML = yaml(`  - name: zeros
    batch_size: 4
    count: 3
    inputs:
      INPUT0: { data_type: TYPE_INT32, dims: [16], zero_data: true }
      INPUT1: { data_type: TYPE_INT32, dims: [3], input_data_file: input1.bin }
  - name: noise
    inputs:
      INPUT0: { data_type: TYPE_INT32, dims: [16], random_data: true }
      INPUT1: { data_type: TYPE_INT32, dims: [2], zero_data: true }
`);

const TWO_SAMPLES_PBTXT = `max_batch_size: 8
model_warmup [
  {
    name: "zeros"
    batch_size: 4
    count: 3
    inputs { key: "INPUT0" value: { data_type: TYPE_INT32 dims: [ 16 ] zero_data: true } }
    inputs { key: "INPUT1" value: { data_type: TYPE_INT32 dims: [ 3 ] input_data_file: "input1.bin" } }
  },
  {
    name: "noise"
    inputs { key: "INPUT0" value: { data_type: TYPE_INT32 dims: [ 16 ] random_data: true } }
    inputs { key: "INPUT1" value: { data_type: TYPE_INT32 dims: [ 2 ] zero_data: true } }
  }
]
`;

describe('model_warmup', () => {
  it("reads Triton's samples from YAML: batch size, count (0 runs once) and each data source", async () => {
    const o = await load('config.yaml', TWO_SAMPLES_YAML, { 'warmup/input1.bin': INPUT1_FILE });
    assert.ok(o.ok, JSON.stringify(o));
    assert.deepEqual(
      o.config.warmup.map((s) => [s.name, s.batchSize, s.count, s.runs, s.inputs.map((i) => i.source.kind)]),
      [
        ['zeros', 4, 3, 3, ['zero', 'file']],
        ['noise', 1, 0, 1, ['random', 'zero']],
      ],
    );
    const [zeros, noise] = o.data;
    assert.deepEqual([...((zeros?.[0]?.data ?? []) as Int32Array)], new Array(16).fill(0));
    assert.deepEqual([...((zeros?.[1]?.data ?? []) as Int32Array)], [7, 8, 9]);
    const random = [...((noise?.[0]?.data ?? []) as Int32Array)];
    assert.equal(random.length, 16);
    assert.ok(random.every((v) => v === 0 || v === 1) && new Set(random).size === 2, 'random integers are 0 or 1');
  });

  it('reads the same samples from config.pbtxt and config.json', async () => {
    const files = { 'warmup/input1.bin': INPUT1_FILE };
    const fromYaml = await load('config.yaml', TWO_SAMPLES_YAML, files);
    const fromPbtxt = await load('config.pbtxt', TWO_SAMPLES_PBTXT, files);
    assert.ok(fromYaml.ok && fromPbtxt.ok, JSON.stringify(fromPbtxt));
    assert.deepEqual(fromPbtxt.config.warmup, fromYaml.config.warmup);
    const json = JSON.stringify({
      max_batch_size: 8,
      model_warmup: [
        {
          name: 'zeros',
          batch_size: 4,
          count: 3,
          inputs: {
            INPUT0: { data_type: 'TYPE_INT32', dims: [16], zero_data: true },
            INPUT1: { data_type: 'TYPE_INT32', dims: [3], input_data_file: 'input1.bin' },
          },
        },
        {
          name: 'noise',
          inputs: {
            INPUT0: { data_type: 'TYPE_INT32', dims: [16], random_data: true },
            INPUT1: { data_type: 'TYPE_INT32', dims: [2], zero_data: true },
          },
        },
      ],
    });
    const fromJson = await load('config.json', json, files);
    assert.ok(fromJson.ok);
    assert.deepEqual(fromJson.config.warmup, fromYaml.config.warmup);
  });

  const sample = (inputs: string, extra = '') => yaml(`  - name: s1${extra}\n    inputs:\n${inputs}`);
  const INPUT0 = '      INPUT0: { data_type: TYPE_INT32, dims: [16], zero_data: true }\n';
  const INPUT1 = '      INPUT1: { data_type: TYPE_INT32, dims: [4], zero_data: true }\n';

  it('refuses an input the model does not have, naming what it has', async () => {
    const o = await load(
      'config.yaml',
      sample(INPUT0 + INPUT1 + '      BOGUS: { data_type: TYPE_INT32, dims: [1], zero_data: true }\n'),
    );
    assert.equal(
      issueOf(o),
      "model_warmup[0].inputs.BOGUS: sample 's1': the model has no input 'BOGUS'; it has 'INPUT0', 'INPUT1'",
    );
  });

  it('refuses a sample that lacks one of the inputs', async () => {
    const o = await load('config.yaml', sample(INPUT0));
    assert.equal(issueOf(o), "model_warmup[0].inputs: sample 's1': lacks the model's input 'INPUT1'");
  });

  it('refuses dims that do not fit the model and a data type that differs', async () => {
    const dims = await load(
      'config.yaml',
      sample('      INPUT0: { data_type: TYPE_INT32, dims: [15], zero_data: true }\n' + INPUT1),
    );
    assert.equal(
      issueOf(dims),
      "model_warmup[0].inputs.INPUT0.dims: sample 's1': is [15], but the model's input 'INPUT0' has [16] after the batch dimension",
    );
    const type = await load(
      'config.yaml',
      sample('      INPUT0: { data_type: TYPE_FP32, dims: [16], zero_data: true }\n' + INPUT1),
    );
    assert.equal(
      issueOf(type),
      "model_warmup[0].inputs.INPUT0.data_type: sample 's1': is TYPE_FP32, but the model's input 'INPUT0' is TYPE_INT32",
    );
    const dynamic = await load(
      'config.yaml',
      sample(INPUT0 + '      INPUT1: { data_type: TYPE_INT32, dims: [-1], zero_data: true }\n'),
    );
    assert.equal(issueOf(dynamic), 'model_warmup[0].inputs.INPUT1.dims[0]: warmup dimensions are fixed sizes (no -1)');
  });

  it('refuses an input with no data source, or two', async () => {
    const none = await load('config.yaml', sample(INPUT0 + '      INPUT1: { data_type: TYPE_INT32, dims: [4] }\n'));
    assert.match(
      issueOf(none),
      /^model_warmup\[0\]\.inputs\.INPUT1: give exactly one of zero_data: true, random_data: true or input_data_file$/,
    );
    const two = await load(
      'config.yaml',
      sample(INPUT0 + '      INPUT1: { data_type: TYPE_INT32, dims: [4], zero_data: true, random_data: true }\n'),
    );
    assert.match(issueOf(two), /^model_warmup\[0\]\.inputs\.INPUT1: give exactly one of/);
  });

  it('refuses batch sizes the model does not take', async () => {
    const over = await load('config.yaml', sample(INPUT0 + INPUT1, '\n    batch_size: 9'));
    assert.equal(issueOf(over), "model_warmup[0].batch_size: sample 's1': is 9, over max_batch_size 8");
  });

  it('reads data files from warmup/ only, and names a missing file or one of the wrong size', async () => {
    const file = (name: string) =>
      sample(INPUT0 + `      INPUT1: { data_type: TYPE_INT32, dims: [4], input_data_file: ${JSON.stringify(name)} }\n`);
    const outside = await load('config.yaml', file('../config.yaml'));
    assert.equal(
      issueOf(outside),
      "model_warmup[0].inputs.INPUT1.input_data_file: sample 's1': '../config.yaml' must name a file inside the model folder's warmup/ directory",
    );
    const missing = await load('config.yaml', file('nope.bin'));
    assert.equal(
      issueOf(missing),
      "model_warmup[0].inputs.INPUT1.input_data_file: sample 's1': cannot read warmup/nope.bin: no such file",
    );
    const short = await load('config.yaml', file('short.bin'), { 'warmup/short.bin': INPUT1_FILE });
    assert.equal(
      issueOf(short),
      "model_warmup[0].inputs.INPUT1.input_data_file: sample 's1': has 12 bytes, but one row of 'INPUT1' (TYPE_INT32 [4]) is 16 bytes",
    );
    assert.ok(!short.ok && short.issues[0]?.file.endsWith('/m/warmup/short.bin'), 'the issue names the data file');
  });

  it('needs batch_size 1 for a model without a batch dimension', async () => {
    const o = await load(
      'config.yaml',
      `max_batch_size: 0\ninput:\n  - { name: INPUT0, data_type: TYPE_INT32, dims: [16] }\nmodel_warmup:\n  - { name: b, batch_size: 2, inputs: { INPUT0: { data_type: TYPE_INT32, dims: [16], zero_data: true } } }\n`,
    );
    // The graph has a batch dimension, so the config's max_batch_size 0 keeps it as a model dim.
    assert.ok(!o.ok);
    assert.ok(
      o.issues.some(
        (i) =>
          i.field === 'model_warmup[0].batch_size' &&
          i.reason === "sample 'b': is 2, but the model has no batch dimension; use 1",
      ),
      JSON.stringify(o.issues),
    );
  });

  it('is refused for text-generation models, whose decoder takes no tensor requests', async () => {
    const o = await load('config.yaml', `task: text-generation\nmodel_warmup:\n  - { name: t, inputs: {} }\n`);
    assert.ok(!o.ok);
    assert.match(issueOf(o), /^model_warmup: is not supported for task: text-generation/);
  });
});
