// One onnxruntime InferenceSession and the conversions around it: provider selection, graph
// metadata, protocol tensors in, protocol tensors out with per-phase timings. Used by the worker
// thread and by in-process (inline) instances alike.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Datatype } from '../tensor/datatype.js';
import { datatypeFromOrt, ortTypeOf } from './ort-datatype.js';
import { optimizedModelSource } from './optimized-model-cache.js';
import { ownedView } from './owned-view.js';
import type { IoMetadata, RunTimings, SessionOptionsWire, WireTensor } from './worker-messages.js';

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/**
 * Whether onnxruntime-node can open sessions on `name`: bundled providers always can; the others
 * (CUDA, TensorRT) need their shared library next to the binding, where its install script puts it.
 */
export function providerAvailable(name: string): boolean {
  if (name === 'cpu') return true;
  const backend = ort.listSupportedBackends().find((b) => b.name === name);
  if (backend === undefined) return false;
  if (backend.bundled) return true;
  const require = createRequire(import.meta.url);
  const binDir = path.join(
    path.dirname(require.resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
  return existsSync(path.join(binDir, `libonnxruntime_providers_${name}.so`));
}

/**
 * What onnxruntime-node is given for each provider: the CUDA provider with the instance's device id
 * (`{ name: 'cuda', deviceId }`, which the binding passes to OrtCUDAProviderOptionsV2.device_id);
 * the others by name (its WebGPU provider refuses a `deviceId` option).
 */
export function providerConfigs(
  providers: readonly string[],
  deviceId: number | undefined,
): ort.InferenceSession.ExecutionProviderConfig[] {
  return providers.map((name) => (name === 'cuda' && deviceId !== undefined ? { name: 'cuda', deviceId } : name));
}

function metadataOf(list: readonly ort.InferenceSession.ValueMetadata[]): IoMetadata[] {
  return list.map((m) => {
    if (!m.isTensor)
      return { name: m.name, elementType: 'non-tensor', datatype: undefined, isTensor: false, shape: [] };
    // onnxruntime-node reports unknown element types (e.g. bfloat16) as undefined.
    const elementType = (m.type as string | undefined) ?? 'unsupported';
    return {
      name: m.name,
      elementType,
      datatype: datatypeFromOrt(elementType),
      isTensor: true,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  readonly inputs: IoMetadata[];
  readonly outputs: IoMetadata[];
  readonly providers: string[];
}

export async function openSession(modelPath: string, options: SessionOptionsWire): Promise<OpenedSession> {
  const providers = options.executionProviders.filter(providerAvailable);
  if (providers.length === 0) providers.push('cpu');
  let session: ort.InferenceSession;
  const source =
    options.optimizedModelCacheDir === undefined
      ? undefined
      : await optimizedModelSource(
          modelPath,
          options.optimizedModelCacheDir,
          options.graphOptimizationLevel,
          providers,
        );
  try {
    session = await ort.InferenceSession.create(source?.path ?? modelPath, {
      intraOpNumThreads: options.intraOpNumThreads,
      interOpNumThreads: options.interOpNumThreads,
      graphOptimizationLevel: source?.graphOptimizationLevel ?? options.graphOptimizationLevel,
      ...(source?.optimizedModelFilePath === undefined
        ? {}
        : { optimizedModelFilePath: source.optimizedModelFilePath }),
      executionProviders: providerConfigs(providers, options.deviceId),
      // Inter-op parallelism only exists in onnxruntime's parallel mode.
      executionMode: options.interOpNumThreads > 1 ? 'parallel' : 'sequential',
      // onnxruntime would print its own copy of every failure to stderr; inferd reports and logs them.
      logSeverityLevel: 4,
      ...(options.allowSpinning === false
        ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }
        : {}),
    });
  } catch (err) {
    // onnxruntime-node refuses graph inputs/outputs of element types it has no JS type for (BF16,
    // float8, 4-bit) with only the ONNX type number; name the type so the reason is actionable.
    const unsupported = /^Unsupported data type: (\d+)$/.exec(messageOf(err));
    if (unsupported === null) throw err;
    const code = Number(unsupported[1]);
    const typeName = code === 16 ? 'BF16 (bfloat16)' : `ONNX element type ${code}`;
    throw new Error(
      `a graph input or output has element type ${typeName}, which onnxruntime-node does not support; convert the model to a supported type`,
    );
  }
  await source?.commit();
  return { session, inputs: metadataOf(session.inputMetadata), outputs: metadataOf(session.outputMetadata), providers };
}

function toOrtTensor(t: WireTensor): ort.Tensor {
  const type = ortTypeOf(t.datatype);
  if (type === undefined) throw new Error(`datatype ${t.datatype} is not supported by onnxruntime-node`);
  if (t.datatype === 'BYTES') {
    const elements = t.data;
    const strings = new Array<string>(elements.length);
    for (let i = 0; i < elements.length; i++) strings[i] = utf8.decode(elements[i]);
    return new ort.Tensor('string', strings, t.shape);
  }
  // The constructor's overloads are per type; the datatype table guarantees the pairing.
  return new ort.Tensor(type as 'float32', t.data as Float32Array, t.shape);
}

export interface SessionResult {
  readonly outputs: WireTensor[];
  /** Buffers of the outputs, for a transfer list. */
  readonly buffers: ArrayBuffer[];
  readonly timings: RunTimings;
}

/**
 * Runs the session once and converts the outputs. With `ownBuffers`, each output's data gets an
 * ArrayBuffer of its own (needed to transfer it to another thread).
 */
export async function runSession(
  session: ort.InferenceSession,
  inputs: readonly WireTensor[],
  outputNames: readonly string[],
  ownBuffers: boolean,
): Promise<SessionResult> {
  const t0 = process.hrtime.bigint();
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) feeds[t.name] = toOrtTensor(t);
  const t1 = process.hrtime.bigint();
  // onnxruntime-node runs a session synchronously from a setImmediate callback. One queued just
  // before it runs just before it, so the inference time excludes the wait for the event loop's
  // turn (which, on the main thread, is other requests' work).
  let started = t1;
  setImmediate(() => {
    started = process.hrtime.bigint();
  });
  const results = await session.run(feeds, outputNames as string[]);
  const t2 = process.hrtime.bigint();
  const outputs: WireTensor[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const name of outputNames) {
    const value = results[name];
    if (value === undefined) throw new Error(`model produced no output '${name}'`);
    const datatype: Datatype | undefined = datatypeFromOrt(value.type);
    if (datatype === undefined)
      throw new Error(`output '${name}' has type ${value.type}, which the protocol cannot carry`);
    const dims = Array.from(value.dims);
    if (datatype === 'BYTES') {
      outputs.push({ name, datatype, shape: dims, data: (value.data as string[]).map((s) => utf8Encoder.encode(s)) });
    } else {
      const data = ownBuffers ? ownedView(value.data as ArrayBufferView) : (value.data as ArrayBufferView);
      buffers.push(data.buffer as ArrayBuffer);
      outputs.push({ name, datatype, shape: dims, data });
    }
  }
  const t3 = process.hrtime.bigint();
  return {
    outputs,
    buffers,
    timings: {
      computeInputNs: Number(t1 - t0),
      computeInferNs: Number(t2 - started),
      computeOutputNs: Number(t3 - t2),
    },
  };
}
