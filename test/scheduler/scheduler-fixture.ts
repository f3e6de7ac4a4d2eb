// Builds a DynamicBatcher over real instances of the slow test model, with fresh stats.

import path from 'node:path';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';
import { ModelInstance } from '../../src/runtime/index.js';
import { DynamicBatcher, type SchedulerOptions } from '../../src/scheduler/dynamic-batcher.js';
import type { InferRequest } from '../../src/core/infer-request.js';
import { slowModel } from '../fixtures/slow-model.js';
import { makeRepository, removeRepository } from '../helpers/test-server.js';

export const N = 256;

export interface Fixture {
  readonly scheduler: DynamicBatcher;
  readonly stats: ModelStats;
  close(): Promise<void>;
}

export async function schedulerFixture(options: Partial<SchedulerOptions> = {}, instances = 1): Promise<Fixture> {
  const dir = await makeRepository(slowModel('slow', N, 40));
  const loaded = await Promise.all(
    Array.from({ length: instances }, (_, i) =>
      ModelInstance.load(`slow#${i}`, path.join(dir, 'slow/1/model.onnx'), {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      }),
    ),
  );
  const stats = new ModelStats('slow', '1', new Metrics());
  const scheduler = new DynamicBatcher(
    loaded.map((l) => l.instance),
    stats,
    { maxQueueSize: 16, defaultTimeoutUs: 0, ...options },
  );
  return {
    scheduler,
    stats,
    async close() {
      await scheduler.drain();
      await Promise.all(loaded.map((l) => l.instance.close()));
      await removeRepository(dir);
    },
  };
}

/**
 * A request whose input rows are all `value`, so each result identifies its request. `rows`
 * scales the work: N rows take tens of milliseconds on one thread, one row well under one.
 */
export function request(value: number, extra: Partial<InferRequest> = {}, rows = 1): InferRequest {
  return {
    requestId: `r${value}`,
    inputs: [{ name: 'X', datatype: 'FP32', shape: [rows, N], data: new Float32Array(rows * N).fill(value) }],
    outputNames: ['Y'],
    batchSize: 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: process.hrtime.bigint(),
    ...extra,
  };
}
