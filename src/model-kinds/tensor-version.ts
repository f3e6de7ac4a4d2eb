// The factory for tensor models: starts the instances (worker threads, or inline), completes the
// config from the first one's graph, reads labels, and puts the scheduler the config asks for in
// front: the sequence batcher for `sequence_batching` (kind `stateful`), else the dynamic batcher.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readLabels } from '../config/model-config-file.js';
import { readWarmupData } from '../config/warmup-data.js';
import { resolveExecution, resolveModelConfig } from '../config/model-config-resolver.js';
import type { Loaded } from '../config/model-config-file.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { ModelStats } from '../observability/model-stats.js';
import { NvidiaSmi } from '../observability/nvidia-smi.js';
import { InlineInstance, ModelInstance, placeInstances, type Instance, type InstancePlan } from '../runtime/index.js';
import { DynamicBatcher } from '../scheduler/dynamic-batcher.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { SequenceBatcher } from '../scheduler/sequence-batcher.js';
import type { StatefulModelVersion, TensorModelVersion } from './model-version.js';
import { failedLoad, type VersionBuildContext, type VersionSpec } from './version-spec.js';
import {
  countingGpuBusy,
  type InstancePlacement,
  gpuCountFor,
  gpuMemoryBefore,
  recordGpuMemoryGrowth,
  runsOnGpuProvider,
  wantsGpu,
} from './gpu-instances.js';
import { warmUpInstances } from './warmup.js';
import {
  autoInlineRefusal,
  choiceFromProbe,
  probeExecutionUs,
  PROBE_STOP_FACTOR,
  resolvedAutoInlineRefusal,
  type ExecutionChoice,
} from './auto-inline.js';

/** A tensor version with its instances running and its scheduler in front. */
export type TensorParts = Omit<TensorModelVersion, 'kind'>;

export async function buildTensorVersion(
  spec: VersionSpec,
  ctx: VersionBuildContext,
): Promise<Loaded<TensorModelVersion | StatefulModelVersion>> {
  const started = performance.now();
  const built = await startTensorParts(spec, ctx);
  if (!built.ok) return built;
  built.value.stats.recordLoadSeconds((performance.now() - started) / 1000);
  const kind = built.value.config.sequenceBatching === undefined ? 'tensor' : 'stateful';
  return { ok: true, value: { kind, ...built.value } };
}

/**
 * Instances, resolved config, labels and scheduler: what every kind that takes tensors runs on. The
 * caller records the load time once what it builds on top is ready.
 */
