// Session options for each instance, with thread defaults that never oversubscribe the cores:
// instances × intra-op threads ≤ the cores the server may use.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import type { SessionOptionsWire } from './worker-messages.js';

type ExecutionConfig = Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'>;

export function instanceCount(config: ExecutionConfig): number {
  return config.instanceGroups.reduce((n, g) => n + g.count, 0);
}

/**
 * `defaults.allowSpinning` applies when the model's config does not say (the server leaves
 * spinning on; batch jobs turn it off so the reader and writer get a core between executions).
 */
export function sessionOptionsFor(
  config: ExecutionConfig,
  cpuCores: number,
  defaults: { readonly allowSpinning?: boolean; readonly optimizedModelCacheDir?: string } = {},
): SessionOptionsWire {
  const instances = Math.max(1, instanceCount(config));
  const intra =
    config.optimization.intraOpThreads > 0
      ? config.optimization.intraOpThreads
      : Math.max(1, Math.floor(cpuCores / instances));
  const spinning = config.optimization.allowSpinning ?? defaults.allowSpinning;
  return {
    intraOpNumThreads: intra,
    interOpNumThreads: Math.max(1, config.optimization.interOpThreads),
    graphOptimizationLevel: config.optimization.graphLevel,
    executionProviders: [...config.optimization.executionProviders],
    ...(spinning === undefined ? {} : { allowSpinning: spinning }),
    ...(defaults.optimizedModelCacheDir === undefined
      ? {}
      : { optimizedModelCacheDir: defaults.optimizedModelCacheDir }),
  };
}
