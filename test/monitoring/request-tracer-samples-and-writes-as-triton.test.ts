// The request tracer on its own, on a clock the test moves: Triton's sampling (the rate-th request,
// counted per setting, up to trace_count), the timestamps laid out from the scheduler's phases and
// never out of order, TENSORS entries, and the files: one JSON array extended at each flush with
// log_frequency 0, numbered files of log_frequency traces otherwise (from .0 for a new file, going
// on from the last number for a file used again, so nothing is overwritten), what is left written
// at close.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RequestTracer } from '../../src/monitoring/request-tracer.js';
import type { TraceSettings } from '../../src/monitoring/trace-settings.js';
import { createLogger } from '../../src/observability/logger.js';
import { float32ToFloat16Bits } from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

interface Written {
  id: number;
  model_name: string;
  model_version: number;
  request_id: string;
  timestamps?: { name: string; ns: number }[];
  tensors?: { id: number; activity: string; tensor: { name: string; data: string; shape: string; dtype: string } }[];
}

const TIMINGS = { queueNs: 100, computeInputNs: 10, computeInferNs: 50, computeOutputNs: 5 };
const INPUT: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1.5, -2]) };

function read(file: string): Written[] {
  return JSON.parse(readFileSync(file, 'utf8')) as Written[];
}

