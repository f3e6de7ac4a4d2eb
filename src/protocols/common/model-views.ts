// The views of a model the REST and gRPC edges return: metadata (the same fields in both) and the
// configuration in Triton's model_config JSON form (REST; gRPC builds its message from the same
// resolved config in grpc-model-config.ts).

import { fullShape, type ResolvedModelConfig } from '../../config/resolved-model-config.js';
import type { ModelVersion } from '../../model-kinds/model-version.js';
import { configTypeName } from '../../tensor/datatype.js';
import { sequenceBatchingView } from './sequence-batching-view.js';
import { serves, type ServingApi } from '../../model-kinds/serving-kinds.js';

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
export function modelConfigView(mv: ModelVersion): Record<string, unknown> {
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
    optimization: optimizationView(c.optimization),
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
    ...(c.task === 'tensor' ? {} : { task: c.task }),
    ...(c.embedding === undefined ? {} : { embedding: { ...c.embedding } }),
    ...(c.rerank === undefined ? {} : { rerank: { ...c.rerank } }),
    ...(c.textGeneration === undefined ? {} : { text_generation: { ...c.textGeneration } }),
    parameters: c.parameters,
    ...(c.warmup.length === 0 ? {} : { model_warmup: c.warmup.map(warmupView) }),
    default_model_filename: c.modelFilename,
    // Read-only: a config file may carry this block (a saved /config), and loading ignores it.
    runtime: {
      execution_providers_in_use: [...mv.providers],
      ...('execution' in mv
        ? { execution: mv.execution.inline ? 'inline' : 'worker_threads', execution_reason: mv.execution.reason }
        : {}),
      // Each instance and its device: Triton's groups say `gpus`, this says which one each runs on.
      ...('placements' in mv && mv.placements !== undefined
        ? { instances: mv.placements.map((p) => ({ ...p, providers: [...p.providers] })) }
        : {}),
      auto_completed: c.autoCompleted,
      kind: mv.kind,
      endpoints: servingEndpoints(mv),
    },
  };
}

/** A warmup sample in Triton's form, as the config gave it. */
export function warmupView(s: ResolvedModelConfig['warmup'][number]): Record<string, unknown> {
  const inputs = s.inputs.map((i) => {
    const source = i.source;
    const data =
      source.kind === 'file'
        ? { input_data_file: source.file }
        : source.kind === 'random'
          ? { random_data: true }
          : { zero_data: true };
    return [i.name, { data_type: configTypeName(i.datatype), dims: [...i.dims], ...data }] as const;
  });
  return { name: s.name, batch_size: s.batchSize, inputs: Object.fromEntries(inputs), count: s.count };
}

/** inferd's onnxruntime settings, as the config file spells them. */
export function optimizationView(o: ResolvedModelConfig['optimization']): Record<string, unknown> {
  return {
    graph_level: o.graphLevel,
    intra_op_threads: o.intraOpThreads,
    inter_op_threads: o.interOpThreads,
    execution_providers: [...o.executionProviders],
    // `auto`, the default, is left out (a proto bool cannot say it); the runtime block says where
    // the sessions run.
    ...(o.inlineExecution === 'auto' ? {} : { inline_execution: o.inlineExecution }),
    ...(o.allowSpinning === undefined ? {} : { allow_spinning: o.allowSpinning }),
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

const ENDPOINTS: { readonly [A in ServingApi]: string } = {
  'v2 infer': 'POST /v2/models/{name}/infer (the tensors of input and output)',
  completions: 'POST /v1/completions (prompt text in, completion text out)',
  'chat completions': 'POST /v1/chat/completions (chat messages in, a message out)',
  embeddings: 'POST /v1/embeddings (text in, one vector per input out)',
  rerank: 'POST /v1/rerank, /rerank and /v1/score, /score (a query and documents in, relevance scores out)',
  tokenization: 'POST /tokenize and /detokenize (text and token ids)',
};

/** The endpoints that serve this version and what each takes and gives. */
export function servingEndpoints(mv: ModelVersion): string[] {
  return (Object.keys(ENDPOINTS) as ServingApi[]).filter((api) => serves(mv, api)).map((api) => ENDPOINTS[api]);
}
