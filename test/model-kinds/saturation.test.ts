// A version's saturation is its most loaded resource (0-1): the queue, the instances, or for text
// generation the running and waiting sequences and the KV cache, never an average of them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GenerationLoad } from '../../src/generation/engine-types.js';
import type { ModelVersion } from '../../src/model-kinds/model-version.js';
import { saturationOf } from '../../src/model-kinds/saturation.js';
import type { SchedulerLoad } from '../../src/scheduler/scheduler.js';

function tensor(load: SchedulerLoad): ModelVersion {
  return { kind: 'tensor', scheduler: { load: () => load } } as unknown as ModelVersion;
}

function generation(load: GenerationLoad): ModelVersion {
  return { kind: 'text-generation', textGeneration: { load: () => load } } as unknown as ModelVersion;
}

describe('saturationOf', () => {
  it('is the fuller of the queue and the instances', () => {
    assert.equal(saturationOf(tensor({ queued: 0, queueCapacity: 8, busyInstances: 0, instances: 2 })), 0);
    assert.equal(saturationOf(tensor({ queued: 0, queueCapacity: 8, busyInstances: 1, instances: 2 })), 0.5);
    assert.equal(saturationOf(tensor({ queued: 6, queueCapacity: 8, busyInstances: 1, instances: 2 })), 0.75);
    assert.equal(saturationOf(tensor({ queued: 8, queueCapacity: 8, busyInstances: 2, instances: 2 })), 1);
  });

  it('follows the KV cache of a text-generation model even with sequences to spare', () => {
    const load = { running: 2, maxRunning: 8, waiting: 0, maxWaiting: 64, kvCacheUsage: 0.9 };
    assert.equal(saturationOf(generation(load)), 0.9);
    assert.equal(saturationOf(generation({ ...load, kvCacheUsage: 0.1 })), 0.25);
    assert.equal(saturationOf(generation({ ...load, kvCacheUsage: 0, waiting: 48 })), 0.75);
  });

  it('stays within 0-1 whatever the counts say', () => {
    assert.equal(saturationOf(tensor({ queued: 3, queueCapacity: 0, busyInstances: 0, instances: 0 })), 1);
    assert.equal(saturationOf(tensor({ queued: 0, queueCapacity: 0, busyInstances: 0, instances: 0 })), 0);
    assert.equal(
      saturationOf(generation({ running: 9, maxRunning: 8, waiting: 0, maxWaiting: 4, kvCacheUsage: 1.2 })),
      1,
    );
  });
});
