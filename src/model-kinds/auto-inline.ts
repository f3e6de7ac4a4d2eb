// `optimization.inline_execution: auto`, the default: where a model's session runs. A worker
// thread keeps the event loop free while the model computes, but every execution pays two thread
// hops (tens to hundreds of microseconds of wake-ups); a model that computes in less than that is
// served faster, and with less CPU, on the main thread. The server decides once, when the version
// loads: a model that can only be timed one way (several instances, a GPU provider, shapes that
// vary, a large file) stays in a worker; the others open inline, run a zero sample a few times
// and stay inline when the fastest execution is at most `--auto-inline-max-us`.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { Instance } from '../runtime/index.js';
import { zeroData } from '../scheduler/sequence-tensors.js';
import { elementCount } from '../tensor/tensor.js';
import { warmupInputs } from './warmup.js';

/** Model files larger than this are never opened on the main thread to be timed. */
export const AUTO_INLINE_MAX_MODEL_BYTES = 32 * 1024 * 1024;
/** Executions run and thrown away before the timed ones (first-run allocations). */
export const PROBE_WARM_RUNS = 3;
/** Timed executions; the fastest decides (a loaded machine only ever makes one slower). */
export const PROBE_TIMED_RUNS = 9;
/**
 * A probe stops at the first execution longer than this many times the limit, warm runs included:
 * a slow model blocks the event loop once while it is timed, not for every run.
 */
export const PROBE_STOP_FACTOR = 10;

/** Where a version's sessions run and why, as `/v2/models/{m}/config` reports it. */
export interface ExecutionChoice {
  readonly inline: boolean;
  readonly reason: string;
  /** Fastest execution of the zero sample on the main thread, when it was timed. */
  readonly probeUs?: number;
}

type ExecutionConfig = Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'>;

/**
 * Why `auto` cannot be decided by timing the model inline (it then runs in worker threads), from
 * what is known before the graph is open; undefined when it can be timed.
 */
export function autoInlineRefusal(
  exec: ExecutionConfig,
  maxUs: number | undefined,
  modelBytes: number,
): string | undefined {
  if (maxUs === undefined || maxUs <= 0) return 'automatic inline execution is off (--auto-inline-max-us 0)';
  const instances = exec.instanceGroups.reduce((n, g) => n + g.count, 0);
  if (instances !== 1)
    return `instance_group asks for ${instances} instances, which run side by side in worker threads`;
  if (
    exec.instanceGroups.some((g) => g.kind === 'KIND_GPU') ||
    exec.optimization.executionProviders.some((p) => p !== 'cpu')
  )
    return 'the model runs on a GPU provider';
  if (modelBytes > AUTO_INLINE_MAX_MODEL_BYTES)
    return `the model file is larger than ${AUTO_INLINE_MAX_MODEL_BYTES / (1024 * 1024)} MiB`;
  return undefined;
}

/** The same once the config is resolved: inputs whose shape varies cannot be timed by one sample. */
export function resolvedAutoInlineRefusal(config: ResolvedModelConfig): string | undefined {
  const variable = config.inputs.find((i) => i.dims.some((d) => d < 0));
  if (variable !== undefined) return `input '${variable.name}' has a variable shape, so one sample cannot time it`;
  return undefined;
}

/**
 * Runs a zero sample (batch 1) on the instance, PROBE_WARM_RUNS times untimed then
 * PROBE_TIMED_RUNS times timed, and returns the fastest execution in microseconds: tensors in,
 * the session's run and tensors out, which is what the event loop would be blocked for (the
 * instance's own timings, so other work on the loop while the server starts does not count).
 * An execution longer than `stopAboveUs` ends the probe at once, with its time.
 */
export async function probeExecutionUs(
  instance: Instance,
  config: ResolvedModelConfig,
  stopAboveUs = Number.POSITIVE_INFINITY,
): Promise<number> {
  const rows = config.inputs.map((i) => ({
    name: i.name,
    datatype: i.datatype,
    dims: [...i.dims],
    data: zeroData(i.datatype, elementCount(i.dims)),
  }));
  const outputNames = [
    ...config.outputs.map((o) => o.name),
    ...(config.sequenceBatching?.states.map((s) => s.outputName) ?? []),
  ];
  const times: number[] = [];
  for (let run = 0; run < PROBE_WARM_RUNS + PROBE_TIMED_RUNS; run++) {
    // Fresh tensors each run: an instance may detach its inputs.
    const { timings } = await instance.run(warmupInputs(config, rows, 1), outputNames);
    const us = (timings.computeInputNs + timings.computeInferNs + timings.computeOutputNs) / 1000;
    if (us > stopAboveUs) return us;
    if (run >= PROBE_WARM_RUNS) times.push(us);
  }
  return Math.min(...times);
}

/** The decision from a probe: inline when it is at most `maxUs`. */
export function choiceFromProbe(probeUs: number, maxUs: number): ExecutionChoice {
  const us = Math.round(probeUs * 10) / 10;
  return us <= maxUs
    ? { inline: true, probeUs: us, reason: `auto: an execution takes ${us} µs, at most --auto-inline-max-us ${maxUs}` }
    : {
        inline: false,
        probeUs: us,
        reason: `auto: an execution takes ${us} µs, more than --auto-inline-max-us ${maxUs}`,
      };
}
