// Every default of the model config is declared once, in the schema: a config that leaves the
// optional fields out resolves to the values the JSON Schema (`inferd models schema`) documents,
// and the embedding engine of a config without `embedding` uses them too.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  MODEL_CONFIG_DEFAULTS,
  modelConfigJsonSchema,
  modelConfigSchema,
  type ModelConfigInput,
} from '../../src/config/model-config-schema.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { GraphTensor } from '../../src/config/graph-signature.js';
import type { InferRequest, InferResult } from '../../src/core/infer-request.js';
import { createEmbeddingEngine } from '../../src/generation/embedding-engine.js';
import { datatypeFromOrt } from '../../src/runtime/index.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

interface JsonSchemaNode {
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
}

const SCHEMA = modelConfigJsonSchema() as JsonSchemaNode;

/** The JSON Schema node at a path of property names ('[]' steps into an array's items). */
function node(...at: string[]): JsonSchemaNode {
  let n: JsonSchemaNode | undefined = SCHEMA;
  for (const step of at) n = step === '[]' ? n?.items : n?.properties?.[step];
  assert.ok(n !== undefined, `the JSON Schema has ${at.join('.')}`);
  return n;
}

/** The documented default of each property of the object at `at` that has one. */
function documentedDefaults(...at: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(node(...at).properties ?? {})) if ('default' in p) out[key] = p.default;
  return out;
}

function io(name: string, ortType: string, shape: number[]): GraphTensor {
  return { name, elementType: ortType, datatype: datatypeFromOrt(ortType), isTensor: true, shape };
}

const GRAPH = {
  inputs: [io('INPUT0', 'float32', [-1, 4])],
  outputs: [io('OUTPUT0', 'float32', [-1, 4])],
};