export async function startTensorParts(spec: VersionSpec, ctx: VersionBuildContext): Promise<Loaded<TensorParts>> {
  const { folder, parsed, version, modelPath } = spec;
  const exec = resolveExecution(parsed);
  // KIND_GPU groups: `count` instances on each listed device, ids checked against nvidia-smi.
  const smi = wantsGpu(exec) ? NvidiaSmi.find() : undefined;
  const placement = placeInstances(
    exec,
    ctx.cpuCores,
    {
      ...(ctx.allowSpinning === undefined ? {} : { allowSpinning: ctx.allowSpinning }),
      ...(ctx.optimizedModelCacheDir === undefined ? {} : { optimizedModelCacheDir: ctx.optimizedModelCacheDir }),
    },
    gpuCountFor(exec, smi),
  );
  const configFile = path.join(folder.dir, folder.configFiles[0] ?? '');
  if (!placement.ok)
    return { ok: false, issues: [{ file: configFile, field: placement.field, reason: placement.reason }] };
  const plans = placement.plans;
  const label = `${folder.name}/${version}`;
  // Where the sessions run: as configured, or (`auto`) timed on the main thread below.
  const setting = ctx.inlineExecution === true ? true : exec.optimization.inlineExecution;
  const refusal =
    setting === 'auto' ? autoInlineRefusal(exec, ctx.autoInlineMaxUs, await fileBytes(modelPath)) : undefined;
  let inline = setting === true || (setting === 'auto' && refusal === undefined);
  const gpuMetrics = ctx.metrics.modelGpu;
  const loadInstance = async (name: string, plan: InstancePlan) => {
    // A model timed for the main thread runs there on one intra-op thread unless its config says
    // otherwise: it computes in microseconds, and more threads would only wait for each other.
    const loaded = await (inline
      ? InlineInstance.load(
          name,
          modelPath,
          setting === 'auto' && exec.optimization.intraOpThreads === 0
            ? { ...plan.options, intraOpNumThreads: 1 }
            : plan.options,
        )
      : ModelInstance.load(name, modelPath, plan.options));
    const device = plan.device;
    if (device === undefined || !runsOnGpuProvider(loaded.metadata)) return loaded;
    const instance = countingGpuBusy(loaded.instance, (s) =>
      gpuMetrics.addBusy(folder.name, String(version), device, s),
    );
    return { instance, metadata: loaded.metadata };
  };
  const placements: InstancePlacement[] = [];
  const placed = (name: string, plan: InstancePlan, metadata: { readonly providers: readonly string[] }) =>
    placements.push({
      name,
      kind: plan.kind,
      ...(plan.device === undefined ? {} : { gpu: plan.device }),
      providers: [...metadata.providers],
    });
  const memoryBefore = await gpuMemoryBefore(smi);
  let first;
  try {
    first = await loadInstance(`${label}#0`, plans[0] as InstancePlan);
  } catch (err) {
    return failedLoad(modelPath, '', 'cannot load the model: ', err);
  }
  placed(`${label}#0`, plans[0] as InstancePlan, first.metadata);
  const resolved = resolveModelConfig(folder, parsed, first.metadata, ctx.autoMaxBatchSize);
  const labels = resolved.ok ? await readLabels(folder, resolved.value) : undefined;
  const warmupData = resolved.ok ? await readWarmupData(folder, resolved.value) : undefined;
  if (!resolved.ok || labels === undefined || !labels.ok || warmupData === undefined || !warmupData.ok) {
    await first.instance.close();
    return {
      ok: false,
      issues: [
        ...(resolved.ok ? [] : resolved.issues),
        ...(labels !== undefined && !labels.ok ? labels.issues : []),
        ...(warmupData !== undefined && !warmupData.ok ? warmupData.issues : []),
      ],
    };
  }
  const config = resolved.value;
  let execution: ExecutionChoice =
    setting === 'auto'
      ? { inline: false, reason: `auto: ${refusal ?? ''}` }
      : {
          inline,
          reason:
            ctx.inlineExecution === true
              ? 'this command runs every model on its main thread'
              : `inline_execution: ${String(setting)}`,
        };
  if (setting === 'auto' && refusal === undefined) {
    execution = await decideByProbe(first.instance, config, ctx.autoInlineMaxUs ?? 0);
    if (!execution.inline) {
      // Too slow for the main thread: the same session opens in a worker thread instead.
      await first.instance.close();
      inline = false;
      try {
        first = await loadInstance(`${label}#0`, plans[0] as InstancePlan);
      } catch (err) {
        return failedLoad(modelPath, '', 'cannot load the model: ', err);
      }
    }
  }
  const instances: Instance[] = [first.instance];
  const more = await Promise.allSettled(plans.slice(1).map((plan, i) => loadInstance(`${label}#${i + 1}`, plan)));
  for (const [i, m] of more.entries()) {
    if (m.status !== 'fulfilled') continue;
    instances.push(m.value.instance);
    placed(`${label}#${i + 1}`, plans[i + 1] as InstancePlan, m.value.metadata);
  }
  await recordGpuMemoryGrowth(smi, memoryBefore, (uuid, bytes) =>
    gpuMetrics.setMemory(folder.name, String(version), uuid, bytes),
  );
  const failed = more.find((m): m is PromiseRejectedResult => m.status === 'rejected');
  if (failed !== undefined) {
    // Every instance that did start is stopped again: nothing is left running.
    await Promise.all(instances.map((i) => i.close()));
    return failedLoad(modelPath, 'instance_group', 'cannot start every instance: ', failed.reason);
  }
  if (config.warmup.length > 0) {
    // Straight to the instances, before the scheduler exists: the version is READY only after it.
    const warmupStarted = performance.now();
    const outcome = await warmUpInstances(instances, config, warmupData.value, ctx.warmupHook);
    const ms = Math.round((performance.now() - warmupStarted) * 10) / 10;
    if (!outcome.ok) {
      await Promise.all(instances.map((i) => i.close()));
      return failedLoad(
        path.join(folder.dir, folder.configFiles[0] ?? ''),
        `model_warmup[${outcome.index}]`,
        `warmup sample '${outcome.sample}' failed on instance ${outcome.instance}: `,
        outcome.error,
      );
    }
    ctx.logger.info(
      {
        model: folder.name,
        version,
        samples: config.warmup.length,
        instances: instances.length,
        executions: outcome.executions,
        warmupMs: ms,
      },
      `model ${label} warmed up in ${ms} ms`,
    );
  }
  const stats = new ModelStats(folder.name, String(version), ctx.metrics);
  if (config.responseCache && ctx.cache === undefined) {
    ctx.logger.warn({ model: folder.name }, 'response_cache is enabled but the server has no cache (--cache-size 0)');
  }
  const scheduler = schedulerFor(config, instances, stats, ctx);
  return {
    ok: true,
    value: {
      name: folder.name,
      version,
      config,
      labels: labels.value,
      scheduler,
      stats,
      instances,
      providers: first.metadata.providers,
      execution,
      placements,
      close: async () => {
        await scheduler.drain();
        await Promise.all(instances.map((i) => i.close()));
        gpuMetrics.forgetMemory(folder.name, String(version));
      },
      onUnavailable: watchInstances(instances),
    },
  };
}

