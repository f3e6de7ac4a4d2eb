// Builds a SequenceBatcher for a stateful test model, its config resolved as the repository
// resolves it, with fresh stats: over real instances of the model, or over scripted instances under
// node's mock timers (the test answers each run and moves time). And requests for the accumulators.

import path from 'node:path';
import type { TestContext } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { InferRequest } from '../../src/core/infer-request.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';
import type { GraphSignature, GraphTensor } from '../../src/config/graph-signature.js';
import { readModelConfig, type ModelConfigSource } from '../../src/config/model-config-file.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';
import { scanModelFolder } from '../../src/repository/repository-scanner.js';
import { InlineInstance, ModelInstance, ortTypeOf, type Instance } from '../../src/runtime/index.js';
import { SequenceBatcher } from '../../src/scheduler/sequence-batcher.js';
import type { Datatype } from '../../src/tensor/datatype.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { ExampleFile } from '../../tools/examples/example-models.js';
import { onnxDataType } from '../../tools/onnx/onnx-builder.js';
import { decodeModel, type ValueInfoProto } from '../../tools/onnx/onnx-proto.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';
import { dateClock, MOCKED, ScriptedInstance, type Responder } from './scripted-instance.js';

export interface SequenceFixture {
  readonly scheduler: SequenceBatcher;
  readonly stats: ModelStats;
  readonly config: ResolvedModelConfig;
  close(): Promise<void>;
}

const SESSION = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

export async function sequenceFixture(
  files: readonly ExampleFile[],
  name: string,
  options: { instances?: number; inline?: boolean } = {},
): Promise<SequenceFixture> {
  const dir = await makeRepository(files);
  const folder = await scanModelFolder(dir, name);
  if (folder === undefined) throw new Error(`no model folder ${name}`);
  const parsed = await readModelConfig(folder);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const modelPath = path.join(dir, name, '1', 'model.onnx');
  const loaded = await Promise.all(
    Array.from({ length: options.instances ?? 1 }, (_, i) =>
      options.inline === true
        ? InlineInstance.load(`${name}#${i}`, modelPath, SESSION)
        : ModelInstance.load(`${name}#${i}`, modelPath, SESSION),
    ),
  );
  const first = loaded[0];
  if (first === undefined) throw new Error('no instance');
  const resolved = resolveModelConfig(folder, parsed.value, first.metadata);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues));
  const config = resolved.value;
  const spec = config.sequenceBatching;
  if (spec === undefined) throw new Error('the model has no sequence_batching');
  const instances: Instance[] = loaded.map((l) => l.instance);
  const stats = new ModelStats(name, '1', new Metrics());
  const scheduler = new SequenceBatcher(instances, stats, {
    spec,
    maxBatchSize: config.maxBatchSize,
    maxQueueSize: config.queuePolicy.maxQueueSize,
    defaultTimeoutUs: config.queuePolicy.defaultTimeoutMicroseconds,
    // step() stamps arrivals with the same clock.
    clock: dateClock,
  });
  return {
    scheduler,
    stats,
    config,
    async close() {
      await scheduler.drain();
      await Promise.all(instances.map((i) => i.close()));
      await removeRepository(dir);
    },
  };
}

export interface ScriptedSequenceFixture {
  readonly scheduler: SequenceBatcher;
  readonly stats: ModelStats;
  readonly config: ResolvedModelConfig;
  /** The first instance. */
  readonly instance: ScriptedInstance;
  readonly instances: readonly ScriptedInstance[];
}

/**
 * A SequenceBatcher over scripted instances that answer as the model's graph would (`respond`,
 * the accumulators' by default), with the model's config. Mock timers stay on for the rest of the
 * test `t`.
 */
