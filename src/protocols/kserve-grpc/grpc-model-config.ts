// The resolved configuration as Triton's ModelConfig message (proto/model_config.proto). Triton
// keeps the queue policy and priority inside dynamic_batching, so they appear there when the
// model batches dynamically. inferd's own settings travel in the fields the proto numbers from
// 1001, with the values and names of the REST JSON view (common/model-views.ts): the task with its
// embedding or text_generation block, queue_policy, the onnxruntime settings in optimization and
// adaptive batching. Only REST's read-only runtime block (the providers in use, the endpoints)
// has no field: Triton's ModelConfig.runtime is a string of another meaning.

import type { ResolvedModelConfig } from '../../config/resolved-model-config.js';
import type { ModelVersion } from '../../model-kinds/model-version.js';
import { configTypeName } from '../../tensor/datatype.js';
import { optimizationView, queuePolicyView, warmupView } from '../common/model-views.js';
import { sequenceBatchingView } from '../common/sequence-batching-view.js';

/** Triton's onnxruntime backend reads graph.level as -1 basic, 1 extended, 0 all; -2 = disabled. */
const GRAPH_LEVEL: Readonly<Record<ResolvedModelConfig['optimization']['graphLevel'], number>> = {
  disabled: -2,
  basic: -1,
  extended: 1,
  all: 0,
};

export function grpcModelConfig(mv: ModelVersion): unknown {
  const c = mv.config;
  const tensor = (t: (typeof c.inputs)[number]) => ({
    name: t.name,
    data_type: configTypeName(t.datatype),
    dims: [...t.dims],
  });
  const parameters: Record<string, { string_value: string }> = {};
  for (const [k, v] of Object.entries(c.parameters)) parameters[k] = { string_value: String(v) };
  return {
    name: c.name,
    platform: c.platform,
    backend: 'onnxruntime',
    version_policy: c.versionPolicy,
    max_batch_size: c.maxBatchSize,
    input: c.inputs.map(tensor),
    output: c.outputs.map((t) => ({
      ...tensor(t),
      ...(t.labelFilename === undefined ? {} : { label_filename: t.labelFilename }),
    })),
    instance_group: c.instanceGroups.map((g, i) => ({
      name: `${c.name}_${i}`,
      kind: g.kind,
      count: g.count,
      gpus: [...g.gpus],
    })),
    ...(c.warmup.length === 0 ? {} : { model_warmup: c.warmup.map(warmupView) }),
    default_model_filename: c.modelFilename,
    optimization: {
      graph: { level: GRAPH_LEVEL[c.optimization.graphLevel] },
      execution_accelerators: {
        cpu_execution_accelerator: c.optimization.executionProviders.map((name) => ({ name })),
      },
      ...optimizationView(c.optimization),
    },
    queue_policy: queuePolicyView(c.queuePolicy),
    ...(c.dynamicBatching === undefined
      ? {}
      : {
          dynamic_batching: {
            preferred_batch_size: [...c.dynamicBatching.preferredBatchSizes],
            max_queue_delay_microseconds: c.dynamicBatching.maxQueueDelayMicroseconds,
            adaptive: c.dynamicBatching.adaptive,
            default_priority_level: c.queuePolicy.defaultPriorityLevel,
            priority_levels: c.queuePolicy.priorityLevels ?? 0,
            default_queue_policy: {
              default_timeout_microseconds: c.queuePolicy.defaultTimeoutMicroseconds,
              max_queue_size: c.queuePolicy.maxQueueSize,
              allow_timeout_override: c.queuePolicy.timeoutOverride !== 'none',
            },
          },
        }),
    ...(c.sequenceBatching === undefined ? {} : { sequence_batching: sequenceBatchingView(c.sequenceBatching) }),
    ...(c.task === 'tensor' ? {} : { task: c.task }),
    ...(c.embedding === undefined ? {} : { embedding: { ...c.embedding } }),
    ...(c.rerank === undefined ? {} : { rerank: { ...c.rerank } }),
    ...(c.textGeneration === undefined ? {} : { text_generation: { ...c.textGeneration } }),
    parameters,
    response_cache: { enable: c.responseCache },
  };
}
