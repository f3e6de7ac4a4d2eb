// Warmup on each kind that takes tensors: a stateful model gets its control and state inputs
// filled as for a one-request sequence (and a Triton config that lists them loads too), an
// embedding model warms its encoder up, and an execution that fails makes the load fail naming
// the sample and the instance.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelRepository } from '../../src/repository/model-repository.js';
import { warmupInputs, type WarmupHook } from '../../src/model-kinds/warmup.js';
import { fixedElements } from '../../src/tensor/tensor.js';
import type { ExampleFile } from '../../tools/examples/example-models.js';
import { accumulatorModel } from '../fixtures/stateful-models.js';
import { EXAMPLES_DIR, makeRepository, removeRepository, simpleVariant } from '../helpers/repository-files.js';

const repos: string[] = [];
after(async () => {
  await Promise.all(repos.map((r) => removeRepository(r)));
});

async function load(files: readonly ExampleFile[], warmupHook?: WarmupHook): Promise<ModelRepository> {
  const repo = await makeRepository(files);
  repos.push(repo);
  const repository = new ModelRepository({
    path: repo,
    controlMode: 'none',
    loadModels: [],
    pollSeconds: 60,
    cpuCores: 2,
    metrics: new Metrics(),
    logger: createLogger('warn', new PassThrough()),
    ...(warmupHook === undefined ? {} : { warmupHook }),
  });
  await repository.start();
  return repository;
}

const ACC_WARMUP = `model_warmup:
  - name: ones
    batch_size: 2
    inputs:
      INPUT: { data_type: TYPE_INT32, dims: [1], random_data: true }
`;

describe('warmup', () => {
  it('fills a stateful model’s controls and state as for a one-request sequence', async () => {
    const repository = await load(accumulatorModel('acc', { extra: ACC_WARMUP }));
    try {
      assert.equal((await repository.index(false))[0]?.state, 'READY');
      const config = repository.resolve('acc').config;
      const inputs = warmupInputs(config, [{ name: 'INPUT', datatype: 'INT32', dims: [1], data: Int32Array.of(5) }], 2);
      const values = Object.fromEntries(inputs.map((t) => [t.name, [t.shape, [...fixedElements(t)].map(Number)]]));
      assert.deepEqual(values, {
        INPUT: [
          [2, 1],
          [5, 5],
        ],
        STATE_IN: [
          [2, 1],
          [0, 0],
        ],
        START: [
          [2, 1],
          [1, 1],
        ],
        READY: [
          [2, 1],
          [1, 1],
        ],
        END: [
          [2, 1],
          [1, 1],
        ],
        CORRID: [
          [2, 1],
          [0, 0],
        ],
      });
    } finally {
      await repository.close();
    }
  });

  it('loads a Triton config whose samples list the control inputs too', async () => {
    const extra = `${ACC_WARMUP}      START: { data_type: TYPE_INT32, dims: [1], zero_data: true }
      CORRID: { data_type: TYPE_UINT64, dims: [1], zero_data: true }
`;
    const repository = await load(accumulatorModel('acc', { extra }));
    try {
      assert.deepEqual(
        (await repository.index(false)).map((r) => r.state),
        ['READY'],
      );
    } finally {
      await repository.close();
    }
  });

  it('warms an embedding model’s encoder up', async () => {
    const dir = path.join(EXAMPLES_DIR, 'kjv-embed');
    const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    const files: ExampleFile[] = [
      {
        path: 'embed/config.yaml',
        bytes: `${config}model_warmup:
  - name: tokens
    batch_size: 4
    inputs:
      input_ids: { data_type: TYPE_INT64, dims: [16], random_data: true }
      attention_mask: { data_type: TYPE_INT64, dims: [16], zero_data: true }
`,
      },
    ];
    for (const f of ['model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'config.json'])
      files.push({ path: `embed/1/${f}`, bytes: await readFile(path.join(dir, '1', f)) });
    const executions: string[] = [];
    const repository = await load(files, (run) => void executions.push(`${run.sample}@${run.instance}`));
    try {
      const [row] = await repository.index(false);
      assert.equal(row?.state, 'READY', row?.reason);
      assert.deepEqual(executions, ['tokens@embed/1#0']);
    } finally {
      await repository.close();
    }
  });

  it('fails the load naming the sample and the instance when an execution fails', async () => {
    const extra = `model_warmup:
  - name: zeros
    count: 2
    inputs:
      INPUT0: { data_type: TYPE_INT32, dims: [16], zero_data: true }
      INPUT1: { data_type: TYPE_INT32, dims: [16], zero_data: true }
`;
    let runs = 0;
    const repository = await load(await simpleVariant('m', extra), (run) => {
      runs++;
      if (run.run === 2) throw new Error('out of memory');
    });
    try {
      const [row] = await repository.index(false);
      assert.equal(row?.state, 'UNAVAILABLE');
      assert.match(
        row?.reason ?? '',
        /model_warmup\[0\]: warmup sample 'zeros' failed on instance m\/1#0: out of memory$/,
      );
      assert.equal(runs, 2);
    } finally {
      await repository.close();
    }
  });
});
