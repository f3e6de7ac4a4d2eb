// Completes a parsed model config from the graph's declared inputs and outputs (in v2 datatypes,
// as the runtime describes an opened graph) and checks the two agree, so nothing of the config
// can fail at run time; every problem is reported as file / field / reason. The result is frozen.

import path from 'node:path';
import { deepFreeze } from './deep-freeze.js';
import { shapeText, type ConfigIssue } from './config-issues.js';
import { MODEL_CONFIG_DEFAULTS, type ParsedModelConfig, type TensorConfig } from './model-config-schema.js';
import type { ResolvedModelConfig, ResolvedSequenceBatching, ResolvedTensorConfig } from './resolved-model-config.js';
import type { GraphSignature, GraphTensor } from './graph-signature.js';
import type { Loaded, ModelConfigSource } from './model-config-file.js';
import { resolveSequenceBatching, serverFedNames } from './sequence-batching-resolver.js';
import { resolveWarmup } from './warmup-resolver.js';
import { datatypeFromConfigName, type Datatype } from '../tensor/datatype.js';

/** Batch limit given to models whose graphs have a dynamic first dimension and no config says otherwise. */
export const AUTO_MAX_BATCH_SIZE = 64;

/** The execution settings, which are needed before the graph is open (to start the first instance). */
export function resolveExecution(
  parsed: ParsedModelConfig,
): Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'> {
  const opt = parsed.optimization ?? MODEL_CONFIG_DEFAULTS.optimization;
  const askedForGpu = (parsed.instance_group ?? []).some((g) => g.kind === 'KIND_GPU');
  // A GPU instance group without explicit providers runs on the bundled WebGPU provider, with
  // the CPU for the operators it lacks.
  const providers = opt.execution_providers ?? (askedForGpu ? ['webgpu' as const, 'cpu' as const] : ['cpu' as const]);
  const gpu = providers.some((p) => p !== 'cpu');
  return {
    instanceGroups: (parsed.instance_group ?? [MODEL_CONFIG_DEFAULTS.instance_group]).map((g) => ({
      count: g.count,
      kind: g.kind === 'KIND_AUTO' ? (gpu ? 'KIND_GPU' : 'KIND_CPU') : g.kind,
      gpus: 'gpus' in g && g.gpus !== undefined ? g.gpus : [],
    })),
    optimization: {
      graphLevel: opt.graph_level,
      intraOpThreads: opt.intra_op_threads,
      interOpThreads: opt.inter_op_threads,
      executionProviders: providers,
      inlineExecution: opt.inline_execution,
      ...(opt.allow_spinning === undefined ? {} : { allowSpinning: opt.allow_spinning }),
    },
  };
}

