// Cost per inference: the process's CPU time, read through an injected reader, is shared among
// model versions by their execution time in each interval; intervals without an execution are
// unattributed; GPU versions are charged their execution time as GPU-seconds; prices give currency
// per 1,000 inferences. The interval timer is driven by hand.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CostAccountant, costPer1k, type CostPrices, type IntervalTimer } from '../../src/observability/cost.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';

const NO_PRICES: CostPrices = { cpuPerHour: null, gpuPerHour: null };

/** A process CPU clock the test moves: `spend(s)` adds CPU-seconds (split as user and system). */
function fakeCpu(): { read: () => { user: number; system: number }; spend: (seconds: number) => void } {
  let micros = 0;
  return {
    read: () => ({ user: Math.floor(micros * 0.75), system: micros - Math.floor(micros * 0.75) }),
    spend: (seconds) => {
      micros += Math.round(seconds * 1e6);
    },
  };
}

/** An interval timer that ticks only when the test says so. */
function manualInterval(): {
  timer: IntervalTimer;
  tick: () => void;
  readonly intervals: number[];
  stopped: () => boolean;
} {
  let fn: (() => void) | undefined;
  let cancelled = false;
  const intervals: number[] = [];
  return {
    timer: (tick, ms) => {
      fn = tick;
      intervals.push(ms);
      return () => {
        cancelled = true;
      };
    },
    tick: () => fn?.(),
    intervals,
    stopped: () => cancelled,
  };
}

/** One execution of `rows` rows (one request) taking `ms` of compute, recorded as the scheduler does. */
function execute(stats: ModelStats, ms: number, rows = 1): void {
  const ns = ms * 1e6;
  const t = { computeInputNs: ns * 0.1, computeInferNs: ns * 0.8, computeOutputNs: ns * 0.1 };
  stats.recordExecution(t, rows);
  stats.recordSuccess({ requestNs: ns, queueNs: 0, ...t }, rows);
}

function setup(prices: CostPrices = NO_PRICES, gpu: readonly string[] = []) {
  const metrics = new Metrics();
  const a = new ModelStats('a', '1', metrics);
  const b = new ModelStats('b', '1', metrics);
  const cpu = fakeCpu();
  const interval = manualInterval();
  const versions = [
    { stats: a, providers: gpu.includes('a') ? ['cuda', 'cpu'] : ['cpu'] },
    { stats: b, providers: gpu.includes('b') ? ['webgpu'] : ['cpu'] },
  ];
  const accountant = new CostAccountant({
    versions: () => versions,
    prices,
    metrics,
    cpuUsage: cpu.read,
    timer: interval.timer,
    intervalMs: 500,
  });
  return { metrics, a, b, cpu, interval, accountant };
}

describe('cost per inference: attribution', () => {
  it('shares an interval’s CPU time 3:1 between versions that executed 3:1', () => {
    const { a, b, cpu, interval, accountant } = setup();
    execute(a, 30);
    execute(b, 10);
    cpu.spend(2);
    interval.tick();
    assert.equal(accountant.costOf(a)?.cpuSeconds, 1.5);
    assert.equal(accountant.costOf(b)?.cpuSeconds, 0.5);
    assert.equal(accountant.unattributedCpuSeconds, 0);
  });

  it('charges no version for an interval in which none executed, and the parts add up to the process', () => {
    const { a, b, cpu, interval, accountant } = setup();
    cpu.spend(0.4); // idle: timers, a scrape, garbage collection
    interval.tick();
    execute(a, 5);
    cpu.spend(1);
    interval.tick();
    cpu.spend(0.25);
    interval.tick();
    assert.equal(accountant.costOf(a)?.cpuSeconds, 1);
    assert.equal(accountant.costOf(b)?.cpuSeconds, 0);
    assert.equal(accountant.unattributedCpuSeconds, 0.65);
    assert.equal(accountant.attributedCpuSeconds + accountant.unattributedCpuSeconds, 1.65);
  });

  it('closes the current interval when the figures are read, so they are current', () => {
    const { a, cpu, accountant } = setup();
    execute(a, 3, 4);
    cpu.spend(0.2);
    const cost = accountant.costOf(a);
    assert.equal(cost?.cpuSeconds, 0.2);
    assert.equal(cost?.inferences, 4, 'a batch of 4 rows is 4 inferences');
    assert.equal(cost?.cpuSecondsPerInference, 0.05);
  });

  it('samples on its interval and stops when told', () => {
    const { a, cpu, interval, accountant } = setup();
    assert.deepEqual(interval.intervals, [500]);
    execute(a, 1);
    cpu.spend(0.1);
    interval.tick();
    assert.equal(accountant.attributedCpuSeconds, 0.1, 'the tick shared out the interval');
    execute(a, 1);
    cpu.spend(0.3);
    assert.equal(accountant.attributedCpuSeconds, 0.1, 'nothing is shared out between ticks unless read');
    accountant.stop();
    assert.ok(interval.stopped());
  });

  it('charges GPU versions their execution time as GPU-seconds, and CPU versions none', () => {
    const { a, b, cpu, interval, accountant } = setup(NO_PRICES, ['a']);
    execute(a, 300);
    execute(a, 100);
    execute(b, 100);
    cpu.spend(1);
    interval.tick();
    const gpuA = accountant.costOf(a);
    assert.ok(Math.abs((gpuA?.gpuSeconds ?? 0) - 0.4) < 1e-12);
    assert.ok(Math.abs((gpuA?.gpuSecondsPerInference ?? 0) - 0.2) < 1e-12);
    assert.equal(accountant.costOf(b)?.gpuSeconds, 0);
    assert.equal(accountant.costOf(a)?.cpuSeconds, 0.8, 'its host CPU time is still shared by execution time');
  });

  it('gives no per-inference figure before the first inference', () => {
    const { a, accountant } = setup({ cpuPerHour: 1, gpuPerHour: null });
    assert.equal(accountant.costOf(a)?.cpuSecondsPerInference, null);
    assert.equal(accountant.costOf(a)?.costPer1kInferences, null);
  });
});

