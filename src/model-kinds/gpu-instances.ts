// What a tensor version does for its GPU instances: finds how many GPUs there are before placing
// them, measures the device memory their load takes, and counts their execution time as GPU busy
// time. Without nvidia-smi the device count is unknown (ids are not checked) and memory is not
// measured; busy time is counted whenever a session runs on a GPU provider.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { GPU_PROVIDERS } from '../observability/cost.js';
import { NvidiaSmi } from '../observability/nvidia-smi.js';
import type { Instance, InstanceMetadata } from '../runtime/index.js';

type ExecutionConfig = Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'>;

/** Where an instance runs, as the model's config view shows it. */
export interface InstancePlacement {
  readonly name: string;
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  /** The device id of a KIND_GPU instance. */
  readonly gpu?: number;
  /** Providers its session opened with. */
  readonly providers: readonly string[];
}

export function wantsGpu(exec: ExecutionConfig): boolean {
  return exec.instanceGroups.some((g) => g.kind === 'KIND_GPU');
}

/** GPUs CUDA can number, for a config with a KIND_GPU group; undefined when it cannot be known. */
export function gpuCountFor(exec: ExecutionConfig, smi: NvidiaSmi | undefined = NvidiaSmi.find()): number | undefined {
  return wantsGpu(exec) ? smi?.cudaDeviceCountSync() : undefined;
}

/** Whether an opened session runs on a GPU provider (one that was not available is not listed). */
export function runsOnGpuProvider(metadata: InstanceMetadata): boolean {
  return metadata.providers.some((p) => GPU_PROVIDERS.has(p));
}

/** The instance, with every execution's infer time added to its device's busy time. */
export function countingGpuBusy(instance: Instance, addSeconds: (seconds: number) => void): Instance {
  const stopped = instance.onStopped?.bind(instance);
  return {
    label: instance.label,
    get alive() {
      return instance.alive;
    },
    async run(inputs, outputNames) {
      const result = await instance.run(inputs, outputNames);
      addSeconds(result.timings.computeInferNs / 1e9);
      return result;
    },
    close: () => instance.close(),
    ...(stopped === undefined ? {} : { onStopped: stopped }),
  };
}

/** This process's device memory per GPU UUID, before a load; undefined without nvidia-smi. */
export async function gpuMemoryBefore(smi: NvidiaSmi | undefined): Promise<ReadonlyMap<string, number> | undefined> {
  return smi === undefined ? undefined : await smi.processMemory().catch(() => undefined);
}

/**
 * Records what this process's device memory grew by since `before`, per GPU, as the version's
 * memory. Loads of other versions at the same moment are counted too: the figure is the
 * process's, and nvidia-smi has no finer one.
 */
export async function recordGpuMemoryGrowth(
  smi: NvidiaSmi | undefined,
  before: ReadonlyMap<string, number> | undefined,
  record: (gpuUuid: string, bytes: number) => void,
): Promise<void> {
  if (smi === undefined || before === undefined) return;
  const after = await smi.processMemory().catch(() => undefined);
  for (const [uuid, bytes] of after ?? []) record(uuid, Math.max(0, bytes - (before.get(uuid) ?? 0)));
}
