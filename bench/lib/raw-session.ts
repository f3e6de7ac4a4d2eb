// The in-process limit: onnxruntime-node's session.run on the same model file, opened with the
// session options the server would give its single instance on this machine.

import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModelConfig } from '../../src/config/model-config-file.js';
import { resolveExecution } from '../../src/config/model-config-resolver.js';
import { MODEL_FILE, scanModelFolder } from '../../src/repository/repository-scanner.js';
import { sessionOptionsFor } from '../../src/runtime/session-options.js';
import type { SessionOptionsWire } from '../../src/runtime/worker-messages.js';
import { sampleTensor, type SampleDatatype, type SampleTensor } from './kserve-bodies.js';

export interface RawSession {
  readonly modelPath: string;
  readonly options: SessionOptionsWire;
  readonly inputs: readonly SampleTensor[];
  /** One session.run with the prepared feeds; resolves with its latency in ns. */
  run(): Promise<number>;
  outputs(): Promise<Map<string, ArrayLike<number>>>;
  release(): Promise<void>;
}

const DATATYPES: Partial<Record<string, SampleDatatype>> = { int32: 'INT32', float32: 'FP32' };

/** The options src/repository gives the newest version of `model`, for `cpuCores` cores. */
export async function serverSessionOptions(
  repository: string,
  model: string,
  cpuCores: number,
): Promise<{ modelPath: string; options: SessionOptionsWire }> {
  const folder = await scanModelFolder(repository, model);
  const version = folder === undefined ? undefined : Math.max(...folder.versions);
  if (folder === undefined || version === undefined || !Number.isFinite(version)) {
    throw new Error(`no model '${model}' with a version folder in ${repository}`);
  }
  const parsed = await readModelConfig(folder);
  if (!parsed.ok) throw new Error(`config of '${model}': ${parsed.issues.map((i) => i.reason).join('; ')}`);
  return {
    modelPath: path.join(folder.dir, String(version), MODEL_FILE),
    options: sessionOptionsFor(resolveExecution(parsed.value), cpuCores),
  };
}

export async function openRawSession(repository: string, model: string, cpuCores: number): Promise<RawSession> {
  const { modelPath, options } = await serverSessionOptions(repository, model, cpuCores);
  if (options.executionProviders.some((p) => p !== 'cpu')) {
    throw new Error(`'${model}' asks for ${options.executionProviders.join(', ')}; this benchmark compares on CPU`);
  }
  // The same create() options as src/runtime/session-worker.ts.
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: options.interOpNumThreads,
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionProviders: ['cpu'],
    executionMode: 'sequential',
  });
  const inputs = session.inputMetadata.map((m) => {
    const datatype = m.isTensor ? DATATYPES[m.type] : undefined;
    if (!m.isTensor || datatype === undefined) {
      throw new Error(`input '${m.name}' of '${model}' is not an int32 or float32 tensor`);
    }
    // Batch 1: every symbolic or unknown dimension becomes 1.
    const shape = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    return sampleTensor(m.name, datatype, shape);
  });
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) {
    feeds[t.name] =
      t.datatype === 'INT32'
        ? new ort.Tensor('int32', t.data as Int32Array, t.shape)
        : new ort.Tensor('float32', t.data as Float32Array, t.shape);
  }
  return {
    modelPath,
    options,
    inputs,
    async run() {
      const start = process.hrtime.bigint();
      await session.run(feeds);
      return Number(process.hrtime.bigint() - start);
    },
    async outputs() {
      const results = await session.run(feeds);
      const out = new Map<string, ArrayLike<number>>();
      for (const name of session.outputNames) {
        const value = results[name];
        if (value === undefined) throw new Error(`'${model}' produced no output '${name}'`);
        out.set(name, value.data as Int32Array | Float32Array);
      }
      return out;
    },
    release: () => session.release(),
  };
}
