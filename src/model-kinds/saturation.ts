// How full a loaded version is, 0–1, for the saturation gauge autoscalers scale on: the maximum
// over its resources, so a full queue or a full KV cache shows even where the others are idle.

import type { ModelVersion } from './model-version.js';

export function saturationOf(mv: ModelVersion): number {
  if (mv.kind === 'text-generation') {
    const g = mv.textGeneration.load();
    return clamp(Math.max(ratio(g.running, g.maxRunning), ratio(g.waiting, g.maxWaiting), g.kvCacheUsage));
  }
  const s = mv.scheduler.load();
  return clamp(Math.max(ratio(s.queued, s.queueCapacity), ratio(s.busyInstances, s.instances)));
}

/** used ÷ capacity; a resource with no capacity counts as full once anything uses it. */
function ratio(used: number, capacity: number): number {
  if (capacity <= 0) return used > 0 ? 1 : 0;
  return used / capacity;
}

function clamp(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 1;
}