/** Completes and checks the config against the graph's metadata. */
export function resolveModelConfig(
  folder: ModelConfigSource,
  parsed: ParsedModelConfig,
  graph: GraphSignature,
  autoMaxBatchSize: number = AUTO_MAX_BATCH_SIZE,
): Loaded<ResolvedModelConfig> {
  const file = path.join(folder.dir, folder.configFiles[0] ?? 'model.onnx');
  const modelFile = parsed.default_model_filename ?? 'model.onnx';
  const issues: ConfigIssue[] = [];

  // Types first: a graph tensor the protocol or onnxruntime-node cannot carry is refused outright.
  const graphTypes = new Map<string, Datatype>();
  for (const [kind, list] of [['input', graph.inputs] as const, ['output', graph.outputs] as const]) {
    for (const m of list) {
      const dt = m.isTensor ? m.datatype : undefined;
      if (dt === undefined) {
        issues.push({
          file: path.join(folder.dir, modelFile),
          field: `${kind} '${m.name}'`,
          reason: m.isTensor
            ? `element type '${m.elementType}' is not supported by onnxruntime-node (e.g. BF16); convert the model to a supported type`
            : 'is not a tensor (sequences and maps are not supported)',
        });
      } else graphTypes.set(`${kind}:${m.name}`, dt);
    }
  }
  if (issues.length > 0) return { ok: false, issues };

  const firstDimDynamic = [...graph.inputs, ...graph.outputs].every((m) => m.shape.length >= 1 && m.shape[0] === -1);
  const maxBatchSize = parsed.max_batch_size ?? (firstDimDynamic ? autoMaxBatchSize : 0);
  if (maxBatchSize > 0 && !firstDimDynamic) {
    issues.push({
      file,
      field: 'max_batch_size',
      reason: `is ${maxBatchSize}, but not every input and output of the graph has a dynamic first dimension; use 0`,
    });
    return { ok: false, issues };
  }

  // The sequence batcher's control and state inputs and state outputs are the server's: clients
  // never see, send or receive them, whether the config lists the tensors or the graph does.
  const fed = serverFedNames(parsed.sequence_batching);
  const resolveList = (
    kind: 'input' | 'output',
    declared: readonly TensorConfig[] | undefined,
    allMetas: readonly GraphTensor[],
  ): ResolvedTensorConfig[] => {
    const graphDims = (m: GraphTensor): number[] => (maxBatchSize > 0 ? m.shape.slice(1) : [...m.shape]);
    const hidden = kind === 'input' ? fed.inputs : fed.outputs;
    const metas = allMetas.filter((m) => !hidden.has(m.name));
    if (declared === undefined) {
      return metas.map((m) => ({
        name: m.name,
        datatype: graphTypes.get(`${kind}:${m.name}`) ?? 'FP32',
        dims: graphDims(m),
      }));
    }
    const out: ResolvedTensorConfig[] = [];
    declared.forEach((t, i) => {
      const field = `${kind}[${i}]`;
      if (hidden.has(t.name)) {
        issues.push({
          file,
          field: `${field}.name`,
          reason: `'${t.name}' is fed by the server (sequence_batching ${kind === 'input' ? 'control or state input' : 'state output'}); remove it from ${kind}`,
        });
        return;
      }
      const meta = metas.find((m) => m.name === t.name);
      if (meta === undefined) {
        issues.push({
          file,
          field: `${field}.name`,
          reason: `the model has no ${kind} '${t.name}'; it has ${metas.map((m) => `'${m.name}'`).join(', ')}`,
        });
        return;
      }
      const dt = datatypeFromConfigName(t.data_type) ?? 'FP32';
      const graphDt = graphTypes.get(`${kind}:${t.name}`);
      if (graphDt !== dt)
        issues.push({
          file,
          field: `${field}.data_type`,
          reason: `is ${t.data_type}, but the model's ${kind} '${t.name}' is ${graphDt}`,
        });
      const gd = graphDims(meta);
      const dimsOk = gd.length === t.dims.length && gd.every((d, j) => d === -1 || t.dims[j] === -1 || t.dims[j] === d);
      if (!dimsOk) {
        issues.push({
          file,
          field: `${field}.dims`,
          reason: `is ${shapeText(t.dims)}, but the model's ${kind} '${t.name}' has ${shapeText(gd)}${maxBatchSize > 0 ? ' after the batch dimension' : ''}`,
        });
      }
      // Where the config says -1 but the graph is fixed, the graph's size is the truth.
      const dims = t.dims.map((d, j) => (d === -1 ? (gd[j] ?? -1) : d));
      out.push({
        name: t.name,
        datatype: dt,
        dims,

        ...(t.label_filename === undefined ? {} : { labelFilename: t.label_filename }),
      });
    });
    if (kind === 'input') {
      for (const m of metas) {
        if (!declared.some((t) => t.name === m.name))
          issues.push({ file, field: 'input', reason: `the model's input '${m.name}' is missing from the config` });
      }
    }
    return out;
  };

  const inputs = resolveList('input', parsed.input, graph.inputs);
  const outputs = resolveList('output', parsed.output, graph.outputs);
  const batching = parsed.dynamic_batching;
  const sequence = parsed.sequence_batching;
  let sequenceBatching: ResolvedSequenceBatching | undefined;
  if (sequence !== undefined) {
    if (batching !== undefined) {
      issues.push({
        file,
        field: 'sequence_batching',
        reason:
          'cannot be combined with dynamic_batching: the sequence batcher batches requests of different sequences itself; remove dynamic_batching',
      });
    }
    if (parsed.response_cache?.enable === true) {
      issues.push({
        file,
        field: 'response_cache.enable',
        reason: "cannot be used with sequence_batching: a stateful model's outputs depend on its sequence's state",
      });
    }
    sequenceBatching = resolveSequenceBatching(sequence, maxBatchSize, graph, graphTypes, file, issues);
  }
  if (batching !== undefined) {
    if (maxBatchSize === 0) {
      issues.push({
        file,
        field: 'dynamic_batching',
        reason: 'needs a batch dimension: max_batch_size must be above 0',
      });
    }
    batching.preferred_batch_size.forEach((size, i) => {
      if (maxBatchSize > 0 && size > maxBatchSize) {
        issues.push({
          file,
          field: `dynamic_batching.preferred_batch_size[${i}]`,
          reason: `is ${size}, over max_batch_size ${maxBatchSize}`,
        });
      }
    });
  }
  const queue = parsed.queue_policy ?? MODEL_CONFIG_DEFAULTS.queue_policy;
  if (queue.priority_levels !== undefined && queue.priority_levels > 0) {
    if (queue.default_priority_level > queue.priority_levels)
      issues.push({
        file,
        field: 'queue_policy.default_priority_level',
        reason: `is ${queue.default_priority_level}, past priority_levels ${queue.priority_levels}`,
      });
  }
  const task = parsed.task ?? 'tensor';
  const warmup = resolveWarmup(
    parsed.model_warmup,
    {
      file,
      modelDir: folder.dir,
      task,
      maxBatchSize,
      inputs,
      ...(sequenceBatching === undefined ? {} : { sequenceBatching }),
    },
    issues,
  );
  if (issues.length > 0) return { ok: false, issues };

  const resolved: ResolvedModelConfig = {
    name: folder.name,
    platform: 'onnxruntime_onnx',
    task,
    ...(parsed.task === 'embedding' ? { embedding: parsed.embedding ?? MODEL_CONFIG_DEFAULTS.embedding } : {}),
    ...(parsed.task === 'rerank' ? { rerank: parsed.rerank ?? MODEL_CONFIG_DEFAULTS.rerank } : {}),
    ...(parsed.task === 'text-generation'
      ? { textGeneration: parsed.text_generation ?? MODEL_CONFIG_DEFAULTS.text_generation }
      : {}),
    modelFilename: modelFile,
    maxBatchSize,
    inputs,
    outputs,
    versionPolicy: parsed.version_policy,
    ...resolveExecution(parsed),
    queuePolicy: {
      maxQueueSize: queue.max_queue_size,
      defaultTimeoutMicroseconds: queue.default_timeout_microseconds,
      defaultPriorityLevel: queue.default_priority_level,
      ...(queue.priority_levels === undefined ? {} : { priorityLevels: queue.priority_levels }),
      timeoutOverride:
        queue.allow_timeout_override === undefined ? 'replace' : queue.allow_timeout_override ? 'shorten' : 'none',
    },
    responseCache: (parsed.response_cache ?? MODEL_CONFIG_DEFAULTS.response_cache).enable,
    dynamicBatching:
      batching === undefined
        ? undefined
        : {
            maxQueueDelayMicroseconds: batching.max_queue_delay_microseconds,
            preferredBatchSizes: [...batching.preferred_batch_size].sort((a, b) => a - b),
            adaptive: batching.adaptive,
          },
    ...(sequenceBatching === undefined ? {} : { sequenceBatching }),
    parameters: parsed.parameters ?? {},
    ...(parsed.monitoring === undefined ? {} : { monitoring: parsed.monitoring }),
    warmup,
    autoCompleted: parsed.input === undefined || parsed.output === undefined,
  };
  return { ok: true, value: deepFreeze(resolved) };
}