export function scriptedSequenceFixture(
  t: TestContext,
  files: readonly ExampleFile[],
  name: string,
  options: { instances?: number; respond?: Responder } = {},
): ScriptedSequenceFixture {
  t.mock.timers.enable(MOCKED);
  const configFile = files.find((f) => f.path === `${name}/config.yaml`);
  const modelFile = files.find((f) => f.path === `${name}/1/model.onnx`);
  if (configFile === undefined || modelFile === undefined) throw new Error(`no config or model for ${name}`);
  const text = typeof configFile.bytes === 'string' ? configFile.bytes : new TextDecoder().decode(configFile.bytes);
  const parsed = modelConfigSchema.safeParse(parseYaml(text));
  if (!parsed.success) throw new Error(parsed.error.message);
  const folder: ModelConfigSource = { name, dir: name, configFiles: ['config.yaml'] };
  const bytes = typeof modelFile.bytes === 'string' ? new TextEncoder().encode(modelFile.bytes) : modelFile.bytes;
  const resolved = resolveModelConfig(folder, parsed.data, graphMetadata(bytes));
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues));
  const config = resolved.value;
  const spec = config.sequenceBatching;
  if (spec === undefined) throw new Error('the model has no sequence_batching');
  const instances = Array.from(
    { length: options.instances ?? 1 },
    (_, i) => new ScriptedInstance(`${name}#${i}`, options.respond ?? accumulate),
  );
  const stats = new ModelStats(name, '1', new Metrics());
  const scheduler = new SequenceBatcher(instances, stats, {
    spec,
    maxBatchSize: config.maxBatchSize,
    maxQueueSize: config.queuePolicy.maxQueueSize,
    defaultTimeoutUs: config.queuePolicy.defaultTimeoutMicroseconds,
    clock: dateClock,
  });
  return { scheduler, stats, config, instance: instances[0] as ScriptedInstance, instances };
}

const DATATYPES: readonly Datatype[] = ['BOOL', 'INT32', 'INT64', 'UINT64', 'FP32', 'BYTES'];

/** The graph's declared inputs and outputs, read from the ONNX file itself. */
function graphMetadata(bytes: Uint8Array): GraphSignature {
  const io = (v: ValueInfoProto): GraphTensor => {
    const type = v.type.tensor_type;
    const datatype = DATATYPES.find((d) => onnxDataType(d) === type.elem_type);
    if (datatype === undefined) throw new Error(`'${v.name}' has an element type the fixture does not map`);
    return {
      name: v.name,
      isTensor: true,
      datatype,
      elementType: ortTypeOf(datatype) ?? datatype,
      shape: (type.shape?.dim ?? []).map((d) => d.dim_value ?? -1),
    };
  };
  const graph = decodeModel(bytes).graph;
  return { inputs: graph.input.map(io), outputs: graph.output.map(io) };
}

/**
 * The accumulators' graph in JavaScript: SUM = STATE_OUT = STATE_IN + INPUT, and every other
 * `X_OUT` echoes the input `X` (see test/fixtures/stateful-models.ts).
 */
export const accumulate: Responder = (inputs, outputNames) => {
  const byName = (n: string): Tensor => {
    const t = inputs.find((x) => x.name === n);
    if (t === undefined) throw new Error(`the run has no input '${n}'`);
    return t;
  };
  return outputNames.map((name): Tensor => {
    if (name === 'SUM' || name === 'STATE_OUT') {
      const input = byName('INPUT');
      const state = byName('STATE_IN').data as Int32Array;
      const sum = (input.data as Int32Array).map((v, i) => v + (state[i] ?? 0));
      return { name, datatype: 'INT32', shape: [...input.shape], data: sum };
    }
    const source = byName(name.replace(/_OUT$/, ''));
    return { ...source, name };
  });
};

/** One request of an accumulator sequence adding `value` (batched: shape [1,1]; unbatched: [1]). */
export function step(
  id: bigint | string,
  value: number,
  flags: { start?: boolean; end?: boolean; batched?: boolean } & Partial<InferRequest> = {},
): InferRequest {
  const { start = false, end = false, batched = true, ...extra } = flags;
  return {
    requestId: `${String(id)}:${value}`,
    inputs: [{ name: 'INPUT', datatype: 'INT32', shape: batched ? [1, 1] : [1], data: Int32Array.of(value) }],
    outputNames: batched
      ? ['SUM', 'START_OUT', 'READY_OUT', 'END_OUT', 'CORRID_OUT']
      : ['SUM', 'START_OUT', 'CORRID_OUT'],
    batchSize: 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: dateClock.nowNs(),
    sequence: { id, start, end },
    ...extra,
  };
}

/** The first element of an output, as a number (bigint outputs converted). */
export function scalar(outputs: readonly Tensor[], name: string): number | string {
  const t = outputs.find((o) => o.name === name);
  if (t === undefined) throw new Error(`no output ${name}`);
  const v = (t.data as ArrayLike<unknown>)[0];
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return typeof v === 'bigint' ? Number(v) : (v as number);
}
