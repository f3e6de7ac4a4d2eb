// Triton's own configs (config.pbtxt, in test/fixtures/triton-configs.ts) load with the batch
// size, instances, batching and queue policy they have in Triton; a field inferd ignores is a
// warning in the index and the log, and one it cannot honour makes the model UNAVAILABLE naming it.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ModelRepository } from '../../src/repository/model-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import {
  IDENTITY_FP32_PBTXT,
  QA_INT32_PBTXT,
  SIMPLE_PBTXT,
  sequencePbtxt,
  tritonModel,
} from '../fixtures/triton-configs.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';
import type { ExampleFile } from '../../tools/examples/example-models.js';

const repos: string[] = [];
after(async () => {
  await Promise.all(repos.map((r) => removeRepository(r)));
});

async function load(files: readonly ExampleFile[]): Promise<{ repository: ModelRepository; log: () => string }> {
  const repo = await makeRepository(files);
  repos.push(repo);
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  const repository = new ModelRepository({
    path: repo,
    controlMode: 'none',
    loadModels: [],
    pollSeconds: 60,
    cpuCores: 2,
    metrics: new Metrics(),
    logger: createLogger('info', sink),
  });
  await repository.start();
  return { repository, log: () => logged };
}

describe("Triton's config.pbtxt", () => {
  it("serves Triton's simple example with batch 8, two instances and dynamic batching", async () => {
    const { repository } = await load(await tritonModel('simple', 'simple', SIMPLE_PBTXT));
    try {
      const c = repository.resolve('simple').config;
      assert.equal(c.maxBatchSize, 8);
      assert.deepEqual(
        c.instanceGroups.map((g) => [g.count, g.kind]),
        [[2, 'KIND_CPU']],
      );
      assert.deepEqual(c.dynamicBatching, { maxQueueDelayMicroseconds: 0, preferredBatchSizes: [], adaptive: false });
      // Triton: no priority_levels means priorities are off; no allow_timeout_override, no override.
      assert.equal(c.queuePolicy.priorityLevels, 0);
      assert.equal(c.queuePolicy.timeoutOverride, 'none');
      assert.deepEqual(await repository.index(false), [{ name: 'simple', version: '1', state: 'READY', reason: '' }]);
    } finally {
      await repository.close();
    }
  });

  it('serves an identity model with its batch size, one CPU instance and no batching', async () => {
    const { repository } = await load(await tritonModel('identity_fp32', 'identity_fp32', IDENTITY_FP32_PBTXT));
    try {
      const c = repository.resolve('identity_fp32').config;
      assert.equal(c.maxBatchSize, 16);
      assert.deepEqual(
        c.instanceGroups.map((g) => [g.count, g.kind]),
        [[1, 'KIND_CPU']],
      );
      assert.equal(c.dynamicBatching, undefined);
      assert.deepEqual(c.inputs, [{ name: 'INPUT0', datatype: 'FP32', dims: [-1] }]);
    } finally {
      await repository.close();
    }
  });

  it('serves a qa config: latest two versions, labels, priorities and its queue policy', async () => {
    const files = await tritonModel('onnx_int32_int32_int32', 'simple', QA_INT32_PBTXT, {
      versions: [1, 2, 3],
      extra: [{ path: 'output0_labels.txt', bytes: Array.from({ length: 16 }, (_, i) => `label${i}`).join('\n') }],
    });
    const { repository } = await load(files);
    try {
      const served = repository.servingVersions('onnx_int32_int32_int32').map((mv) => mv.version);
      assert.deepEqual(served, [2, 3]);
      const c = repository.resolve('onnx_int32_int32_int32').config;
      assert.deepEqual(c.dynamicBatching, {
        maxQueueDelayMicroseconds: 100,
        preferredBatchSizes: [2, 4],
        adaptive: false,
      });
      assert.deepEqual(c.queuePolicy, {
        maxQueueSize: 16,
        defaultTimeoutMicroseconds: 500000,
        defaultPriorityLevel: 2,
        priorityLevels: 3,
        timeoutOverride: 'shorten',
      });
      assert.equal(c.outputs[0]?.labelFilename, 'output0_labels.txt');
    } finally {
      await repository.close();
    }
  });

  it("serves a sequence model with its controls and state, oldest as written and Triton's direct by default", async () => {
    const oldest = sequencePbtxt(
      'seq_oldest',
      '  oldest { max_candidate_sequences: 4 preferred_batch_size: [ 2 ] max_queue_delay_microseconds: 100 }\n',
    );
    const { repository } = await load([
      ...(await tritonModel('seq_oldest', 'accumulator', oldest)),
      ...(await tritonModel('seq_direct', 'accumulator', sequencePbtxt('seq_direct', ''))),
    ]);
    try {
      const o = repository.resolve('seq_oldest').config;
      assert.equal(o.maxBatchSize, 8);
      assert.equal(o.instanceGroups[0]?.count, 2);
      assert.equal(o.sequenceBatching?.maxSequenceIdleMicroseconds, 5000000);
      assert.deepEqual(
        o.sequenceBatching?.controls.map((k) => [k.name, k.kind]),
        [
          ['START', 'START'],
          ['READY', 'READY'],
          ['END', 'END'],
          ['CORRID', 'CORRID'],
        ],
      );
      assert.deepEqual(o.sequenceBatching?.strategy, {
        kind: 'oldest',
        maxCandidateSequences: 4,
        preferredBatchSizes: [2],
        maxQueueDelayMicroseconds: 100,
      });
      assert.deepEqual(repository.resolve('seq_direct').config.sequenceBatching?.strategy, {
        kind: 'direct',
        maxQueueDelayMicroseconds: 0,
      });
    } finally {
      await repository.close();
    }
  });

  it('serves a model file named by default_model_filename', async () => {
    const pbtxt = `${SIMPLE_PBTXT}default_model_filename: "simple.onnx"\n`;
    const { repository } = await load(await tritonModel('renamed', 'simple', pbtxt, { modelFile: 'simple.onnx' }));
    try {
      assert.equal(repository.resolve('renamed').config.modelFilename, 'simple.onnx');
    } finally {
      await repository.close();
    }
  });

  it('loads with a warning naming each ignored field, in the index and the log', async () => {
    const pbtxt = `${SIMPLE_PBTXT}metric_tags: { key: "team" value: "search" }
optimization { cuda { graphs: true } }
model_transaction_policy { decoupled: false }
`;
    const { repository, log } = await load(await tritonModel('warned', 'simple', pbtxt));
    try {
      const [row] = await repository.index(false);
      assert.equal(row?.state, 'READY');
      assert.match(row?.reason ?? '', /metric_tags: ignored/);
      assert.match(row?.reason ?? '', /optimization\.cuda: ignored/);
      assert.doesNotMatch(row?.reason ?? '', /model_transaction_policy/, "Triton's default value is silent");
      assert.match(log(), /"level":40.*metric_tags/);
    } finally {
      await repository.close();
    }
  });

  it('makes the model UNAVAILABLE naming each field it cannot honour', async () => {
    const cases: readonly (readonly [string, string, RegExp])[] = [
      [
        'tf',
        SIMPLE_PBTXT.replace('onnxruntime_onnx', 'tensorflow_graphdef'),
        /platform: 'tensorflow_graphdef' is not supported/,
      ],
      [
        'decoupled',
        `${SIMPLE_PBTXT}model_transaction_policy { decoupled: true }\n`,
        /model_transaction_policy\.decoupled: decoupled models/,
      ],
      [
        'batch_in',
        `${SIMPLE_PBTXT}batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "N" data_type: TYPE_INT32 source_input: "INPUT0" } ]\n`,
        /batch_input: batch inputs are not supported/,
      ],
      [
        'delay',
        SIMPLE_PBTXT.replace(
          'dynamic_batching { }',
          'dynamic_batching { default_queue_policy { timeout_action: DELAY } }',
        ),
        /dynamic_batching\.default_queue_policy\.timeout_action: DELAY is not supported/,
      ],
      [
        'per_level',
        SIMPLE_PBTXT.replace(
          'dynamic_batching { }',
          'dynamic_batching { priority_levels: 2 priority_queue_policy { key: 1 value { max_queue_size: 4 } } }',
        ),
        /dynamic_batching\.priority_queue_policy: per-priority queue policies/,
      ],
      ['typo', `${SIMPLE_PBTXT}max_batchsize: 4\n`, /line 35:1: unknown field 'max_batchsize' in ModelConfig/],
    ];
    const files = (await Promise.all(cases.map(([name, pbtxt]) => tritonModel(name, 'simple', pbtxt)))).flat();
    const { repository } = await load(files);
    try {
      const rows = await repository.index(false);
      for (const [name, , reason] of cases) {
        const row = rows.find((r) => r.name === name);
        assert.equal(row?.state, 'UNAVAILABLE', name);
        assert.match(row?.reason ?? '', reason, name);
      }
    } finally {
      await repository.close();
    }
  });
});