describe('RequestTracer', () => {
  let dir: string;
  let clock = 0n;
  const now = (): bigint => clock;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-tracer-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function tracer(settings: Partial<TraceSettings>): RequestTracer {
    return new RequestTracer({
      initial: { traceFile: '', traceLevel: ['OFF'], traceRate: 1000, traceCount: -1, logFrequency: 0, ...settings },
      logger: createLogger('silent'),
      now,
    });
  }

  /** One request through the tracer: arrival at `clock`, queued 20 ns later, answered 300 ns after arrival. */
  function run(t: RequestTracer, model: string, id: string, fail = false): boolean {
    const arrival = clock;
    const trace = t.sample(model, 1, id, arrival);
    clock += 20n;
    trace?.queued([INPUT]);
    clock += 280n;
    if (fail) trace?.ended();
    else trace?.ended({ timings: TIMINGS, outputs: [INPUT] });
    clock += 1000n;
    return trace !== undefined;
  }

  it('traces the rate-th request, up to trace_count, and reports the traces left', async () => {
    const file = path.join(dir, 'rate.json');
    const t = tracer({ traceFile: file, traceLevel: ['TIMESTAMPS'], traceRate: 3, traceCount: 2 });
    const traced = Array.from({ length: 12 }, (_, i) => run(t, 'm', `r${i + 1}`));
    assert.deepEqual(
      traced.flatMap((yes, i) => (yes ? [i + 1] : [])),
      [3, 6],
    );
    assert.equal(t.settings().trace_count, '0');
    await t.close();
    assert.deepEqual(
      read(file).map((w) => w.request_id),
      ['r3', 'r6'],
    );
  });

  it("lays the scheduler's phases out from the arrival, and writes a failed request's start and end", async () => {
    const file = path.join(dir, 'stamps.json');
    const t = tracer({ traceFile: file, traceLevel: ['TIMESTAMPS'], traceRate: 1 });
    clock = 1_000_000n;
    run(t, 'm', 'ok');
    clock = 2_000_000n;
    run(t, 'm', 'failed', true);
    await t.close();
    const [ok, failed] = read(file);
    assert.deepEqual(
      ok?.timestamps?.map((s) => [s.name, s.ns - 1_000_000]),
      [
        ['REQUEST_START', 0],
        ['QUEUE_START', 20],
        ['COMPUTE_START', 100],
        ['COMPUTE_INPUT_END', 110],
        ['COMPUTE_OUTPUT_START', 160],
        ['COMPUTE_END', 165],
        ['REQUEST_END', 300],
      ],
    );
    assert.deepEqual(
      failed?.timestamps?.map((s) => [s.name, s.ns - 2_000_000]),
      [
        ['REQUEST_START', 0],
        ['QUEUE_START', 20],
        ['REQUEST_END', 300],
      ],
    );
    assert.equal(ok?.model_name, 'm');
    assert.equal(ok?.model_version, 1);
    assert.equal(ok?.tensors, undefined, 'no tensors at TIMESTAMPS');
  });

  it('never writes a later event before an earlier one (a cache hit has no queue or compute time)', async () => {
    const file = path.join(dir, 'hit.json');
    const t = tracer({ traceFile: file, traceLevel: ['TIMESTAMPS'], traceRate: 1 });
    const trace = t.sample('m', 1, 'hit', clock);
    clock += 20n;
    trace?.queued([]);
    clock += 5n;
    trace?.ended({ timings: { queueNs: 0, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 }, outputs: [] });
    await t.close();
    const ns = read(file)[0]?.timestamps?.map((s) => s.ns) ?? [];
    assert.equal(ns.length, 7);
    assert.deepEqual(
      ns,
      [...ns].sort((a, b) => a - b),
    );
  });

  it('writes TENSORS entries as Triton does: values and shape as comma-separated strings', async () => {
    const file = path.join(dir, 'tensors.json');
    const t = tracer({ traceFile: file, traceLevel: ['TENSORS'], traceRate: 1 });
    const half: Tensor = {
      name: 'h',
      datatype: 'FP16',
      shape: [2],
      data: new Uint16Array([float32ToFloat16Bits(0.5), float32ToFloat16Bits(-1)]),
    };
    const text: Tensor = { name: 's', datatype: 'BYTES', shape: [2], data: [Buffer.from('a'), Buffer.from('bc')] };
    const trace = t.sample('m', 2, 'tensors', clock);
    trace?.queued([INPUT, half]);
    trace?.ended({ timings: TIMINGS, outputs: [text] });
    await t.close();
    const [w] = read(file);
    assert.equal(w?.timestamps, undefined, 'no timestamps at TENSORS alone');
    assert.deepEqual(w?.tensors, [
      { id: w?.id, activity: 'TENSOR_QUEUE_INPUT', tensor: { name: 'x', data: '1.5,-2', shape: '1,2', dtype: 'FP32' } },
      { id: w?.id, activity: 'TENSOR_QUEUE_INPUT', tensor: { name: 'h', data: '0.5,-1', shape: '2', dtype: 'FP16' } },
      { id: w?.id, activity: 'TENSOR_BACKEND_OUTPUT', tensor: { name: 's', data: 'a,bc', shape: '2', dtype: 'BYTES' } },
    ]);
  });

  it('extends trace_file at each flush with log_frequency 0', async () => {
    const file = path.join(dir, 'one-file.json');
    const t = tracer({ traceFile: file, traceLevel: ['TIMESTAMPS'], traceRate: 1 });
    run(t, 'm', 'a');
    await t.update({ trace_rate: '1' });
    assert.deepEqual(
      read(file).map((w) => w.request_id),
      ['a'],
    );
    run(t, 'm', 'b');
    run(t, 'm', 'c');
    await t.close();
    assert.deepEqual(
      read(file).map((w) => w.request_id),
      ['a', 'b', 'c'],
    );
    assert.equal(run(t, 'm', 'after-close'), false, 'nothing is traced once closed');
  });

  it('writes every log_frequency traces to the next numbered file: .0 for a new file, never over an old one', async () => {
    const first = path.join(dir, 'numbered.json');
    const second = path.join(dir, 'renamed.json');
    const t = tracer({ traceFile: first, traceLevel: ['TIMESTAMPS'], traceRate: 1, logFrequency: 2 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) run(t, 'm', id);
    // The two full files are written as they fill; the fifth trace waits for the next flush.
    await t.update({ trace_file: second });
    assert.deepEqual(
      [0, 1, 2].map((n) => read(`${first}.${n}`).map((w) => w.request_id)),
      [['a', 'b'], ['c', 'd'], ['e']],
    );
    run(t, 'm', 'f');
    await t.update({ trace_file: first });
    assert.deepEqual(
      read(`${second}.0`).map((w) => w.request_id),
      ['f'],
    );
    // Back to the first file: its numbers go on.
    run(t, 'm', 'g');
    await t.close();
    assert.deepEqual(
      read(`${first}.3`).map((w) => w.request_id),
      ['g'],
    );
    assert.deepEqual(
      read(`${first}.0`).map((w) => w.request_id),
      ['a', 'b'],
    );
    assert.equal(existsSync(first), false);
  });

  it('counts a model with its own settings apart, and follows the global ones where it has none', async () => {
    const global = path.join(dir, 'global.json');
    const own = path.join(dir, 'own.json');
    const t = tracer({ traceFile: global, traceLevel: ['TIMESTAMPS'], traceRate: 2 });
    await t.update({ trace_file: own, trace_rate: 1 }, 'special');
    for (const id of ['g1', 'g2', 'g3', 'g4']) run(t, 'plain', id);
    for (const id of ['s1', 's2']) run(t, 'special', id);
    assert.deepEqual(t.settings('special'), {
      trace_file: own,
      trace_level: ['TIMESTAMPS'],
      trace_rate: '1',
      trace_count: '-1',
      log_frequency: '0',
    });
    await t.update({ trace_level: ['OFF'] });
    assert.deepEqual(t.settings('special').trace_level, ['OFF'], 'the global level shows through');
    assert.equal(run(t, 'special', 's3'), false);
    await t.close();
    assert.deepEqual(
      read(global).map((w) => w.request_id),
      ['g2', 'g4'],
    );
    assert.deepEqual(
      read(own).map((w) => w.request_id),
      ['s1', 's2'],
    );
  });

  it('refuses settings that would trace with no file, and changes nothing', async () => {
    const t = tracer({});
    await assert.rejects(t.update({ trace_level: ['TIMESTAMPS'] }), /global trace settings would trace at TIMESTAMPS/);
    await assert.rejects(t.update({ trace_level: 'TIMESTAMPS' }, 'm'), /model 'm' would trace/);
    assert.deepEqual(t.settings('m').trace_level, ['OFF']);
    await t.close();
  });
});