function resolve(config: ModelConfigInput): ResolvedModelConfig {
  const folder = { name: 'm', dir: path.join('/repo', 'm'), configFiles: ['config.yaml'] };
  const result = resolveModelConfig(folder, modelConfigSchema.parse(config), GRAPH);
  if (!result.ok) assert.fail(`expected a resolved config, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

describe('a config without its optional fields', () => {
  const c = resolve({});

  it('runs one instance group of the documented count, on the CPU', () => {
    const group = documentedDefaults('instance_group', '[]');
    assert.equal(group.kind, 'KIND_AUTO');
    // KIND_AUTO without a GPU provider is the CPU.
    assert.deepEqual(c.instanceGroups, [{ count: group.count, kind: 'KIND_CPU', gpus: [] }]);
  });

  it('gets the documented optimization settings', () => {
    const opt = documentedDefaults('optimization');
    assert.deepEqual(
      {
        graph_level: c.optimization.graphLevel,
        intra_op_threads: c.optimization.intraOpThreads,
        inter_op_threads: c.optimization.interOpThreads,
        inline_execution: c.optimization.inlineExecution,
      },
      opt,
    );
    assert.deepEqual(c.optimization.executionProviders, ['cpu']);
    assert.equal(c.optimization.allowSpinning, undefined);
  });

  it('gets the documented queue policy, and no response cache', () => {
    assert.deepEqual(
      {
        max_queue_size: c.queuePolicy.maxQueueSize,
        default_timeout_microseconds: c.queuePolicy.defaultTimeoutMicroseconds,
        default_priority_level: c.queuePolicy.defaultPriorityLevel,
      },
      documentedDefaults('queue_policy'),
    );
    assert.equal(c.responseCache, documentedDefaults('response_cache').enable);
    assert.deepEqual(c.versionPolicy, node('version_policy').default);
    assert.equal(c.dynamicBatching, undefined);
  });

  it('gets the documented dynamic batching settings from `dynamic_batching: {}`', () => {
    const d = resolve({ dynamic_batching: {} }).dynamicBatching;
    assert.deepEqual(
      {
        max_queue_delay_microseconds: d?.maxQueueDelayMicroseconds,
        preferred_batch_size: d?.preferredBatchSizes,
        adaptive: d?.adaptive,
      },
      documentedDefaults('dynamic_batching'),
    );
  });

  it('gets the documented oldest strategy and idle time from `sequence_batching: {}`', () => {
    const s = resolve({ sequence_batching: {} }).sequenceBatching;
    assert.equal(
      s?.maxSequenceIdleMicroseconds,
      documentedDefaults('sequence_batching').max_sequence_idle_microseconds,
    );
    assert.ok(s?.strategy.kind === 'oldest');
    assert.deepEqual(
      {
        max_candidate_sequences: s.strategy.maxCandidateSequences,
        preferred_batch_size: s.strategy.preferredBatchSizes,
        max_queue_delay_microseconds: s.strategy.maxQueueDelayMicroseconds,
      },
      documentedDefaults('sequence_batching', 'oldest'),
    );
  });

  it('leaves nothing of the section defaults to the code: they are what the JSON Schema documents', () => {
    const d = MODEL_CONFIG_DEFAULTS;
    assert.deepEqual(d.instance_group, documentedDefaults('instance_group', '[]'));
    assert.deepEqual(d.optimization, documentedDefaults('optimization'));
    assert.deepEqual(d.queue_policy, documentedDefaults('queue_policy'));
    assert.deepEqual(d.response_cache, documentedDefaults('response_cache'));
    assert.deepEqual(d.dynamic_batching, documentedDefaults('dynamic_batching'));
    assert.deepEqual(d.sequence_batching, {
      ...documentedDefaults('sequence_batching'),
      oldest: documentedDefaults('sequence_batching', 'oldest'),
    });
    assert.deepEqual(d.embedding, documentedDefaults('embedding'));
    assert.deepEqual(d.text_generation, documentedDefaults('text_generation'));
    assert.ok(Object.isFrozen(d.text_generation), 'the defaults cannot be changed by their users');
  });
});

describe('an embedding model without `embedding` in its config', () => {
  it('refuses inputs beyond the documented max_tokens and returns unit-length mean-pooled vectors', async () => {
    const documented = documentedDefaults('embedding');
    assert.deepEqual(documented, { pooling: 'mean', normalize: true, max_tokens: documented.max_tokens });
    const config: ResolvedModelConfig = {
      ...resolve({}),
      inputs: [
        { name: 'input_ids', datatype: 'INT64', dims: [-1] },
        { name: 'attention_mask', datatype: 'INT64', dims: [-1] },
      ],
      outputs: [{ name: 'last_hidden_state', datatype: 'FP32', dims: [-1, 2] }],
    };
    // Token t of every row has the state [1, t]: the mean of r tokens is [1, (r - 1) / 2].
    const backend = {
      infer(request: InferRequest): Promise<InferResult> {
        const [rows = 0, length = 0] = request.inputs[0]?.shape ?? [];
        const data = new Float32Array(rows * length * 2);
        for (let r = 0; r < rows; r++) for (let t = 0; t < length; t++) data.set([1, t], (r * length + t) * 2);
        return Promise.resolve({
          outputs: [{ name: 'last_hidden_state', datatype: 'FP32', shape: [rows, length, 2], data }],
          timings: { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0, queueNs: 0 },
        });
      },
    };
    const engine = await createEmbeddingEngine({
      modelName: 'kjv-embed',
      folder: path.join(EXAMPLES_DIR, 'kjv-embed', '1'),
      config,
      embedding: undefined,
      backend,
    });
    assert.equal(engine.contextLength, documented.max_tokens);
    const ids = [5, 6, 7, 8, 9];
    const { embeddings } = await engine.embed([ids], { requestId: 'r' });
    const mean = [1, (ids.length - 1) / 2];
    const norm = Math.hypot(...mean);
    assert.deepEqual(
      [...(embeddings[0] ?? [])].map((v) => v.toFixed(6)),
      mean.map((v) => (v / norm).toFixed(6)),
    );
  });
});
