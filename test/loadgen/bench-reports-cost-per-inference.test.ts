// `inferd bench` reads the cost objects of the server's statistics before and after the reported
// windows: CPU- (and GPU-) seconds per inference, and cost per 1,000 inferences at the server's
// prices or the bench's own; a server without cost figures leaves the columns out.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PointResult } from '../../src/loadgen/bench-results.js';
import { formatReport } from '../../src/loadgen/report-table.js';
import { costSplit, parseStats } from '../../src/loadgen/server-stats.js';
import { reportWith } from './report-fixture.js';

/** A statistics reply of one version with `inferences` done and the given cost figures. */
function stats(
  inferences: number,
  cpuSeconds: number,
  gpuSeconds = 0,
  perHour: { cpu: number | null; gpu: number | null } = { cpu: 0.05, gpu: null },
) {
  const d = { count: inferences, ns: inferences * 1000 };
  return {
    model_stats: [
      {
        name: 'simple',
        version: '1',
        inference_count: inferences,
        inference_stats: { success: d, fail: d, queue: d, compute_input: d, compute_infer: d, compute_output: d },
        cost: { cpu_seconds: cpuSeconds, gpu_seconds: gpuSeconds, currency_per_hour: perHour },
      },
    ],
  };
}

describe('bench: cost per inference', () => {
  it('divides the CPU-seconds charged between the snapshots by the inferences between them', () => {
    const split = costSplit(parseStats(stats(100, 1)), parseStats(stats(1100, 1.5)));
    assert.ok(split !== undefined);
    assert.equal(split.inferences, 1000);
    assert.equal(split.cpuSecondsPerInference, 0.0005);
    assert.equal(split.gpuSecondsPerInference, 0);
    // 0.5 CPU-s at 0.05/h over 1,000 inferences.
    assert.ok(Math.abs((split.costPer1kInferences ?? 0) - (0.5 * 0.05) / 3600) < 1e-15);
    assert.equal(split.cpuPerHour, 0.05);
  });

  it("prices at the bench's own rates over the server's, GPU-seconds included", () => {
    const none = { cpu: null, gpu: null };
    const before = parseStats(stats(0, 0, 0, none));
    const after = parseStats(stats(10, 0.36, 3.6, none));
    assert.equal(costSplit(before, after)?.costPer1kInferences, null, 'no price anywhere: no cost');
    const split = costSplit(before, after, { cpuPerHour: 1, gpuPerHour: 10 });
    // (0.36 × 1 + 3.6 × 10) / 3600 = 0.0101 for 10 inferences → 1.01 per 1,000.
    assert.ok(Math.abs((split?.costPer1kInferences ?? 0) - 1.01) < 1e-12, String(split?.costPer1kInferences));
    assert.ok(Math.abs((split?.gpuSecondsPerInference ?? 0) - 0.36) < 1e-12);
  });

  it('gives nothing for a server without cost figures, or without inferences', () => {
    const triton = { model_stats: [{ name: 'simple', version: '1', inference_count: 5, inference_stats: {} }] };
    assert.equal(parseStats(triton)?.cost, null);
    assert.equal(costSplit(parseStats(triton), parseStats(triton)), undefined);
    assert.equal(costSplit(parseStats(stats(5, 1)), parseStats(stats(5, 1.2))), undefined);
  });

  it('adds cpu/inf and cost/1k columns to the table, and none without figures', () => {
    const plain = reportWith([{ level: 1, throughput: 1000, p50Us: 200, p99Us: 300 }]);
    assert.doesNotMatch(formatReport(plain), /cpu\/inf|cost\/1k/);
    const cost: PointResult['cost'] = {
      inferences: 3000,
      cpuSecondsPerInference: 0.000_123_4,
      gpuSecondsPerInference: 0,
      cpuPerHour: 0.05,
      gpuPerHour: null,
      costPer1kInferences: 0.000_001_714,
    };
    const withCost = { ...plain, results: plain.results.map((p) => ({ ...p, cost })) };
    const text = formatReport(withCost);
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('concurrency'));
    assert.match(lines[header]!, /overhead +cpu\/inf +cost\/1k$/);
    assert.doesNotMatch(lines[header]!, /gpu\/inf/, 'no GPU column when no GPU time was charged');
    assert.match(lines[header + 1]!, / 10\.0 +123\.4 +0\.00000171$/);
    assert.match(text, /cost\/1k: per 1,000 inferences at 0\.05 per CPU-hour and 0 per GPU-hour\./);
  });
});
