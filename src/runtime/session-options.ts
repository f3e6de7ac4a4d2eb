// Session options for each instance, with thread defaults that never oversubscribe the cores:
// instances × intra-op threads ≤ the cores the server may use. Instance groups are placed the way
// Triton places them: `count` instances of a KIND_GPU group on each device of its `gpus`.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { SessionOptionsWire } from './worker-messages.js';

type ExecutionConfig = Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'>;

/**
 * Intra-op threads of a GPU instance unless the config says: its threads only run the operators
 * the GPU provider leaves to the CPU, so it does not take a share of the cores from CPU instances.
 */
export const GPU_INSTANCE_INTRA_OP_THREADS = 1;

/**
 * Providers onnxruntime-node 1.30 gives a device id (`{ name, deviceId }`). Its WebGPU provider
 * takes none: it always runs on the adapter Dawn picks first.
 */
const DEVICE_SELECTING_PROVIDERS: ReadonlySet<string> = new Set(['cuda']);

/** Where one instance runs and how its session is opened. */
export interface InstancePlan {
  /** Index of its group in `instance_group`. */
  readonly group: number;
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  /** The GPU it runs on (KIND_GPU only). */
  readonly device?: number;
  readonly options: SessionOptionsWire;
}

export type Placement =
  | { readonly ok: true; readonly plans: readonly InstancePlan[] }
  | { readonly ok: false; readonly field: string; readonly reason: string };

export interface SessionDefaults {
  readonly allowSpinning?: boolean;
  readonly optimizedModelCacheDir?: string;
}

/** Instances the config starts: `count` per CPU group, `count` × devices per GPU group. */
export function instanceCount(config: ExecutionConfig): number {
  return config.instanceGroups.reduce(
    (n, g) => n + g.count * (g.kind === 'KIND_GPU' ? Math.max(1, g.gpus.length) : 1),
    0,
  );
}

/**
 * Session options of a model's first instance; `defaults.allowSpinning` applies when the model's
 * config does not say (the server leaves spinning on; batch jobs turn it off so the reader and
 * writer get a core between executions).
 */
export function sessionOptionsFor(
  config: ExecutionConfig,
  cpuCores: number,
  defaults: SessionDefaults = {},
): SessionOptionsWire {
  const instances = Math.max(1, instanceCount(config));
  const intra =
    config.optimization.intraOpThreads > 0
      ? config.optimization.intraOpThreads
      : Math.max(1, Math.floor(cpuCores / instances));
  return optionsWith(config, defaults, intra, [...config.optimization.executionProviders], undefined);
}

/**
 * Every instance of the config, in group order. `gpuCount` is the number of devices when it can be
 * known (nvidia-smi, narrowed by CUDA_VISIBLE_DEVICES); a device id past it fails the placement.
 * A KIND_CPU instance runs on the CPU provider alone; a KIND_GPU one on the configured providers,
 * with its device id where the provider takes one. CPU instances share the cores left after the
 * GPU instances' threads.
 */
export function placeInstances(
  config: ExecutionConfig,
  cpuCores: number,
  defaults: SessionDefaults = {},
  gpuCount?: number,
): Placement {
  const providers = config.optimization.executionProviders;
  const gpuProviders = providers.filter((p) => p !== 'cpu');
  const selecting = gpuProviders.some((p) => DEVICE_SELECTING_PROVIDERS.has(p));
  const configured = config.optimization.intraOpThreads;
  const gpuIntra = configured > 0 ? configured : GPU_INSTANCE_INTRA_OP_THREADS;
  const devicesOf: (readonly number[])[] = [];
  for (const [i, g] of config.instanceGroups.entries()) {
    if (g.kind === 'KIND_CPU') {
      devicesOf.push([]);
      continue;
    }
    if (gpuProviders.length === 0)
      return {
        ok: false,
        field: `instance_group[${i}].kind`,
        reason: 'KIND_GPU needs a GPU provider in optimization.execution_providers (webgpu or cuda)',
      };
    const devices =
      g.gpus.length > 0 ? g.gpus : selecting && gpuCount !== undefined && gpuCount > 0 ? range(gpuCount) : [0];
    const missing = gpuCount === undefined ? undefined : devices.find((d) => d >= gpuCount);
    if (missing !== undefined && gpuCount !== undefined)
      return {
        ok: false,
        field: `instance_group[${i}].gpus`,
        reason: `GPU ${missing} does not exist: this machine has ${gpuCount === 0 ? 'no GPU' : `${gpuCount} (ids 0-${gpuCount - 1})`}`,
      };
    if (!selecting && devices.some((d) => d !== 0))
      return {
        ok: false,
        field: `instance_group[${i}].gpus`,
        reason: `the ${gpuProviders.join(', ')} provider cannot be given a device in onnxruntime-node (it runs on the default adapter): list only GPU 0, or run on cuda`,
      };
    if (new Set(devices).size !== devices.length)
      return { ok: false, field: `instance_group[${i}].gpus`, reason: 'lists a GPU twice' };
    devicesOf.push(devices);
  }
  const gpuThreads = config.instanceGroups.reduce((n, g, i) => n + g.count * (devicesOf[i]?.length ?? 0) * gpuIntra, 0);
  const cpuInstances = config.instanceGroups.reduce((n, g) => n + (g.kind === 'KIND_CPU' ? g.count : 0), 0);
  const cpuIntra =
    configured > 0
      ? configured
      : Math.max(1, Math.floor(Math.max(1, cpuCores - gpuThreads) / Math.max(1, cpuInstances)));
  const plans: InstancePlan[] = [];
  for (const [i, g] of config.instanceGroups.entries()) {
    const devices = devicesOf[i] ?? [];
    if (g.kind === 'KIND_CPU') {
      for (let n = 0; n < g.count; n++)
        plans.push({
          group: i,
          kind: 'KIND_CPU',
          options: optionsWith(config, defaults, cpuIntra, ['cpu'], undefined),
        });
      continue;
    }
    for (const device of devices)
      for (let n = 0; n < g.count; n++)
        plans.push({
          group: i,
          kind: 'KIND_GPU',
          device,
          options: optionsWith(config, defaults, gpuIntra, [...providers], selecting ? device : undefined),
        });
  }
  return { ok: true, plans };
}

function optionsWith(
  config: ExecutionConfig,
  defaults: SessionDefaults,
  intraOpNumThreads: number,
  executionProviders: string[],
  deviceId: number | undefined,
): SessionOptionsWire {
  const spinning = config.optimization.allowSpinning ?? defaults.allowSpinning;
  return {
    intraOpNumThreads,
    interOpNumThreads: Math.max(1, config.optimization.interOpThreads),
    graphOptimizationLevel: config.optimization.graphLevel,
    executionProviders,
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(spinning === undefined ? {} : { allowSpinning: spinning }),
    ...(defaults.optimizedModelCacheDir === undefined
      ? {}
      : { optimizedModelCacheDir: defaults.optimizedModelCacheDir }),
  };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