describe('cost per inference: prices', () => {
  it('turns CPU- and GPU-seconds into currency per 1,000 inferences', () => {
    // 3.6 CPU-s at 0.10/h = 0.0001; 36 GPU-s at 2.00/h = 0.02; 0.0201 over 100 inferences → 0.201 per 1,000.
    const value = costPer1k(3.6, 36, 100, { cpuPerHour: 0.1, gpuPerHour: 2 });
    assert.ok(value !== null && Math.abs(value - 0.201) < 1e-12, String(value));
    assert.equal(costPer1k(3.6, 36, 100, NO_PRICES), null, 'no price, no cost');
    assert.ok(Math.abs((costPer1k(3.6, 36, 100, { cpuPerHour: 0.1, gpuPerHour: null }) ?? 0) - 0.001) < 1e-12);
  });

  it('prices a version’s figures at the configured rates', () => {
    const { a, cpu, interval, accountant } = setup({ cpuPerHour: 0.036, gpuPerHour: null });
    for (let i = 0; i < 10; i++) execute(a, 2);
    cpu.spend(5);
    interval.tick();
    // 5 CPU-s × 0.036/3600 per s = 0.00005 over 10 inferences → 0.005 per 1,000.
    const cost = accountant.costOf(a)?.costPer1kInferences;
    assert.ok(cost !== null && cost !== undefined && Math.abs(cost - 0.005) < 1e-12, String(cost));
  });
});

describe('cost per inference: exposure', () => {
  it('adds a cost object to the statistics JSON and leaves Triton’s fields as they were', () => {
    const { a, cpu, accountant } = setup({ cpuPerHour: 0.036, gpuPerHour: 1.5 });
    const plain = new ModelStats('a', '1', new Metrics());
    for (const s of [a, plain]) execute(s, 4, 2);
    cpu.spend(1);
    const json = a.toJSON() as Record<string, unknown>;
    const { cost, ...triton } = json;
    // last_inference is the wall clock of each one's last request: compared by type only.
    const withoutClock = (o: Record<string, unknown>) => ({ ...o, last_inference: 0 });
    assert.deepEqual(
      withoutClock(triton),
      withoutClock(plain.toJSON() as Record<string, unknown>),
      'the Triton fields are unchanged',
    );
    assert.equal(typeof triton.last_inference, 'number');
    assert.deepEqual(cost, {
      cpu_seconds: 1,
      gpu_seconds: 0,
      cpu_seconds_per_inference: 0.5,
      gpu_seconds_per_inference: 0,
      cost_per_1k_inferences: ((1 * 0.036) / 3600 / 2) * 1000,
      currency_per_hour: { cpu: 0.036, gpu: 1.5 },
    });
    assert.equal('cost' in (plain.toJSON() as object), false, 'no accountant, no cost object');
    accountant.stop();
  });

  it('exports CPU-, GPU- and unattributed seconds and the cost gauge to Prometheus', async () => {
    const { metrics, a, b, cpu, interval } = setup({ cpuPerHour: 3.6, gpuPerHour: null }, ['b']);
    cpu.spend(0.5);
    interval.tick();
    execute(a, 30);
    execute(b, 10);
    cpu.spend(2);
    const text = await metrics.registry.metrics();
    assert.match(text, /^inferd_cpu_seconds_total\{model="a",version="1"\} 1\.5$/m);
    assert.match(text, /^inferd_cpu_seconds_total\{model="b",version="1"\} 0\.5$/m);
    assert.match(text, /^inferd_gpu_seconds_total\{model="b",version="1"\} 0\.01$/m);
    assert.match(text, /^inferd_unattributed_cpu_seconds_total 0\.5$/m);
    // a: 1.5 CPU-s × 3.6/3600 = 0.0015 for 1 inference → 1.5 per 1,000.
    assert.match(text, /^inferd_cost_per_1k_inferences\{model="a",version="1"\} 1\.5$/m);
  });

  it('exports no cost gauge without a price', async () => {
    const { metrics, a, cpu } = setup();
    execute(a, 1);
    cpu.spend(0.1);
    const text = await metrics.registry.metrics();
    assert.match(text, /^inferd_cpu_seconds_total\{model="a",version="1"\} 0\.1$/m);
    assert.doesNotMatch(text, /inferd_cost_per_1k_inferences/);
  });
});
