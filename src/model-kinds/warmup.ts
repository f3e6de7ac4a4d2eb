// Runs a version's warmup samples (Triton's model_warmup) on every instance before the scheduler
// is put in front: straight to each instance, so warmup never waits in a queue, never batches
// with requests and never counts in the model's statistics. Each instance runs every sample, in
// order, `runs` times; the instances warm up side by side. A stateful model's control and state
// inputs are filled as for a one-request sequence (START, READY and END true, zero state).

import type { WarmupData, WarmupRow } from '../config/warmup-data.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { InferRequest } from '../core/infer-request.js';
import type { Instance } from '../runtime/index.js';
import { assembleInputs, zeroData, zeroStates } from '../scheduler/sequence-tensors.js';
import {
  bytesElements,
  copyElements,
  elementCount,
  fixedElements,
  makeTensor,
  tensorContent,
  type Tensor,
} from '../tensor/tensor.js';

/** One warmup execution, as a test hook sees it before the execution runs. */
export interface WarmupRun {
  readonly sample: string;
  /** The instance's label, e.g. `mlp/1#0`. */
  readonly instance: string;
  /** 1 to the sample's runs. */
  readonly run: number;
}

/** Called before every warmup execution; the execution waits for a returned promise. */
export type WarmupHook = (run: WarmupRun) => void | Promise<void>;

export type WarmupOutcome =
  | { readonly ok: true; readonly executions: number }
  | {
      readonly ok: false;
      readonly index: number;
      readonly sample: string;
      readonly instance: string;
      readonly error: Error;
    };

/** Warms every instance up; the first failure (by instance order) is the outcome. */
export async function warmUpInstances(
  instances: readonly Instance[],
  config: ResolvedModelConfig,
  data: WarmupData,
  hook?: WarmupHook,
): Promise<WarmupOutcome> {
  const outcomes = await Promise.all(instances.map((instance) => warmUpOne(instance, config, data, hook)));
  const failed = outcomes.find((o) => !o.ok);
  if (failed !== undefined) return failed;
  return { ok: true, executions: outcomes.reduce((n, o) => n + (o.ok ? o.executions : 0), 0) };
}

async function warmUpOne(
  instance: Instance,
  config: ResolvedModelConfig,
  data: WarmupData,
  hook: WarmupHook | undefined,
): Promise<WarmupOutcome> {
  const outputNames = [
    ...config.outputs.map((o) => o.name),
    ...(config.sequenceBatching?.states.map((s) => s.outputName) ?? []),
  ];
  let executions = 0;
  for (const [index, sample] of config.warmup.entries()) {
    const rows = data[index] ?? [];
    for (let run = 1; run <= sample.runs; run++) {
      try {
        await hook?.({ sample: sample.name, instance: instance.label, run });
        // Fresh tensors for every execution: an instance may transfer (detach) its inputs.
        await instance.run(warmupInputs(config, rows, sample.batchSize), outputNames);
        executions++;
      } catch (err) {
        return {
          ok: false,
          index,
          sample: sample.name,
          instance: instance.label,
          error: err instanceof Error ? err : new Error(String(err)),
        };
      }
    }
  }
  return { ok: true, executions };
}

/** One execution's inputs: each client input's row repeated `batchSize` times. */
export function warmupInputs(config: ResolvedModelConfig, rows: readonly WarmupRow[], batchSize: number): Tensor[] {
  const clientRows = rows.filter((r) => config.inputs.some((t) => t.name === r.name));
  const batched = config.maxBatchSize > 0;
  const spec = config.sequenceBatching;
  if (spec === undefined)
    return clientRows.map((r) => repeatRow(r, batchSize, batched ? [batchSize, ...r.dims] : [...r.dims]));
  // One row per sequence; the sequence batcher's own assembly adds the state and control inputs.
  const inputs = clientRows.map((r) => repeatRow(r, 1, batched ? [1, ...r.dims] : [...r.dims]));
  const request: InferRequest = {
    requestId: 'warmup',
    inputs,
    outputNames: [],
    batchSize: 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: 0n,
  };
  const sequenceRows = Array.from({ length: batched ? batchSize : 1 }, () => ({
    request,
    start: true,
    end: true,
    states: zeroStates(spec),
  }));
  return assembleInputs(spec, config.maxBatchSize, sequenceRows);
}

function repeatRow(row: WarmupRow, times: number, shape: readonly number[]): Tensor {
  const content = tensorContent(row.datatype, row.data);
  const n = elementCount(row.dims);
  const data = zeroData(row.datatype, n * times);
  for (let k = 0; k < times; k++) {
    if (Array.isArray(data)) bytesElements(content).forEach((e, j) => (data[k * n + j] = e));
    else copyElements(data, k * n, fixedElements(content));
  }
  return makeTensor(row.name, row.datatype, shape, data);
}
