// Builds a DynamicBatcher over scripted instances, with fresh stats, under node's mock timers: the
// test answers each run and moves time with `t.mock.timers.tick(ms)`.

import type { TestContext } from 'node:test';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';
import { DynamicBatcher, type SchedulerOptions } from '../../src/scheduler/dynamic-batcher.js';
import type { InferRequest } from '../../src/core/infer-request.js';
import { dateClock, MOCKED, ScriptedInstance, type ScriptedRun } from './scripted-instance.js';

/** Columns of every request's input. */
const COLS = 2;

export interface Fixture {
  readonly scheduler: DynamicBatcher;
  readonly stats: ModelStats;
  /** The first instance. */
  readonly instance: ScriptedInstance;
  readonly instances: readonly ScriptedInstance[];
}

/** Mock timers stay on for the rest of the test `t`. */
export function schedulerFixture(t: TestContext, options: Partial<SchedulerOptions> = {}, instances = 1): Fixture {
  t.mock.timers.enable(MOCKED);
  const scripted = Array.from({ length: instances }, (_, i) => new ScriptedInstance(`scripted#${i}`));
  const stats = new ModelStats('scripted', '1', new Metrics());
  const scheduler = new DynamicBatcher(scripted, stats, {
    maxQueueSize: 16,
    defaultTimeoutUs: 0,
    clock: dateClock,
    ...options,
  });
  return { scheduler, stats, instance: scripted[0] as ScriptedInstance, instances: scripted };
}

/**
 * A request whose input rows are all `value`, so each run and each result identifies its
 * requests; `extra.batchSize` sets its rows, `cols` its second dimension. It arrives now on the
 * test's clock.
 */
export function request(value: number, extra: Partial<InferRequest> = {}, cols = COLS): InferRequest {
  const rows = extra.batchSize ?? 1;
  return {
    requestId: `r${value}`,
    inputs: [{ name: 'X', datatype: 'FP32', shape: [rows, cols], data: new Float32Array(rows * cols).fill(value) }],
    outputNames: ['Y'],
    batchSize: rows,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: dateClock.nowNs(),
    ...extra,
  };
}

/** The value of each row a run received (one request's rows share a value). */
export function rowValues(run: ScriptedRun): number[] {
  const x = run.input('X');
  const [rows = 0, cols = 0] = x.shape;
  const data = x.data as Float32Array;
  return Array.from({ length: rows }, (_, r) => data[r * cols] ?? NaN);
}

/** The value of the first request in a run. */
export function firstValue(run: ScriptedRun): number {
  return rowValues(run)[0] ?? NaN;
}
