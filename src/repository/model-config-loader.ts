// Reads a model's config file and completes it from the ONNX graph's declared inputs and outputs,
// reporting every problem as file / field / reason. The result is deeply frozen.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { deepFreeze } from '../config/deep-freeze.js';
import { issuesFromZod, type ConfigIssue } from '../config/config-issues.js';
import { modelConfigSchema, type ParsedModelConfig, type TensorConfig } from '../config/model-config-schema.js';
import type { ResolvedModelConfig, ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { datatypeFromOrt, type IoMetadata } from '../runtime/index.js';
import { datatypeFromConfigName, type Datatype } from '../tensor/datatype.js';
import type { ModelFolder } from './repository-scanner.js';

/** Batch limit given to models whose graphs have a dynamic first dimension and no config says otherwise. */
export const AUTO_MAX_BATCH_SIZE = 64;

export type Loaded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export async function readModelConfig(folder: ModelFolder): Promise<Loaded<ParsedModelConfig>> {
  if (folder.configFiles.length > 1) {
    return {
      ok: false,
      issues: [
        {
          file: path.join(folder.dir, folder.configFiles[0] ?? ''),
          field: '',
          reason: `more than one config file (${folder.configFiles.join(', ')}); keep one`,
        },
      ],
    };
  }
  const fileName = folder.configFiles[0];
  let raw: unknown = {};
  const file = fileName === undefined ? path.join(folder.dir, 'config.yaml') : path.join(folder.dir, fileName);
  if (fileName !== undefined) {
    try {
      const text = await readFile(file, 'utf8');
      raw = fileName.endsWith('.json') ? JSON.parse(text) : (parseYaml(text) ?? {});
    } catch (err) {
      return {
        ok: false,
        issues: [{ file, field: '', reason: `cannot parse: ${err instanceof Error ? err.message : String(err)}` }],
      };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, issues: [{ file, field: '', reason: 'expected a mapping of configuration fields' }] };
  }
  const result = modelConfigSchema.safeParse(raw);
  if (!result.success) return { ok: false, issues: issuesFromZod(file, result.error) };
  if (result.data.name !== undefined && result.data.name !== folder.name) {
    return {
      ok: false,
      issues: [{ file, field: 'name', reason: `'${result.data.name}' differs from the folder name '${folder.name}'` }],
    };
  }
  return { ok: true, value: result.data };
}

/** The execution settings, which are needed before the graph is open (to start the first instance). */
export function resolveExecution(
  parsed: ParsedModelConfig,
): Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'> {
  const opt = parsed.optimization;
  const askedForGpu = (parsed.instance_group ?? []).some((g) => g.kind === 'KIND_GPU');
  // A GPU instance group without explicit providers runs on the bundled WebGPU provider, with
  // the CPU for the operators it lacks.
  const providers = opt?.execution_providers ?? (askedForGpu ? ['webgpu' as const, 'cpu' as const] : ['cpu' as const]);
  const gpu = providers.some((p) => p !== 'cpu');
  return {
    instanceGroups: (parsed.instance_group ?? [{ count: 1, kind: 'KIND_AUTO' as const }]).map((g) => ({
      count: g.count,
      kind: g.kind === 'KIND_AUTO' ? (gpu ? 'KIND_GPU' : 'KIND_CPU') : g.kind,
      gpus: 'gpus' in g && g.gpus !== undefined ? g.gpus : [],
    })),
    optimization: {
      graphLevel: opt?.graph_level ?? 'all',
      intraOpThreads: opt?.intra_op_threads ?? 0,
      interOpThreads: opt?.inter_op_threads ?? 1,
      executionProviders: providers,
      inlineExecution: opt?.inline_execution ?? false,
    },
  };
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Completes and checks the config against the graph's metadata. */
export function resolveModelConfig(
  folder: ModelFolder,
  parsed: ParsedModelConfig,
  graph: { readonly inputs: readonly IoMetadata[]; readonly outputs: readonly IoMetadata[] },
): Loaded<ResolvedModelConfig> {
  const file = path.join(folder.dir, folder.configFiles[0] ?? 'model.onnx');
  const modelFile = 'model.onnx';
  const issues: ConfigIssue[] = [];

  // Types first: a graph tensor the protocol or onnxruntime-node cannot carry is refused outright.
  const graphTypes = new Map<string, Datatype>();
  for (const [kind, list] of [['input', graph.inputs] as const, ['output', graph.outputs] as const]) {
    for (const m of list) {
      const dt = m.isTensor ? datatypeFromOrt(m.ortType) : undefined;
      if (dt === undefined) {
        issues.push({
          file: path.join(folder.dir, modelFile),
          field: `${kind} '${m.name}'`,
          reason: m.isTensor
            ? `element type '${m.ortType}' is not supported by onnxruntime-node (e.g. BF16); convert the model to a supported type`
            : 'is not a tensor (sequences and maps are not supported)',
        });
      } else graphTypes.set(`${kind}:${m.name}`, dt);
    }
  }
  if (issues.length > 0) return { ok: false, issues };

  const firstDimDynamic = [...graph.inputs, ...graph.outputs].every((m) => m.shape.length >= 1 && m.shape[0] === -1);
  const maxBatchSize = parsed.max_batch_size ?? (firstDimDynamic ? AUTO_MAX_BATCH_SIZE : 0);
  if (maxBatchSize > 0 && !firstDimDynamic) {
    issues.push({
      file,
      field: 'max_batch_size',
      reason: `is ${maxBatchSize}, but not every input and output of the graph has a dynamic first dimension; use 0`,
    });
    return { ok: false, issues };
  }

  const resolveList = (
    kind: 'input' | 'output',
    declared: readonly TensorConfig[] | undefined,
    metas: readonly IoMetadata[],
  ): ResolvedTensorConfig[] => {
    const graphDims = (m: IoMetadata): number[] => (maxBatchSize > 0 ? m.shape.slice(1) : [...m.shape]);
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
  if (issues.length > 0) return { ok: false, issues };

  const queue = parsed.queue_policy;
  const resolved: ResolvedModelConfig = {
    name: folder.name,
    platform: 'onnxruntime_onnx',
    maxBatchSize,
    inputs,
    outputs,
    versionPolicy: parsed.version_policy,
    ...resolveExecution(parsed),
    queuePolicy: {
      maxQueueSize: queue?.max_queue_size ?? 1024,
      defaultTimeoutMicroseconds: queue?.default_timeout_microseconds ?? 0,
      defaultPriorityLevel: queue?.default_priority_level ?? 1,
    },
    responseCache: parsed.response_cache?.enable ?? false,
    dynamicBatching:
      batching === undefined
        ? undefined
        : {
            maxQueueDelayMicroseconds: batching.max_queue_delay_microseconds,
            preferredBatchSizes: [...batching.preferred_batch_size].sort((a, b) => a - b),
            adaptive: batching.adaptive,
          },
    parameters: parsed.parameters ?? {},
    autoCompleted: parsed.input === undefined || parsed.output === undefined,
  };
  return { ok: true, value: deepFreeze(resolved) };
}

/** Reads each output's labels file (one label per line), relative to the model folder. */
export async function readLabels(
  folder: ModelFolder,
  config: ResolvedModelConfig,
): Promise<Loaded<ReadonlyMap<string, readonly string[]>>> {
  const labels = new Map<string, readonly string[]>();
  const issues: ConfigIssue[] = [];
  for (const [i, o] of config.outputs.entries()) {
    if (o.labelFilename === undefined) continue;
    const file = path.resolve(folder.dir, o.labelFilename);
    if (!file.startsWith(path.resolve(folder.dir) + path.sep)) {
      issues.push({
        file: path.join(folder.dir, folder.configFiles[0] ?? ''),
        field: `output[${i}].label_filename`,
        reason: 'must name a file inside the model folder',
      });
      continue;
    }
    try {
      const text = await readFile(file, 'utf8');
      labels.set(
        o.name,
        deepFreeze(text.split(/\r?\n/).filter((l, idx, all) => !(idx === all.length - 1 && l === ''))),
      );
    } catch (err) {
      issues.push({
        file,
        field: `output[${i}].label_filename`,
        reason: `cannot read labels: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: labels };
}
