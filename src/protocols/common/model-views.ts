// The views of a model the REST and gRPC edges return: metadata (the same fields in both) and the
// configuration in Triton's model_config JSON form (REST; gRPC builds its message from the same
// resolved config in grpc-model-config.ts).

import { fullShape, type ResolvedModelConfig } from '../../config/resolved-model-config.js';
import type { ModelVersion } from '../../model-kinds/model-version.js';
import { configTypeName } from '../../tensor/datatype.js';
import { sequenceBatchingView } from './sequence-batching-view.js';

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: string[];
  readonly platform: string;
  readonly inputs: TensorMetadata[];
  readonly outputs: TensorMetadata[];
}

export function modelMetadataView(mv: ModelVersion, servingVersions: readonly number[]): ModelMetadata {
  const c = mv.config;
  return {
    name: mv.name,
    versions: servingVersions.map(String),
    platform: c.platform,
    inputs: c.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: fullShape(c, t) })),
    outputs: c.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: fullShape(c, t) })),
  };
}

/** The resolved configuration in Triton's model_config JSON form. */
export function modelConfigView(mv: ModelVersion): unknown {
  const c = mv.config;
  const tensor = (t: (typeof c.inputs)[number]) => ({
    name: t.name,
    data_type: configTypeName(t.datatype),
    dims: [...t.dims],
    ...(t.labelFilename === undefined ? {} : { label_filename: t.labelFilename }),
  });
  return {
    name: c.name,
    platform: c.platform,
    backend: 'onnxruntime',
    version_policy: c.versionPolicy,
    max_batch_size: c.maxBatchSize,
    input: c.inputs.map(tensor),
    output: c.outputs.map(tensor),
    instance_group: c.instanceGroups.map((g, i) => ({
      name: `${c.name}_${i}`,
      kind: g.kind,
      count: g.count,
      gpus: [...g.gpus],
    })),
    optimization: {
      graph_level: c.optimization.graphLevel,
      intra_op_threads: c.optimization.intraOpThreads,
      inter_op_threads: c.optimization.interOpThreads,
      execution_providers: [...c.optimization.executionProviders],
      inline_execution: c.optimization.inlineExecution,
      ...(c.optimization.allowSpinning === undefined ? {} : { allow_spinning: c.optimization.allowSpinning }),
    },
    queue_policy: queuePolicyView(c.queuePolicy),
    response_cache: { enable: c.responseCache },
    ...(c.dynamicBatching === undefined
      ? {}
      : {
          dynamic_batching: {
            max_queue_delay_microseconds: c.dynamicBatching.maxQueueDelayMicroseconds,
            preferred_batch_size: [...c.dynamicBatching.preferredBatchSizes],
            adaptive: c.dynamicBatching.adaptive,
          },
        }),
    ...(c.sequenceBatching === undefined ? {} : { sequence_batching: sequenceBatchingView(c.sequenceBatching) }),
    parameters: c.parameters,
    default_model_filename: c.modelFilename,
    runtime: { execution_providers_in_use: [...mv.providers], auto_completed: c.autoCompleted },
  };
}

/** inferd's queue_policy; the Triton settings appear only when the config gives them. */
export function queuePolicyView(q: ResolvedModelConfig['queuePolicy']): Record<string, number | boolean> {
  return {
    max_queue_size: q.maxQueueSize,
    default_timeout_microseconds: q.defaultTimeoutMicroseconds,
    default_priority_level: q.defaultPriorityLevel,
    ...(q.priorityLevels === undefined ? {} : { priority_levels: q.priorityLevels }),
    ...(q.timeoutOverride === 'replace' ? {} : { allow_timeout_override: q.timeoutOverride === 'shorten' }),
  };
}