/**
 * Watches the instances that can stop for good (worker instances whose restarts are used up) and
 * tells listeners once none is left running, with the last one's reason. One that is still
 * running keeps the version serving, with fewer instances.
 */
function watchInstances(instances: readonly Instance[]): (listener: (reason: string) => void) => void {
  let reason: string | undefined;
  const listeners: ((reason: string) => void)[] = [];
  let stopped = 0;
  for (const instance of instances) {
    instance.onStopped?.((err) => {
      stopped++;
      if (stopped < instances.length) return;
      reason = `no running instance: ${err.message}`;
      for (const l of listeners.splice(0)) l(reason);
    });
  }
  return (listener) => {
    if (reason !== undefined) listener(reason);
    else listeners.push(listener);
  };
}

function schedulerFor(
  config: ResolvedModelConfig,
  instances: readonly Instance[],
  stats: ModelStats,
  ctx: VersionBuildContext,
): Scheduler {
  const limits = {
    maxQueueSize: config.queuePolicy.maxQueueSize,
    defaultTimeoutUs: config.queuePolicy.defaultTimeoutMicroseconds,
    timeoutOverride: config.queuePolicy.timeoutOverride,
  };
  if (config.sequenceBatching !== undefined) {
    return new SequenceBatcher(instances, stats, {
      ...limits,
      spec: config.sequenceBatching,
      maxBatchSize: config.maxBatchSize,
    });
  }
  const batching = config.dynamicBatching;
  return new DynamicBatcher(instances, stats, {
    ...limits,
    ...(config.responseCache && ctx.cache !== undefined ? { cache: ctx.cache } : {}),
    ...(batching === undefined
      ? {}
      : {
          batching: {
            maxBatchSize: config.maxBatchSize,
            maxQueueDelayUs: batching.maxQueueDelayMicroseconds,
            preferredBatchSizes: batching.preferredBatchSizes,
            adaptive: batching.adaptive,
          },
        }),
    defaultPriorityLevel: config.queuePolicy.defaultPriorityLevel,
    ...(config.queuePolicy.priorityLevels === undefined ? {} : { priorityLevels: config.queuePolicy.priorityLevels }),
  });
}

async function fileBytes(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    // A missing file fails the load itself, with its own message.
    return 0;
  }
}

/** Times the inline instance; a model that cannot run its zero sample goes to a worker thread. */
async function decideByProbe(instance: Instance, config: ResolvedModelConfig, maxUs: number): Promise<ExecutionChoice> {
  const refusal = resolvedAutoInlineRefusal(config);
  if (refusal !== undefined) return { inline: false, reason: `auto: ${refusal}` };
  try {
    return choiceFromProbe(await probeExecutionUs(instance, config, maxUs * PROBE_STOP_FACTOR), maxUs);
  } catch (err) {
    return {
      inline: false,
      reason: `auto: a zero sample failed on the main thread (${err instanceof Error ? err.message : String(err)})`,
    };
  }
}
