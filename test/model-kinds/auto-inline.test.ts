// The pieces of `inline_execution: auto`: which models can be timed on the main thread at all, how
// a probe runs (fresh zero inputs, untimed warm runs, the fastest timed run decides) and the rule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import {
  AUTO_INLINE_MAX_MODEL_BYTES,
  autoInlineRefusal,
  choiceFromProbe,
  probeExecutionUs,
  PROBE_TIMED_RUNS,
  PROBE_WARM_RUNS,
  resolvedAutoInlineRefusal,
} from '../../src/model-kinds/auto-inline.js';
import type { Instance, RunResult } from '../../src/runtime/instance.js';
import type { Tensor } from '../../src/tensor/tensor.js';

type Exec = Parameters<typeof autoInlineRefusal>[0];

function exec(
  over: { count?: number; kind?: 'KIND_CPU' | 'KIND_GPU'; providers?: Exec['optimization']['executionProviders'] } = {},
): Exec {
  return {
    instanceGroups: [{ count: over.count ?? 1, kind: over.kind ?? 'KIND_CPU', gpus: [] }],
    optimization: {
      graphLevel: 'all',
      intraOpThreads: 0,
      interOpThreads: 1,
      executionProviders: over.providers ?? ['cpu'],
      inlineExecution: 'auto',
    },
  };
}

describe('which models auto can time', () => {
  it('times a single CPU instance of a small file', () => {
    assert.equal(autoInlineRefusal(exec(), 200, 1024), undefined);
    assert.equal(autoInlineRefusal(exec(), 200, AUTO_INLINE_MAX_MODEL_BYTES), undefined);
  });

  it('says why it leaves the others in worker threads', () => {
    assert.match(autoInlineRefusal(exec(), 0, 1024) ?? '', /off \(--auto-inline-max-us 0\)/);
    assert.match(autoInlineRefusal(exec(), undefined, 1024) ?? '', /off/);
    assert.match(autoInlineRefusal(exec({ count: 3 }), 200, 1024) ?? '', /asks for 3 instances/);
    assert.match(autoInlineRefusal(exec({ kind: 'KIND_GPU' }), 200, 1024) ?? '', /GPU provider/);
    assert.match(autoInlineRefusal(exec({ providers: ['webgpu', 'cpu'] }), 200, 1024) ?? '', /GPU provider/);
    assert.match(autoInlineRefusal(exec(), 200, AUTO_INLINE_MAX_MODEL_BYTES + 1) ?? '', /larger than 32 MiB/);
  });

  it('leaves inputs of variable shape to worker threads, once the config is resolved', () => {
    const config = (dims: number[]) =>
      ({ inputs: [{ name: 'x', datatype: 'FP32', dims }] }) as unknown as ResolvedModelConfig;
    assert.equal(resolvedAutoInlineRefusal(config([4, 2])), undefined);
    assert.match(resolvedAutoInlineRefusal(config([4, -1])) ?? '', /input 'x' has a variable shape/);
  });
});

describe('a probe', () => {
  const config = {
    maxBatchSize: 8,
    inputs: [{ name: 'x', datatype: 'FP32', dims: [3] }],
    outputs: [{ name: 'y', datatype: 'FP32', dims: [3] }],
    sequenceBatching: undefined,
  } as unknown as ResolvedModelConfig;

  /** Answers each run with the next of `inferUs` as its inference time, and keeps what it was given. */
  function timedInstance(inferUs: number[]): Instance & { seen: Tensor[][]; names: string[][] } {
    const seen: Tensor[][] = [];
    const names: string[][] = [];
    return {
      label: 'm/1#0',
      alive: true,
      seen,
      names,
      run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult> {
        seen.push([...inputs]);
        names.push([...outputNames]);
        const us = inferUs[seen.length - 1] ?? Number.NaN;
        return Promise.resolve({
          outputs: [],
          timings: { computeInputNs: 1000, computeInferNs: us * 1000, computeOutputNs: 500 },
        });
      },
      close: () => Promise.resolve(),
    };
  }

  it('runs fresh zero rows of batch 1, and the fastest timed run decides', async () => {
    const warm = Array.from({ length: PROBE_WARM_RUNS }, () => 1);
    const timed = [90, 70, 40, 80, 95, 60, 75, 85, 99];
    assert.equal(timed.length, PROBE_TIMED_RUNS);
    const instance = timedInstance([...warm, ...timed]);
    // 40 µs of inference plus 1 µs of input and 0.5 µs of output conversion; the warm runs' 1 µs is ignored.
    assert.equal(await probeExecutionUs(instance, config), 41.5);
    assert.equal(instance.seen.length, PROBE_WARM_RUNS + PROBE_TIMED_RUNS);
    for (const inputs of instance.seen) {
      assert.equal(inputs.length, 1);
      assert.deepEqual(inputs[0]?.shape, [1, 3]);
      assert.deepEqual(Array.from(inputs[0]?.data as Float32Array), [0, 0, 0]);
    }
    assert.notEqual(instance.seen[0]?.[0], instance.seen[1]?.[0], 'each run gets its own tensors');
    assert.deepEqual(instance.names[0], ['y']);
  });

  it('stops at the first execution slower than its stop, warm runs included', async () => {
    const instance = timedInstance([1, 5000, 1, 1]);
    assert.equal(await probeExecutionUs(instance, config, 2000), 5001.5);
    assert.equal(instance.seen.length, 2, 'nothing runs after the slow execution');
  });

  it('fails when the model cannot run the sample, so the caller can fall back', async () => {
    const failing: Instance = {
      label: 'm/1#0',
      alive: true,
      run: () => Promise.reject(new Error('bad input')),
      close: () => Promise.resolve(),
    };
    await assert.rejects(probeExecutionUs(failing, config), /bad input/);
  });
});

describe('the rule', () => {
  it('runs inline at or under the limit, in worker threads above it, and says so', () => {
    assert.deepEqual(choiceFromProbe(200, 200), {
      inline: true,
      probeUs: 200,
      reason: 'auto: an execution takes 200 µs, at most --auto-inline-max-us 200',
    });
    assert.deepEqual(choiceFromProbe(200.04, 200), {
      inline: true,
      probeUs: 200,
      reason: 'auto: an execution takes 200 µs, at most --auto-inline-max-us 200',
    });
    const slow = choiceFromProbe(250.26, 200);
    assert.equal(slow.inline, false);
    assert.equal(slow.probeUs, 250.3);
    assert.equal(slow.reason, 'auto: an execution takes 250.3 µs, more than --auto-inline-max-us 200');
  });
});
