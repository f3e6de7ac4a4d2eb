// The terminal table has one aligned row per load level with the client and server columns, and
// the server split is the per-request mean of each phase between two statistics snapshots.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport } from '../../src/loadgen/report-table.js';
import { parseStats, serverSplit } from '../../src/loadgen/server-stats.js';
import { reportWith } from './report-fixture.js';

describe('report table', () => {
  it('prints a header and one row per level, every line of the table the same width', () => {
    const text = formatReport(
      reportWith([
        { level: 1, throughput: 4512.34, p50Us: 214.4, p99Us: 301 },
        { level: 64, throughput: 12000, p50Us: 5321.7, p99Us: 20000, stable: false },
      ]),
    );
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('concurrency'));
    assert.ok(header > 0, text);
    assert.match(
      lines[header]!,
      /concurrency +infer\/s +p50 µs +p90 µs +p95 µs +p99 µs +errors +windows +│ +queue +input +infer +output +overhead/,
    );
    assert.match(lines[header + 1]!, /^ +1 +4,512\.3 +214 +214 +301 +301 +0 +0 +│ +10\.0 +5\.0 +30\.0 +5\.0 +10\.0$/);
    assert.match(lines[header + 2]!, /^ +64 +12,000\.0 +5,322 .* 0\* +│/);
    const widths = new Set([lines[header]!, lines[header + 1]!, lines[header + 2]!].map((l) => l.indexOf('│')));
    assert.equal(widths.size, 1);
    assert.match(text, /overhead = success − queue − compute input\/infer\/output/);
  });

  it('adds late and dropped sends in request-rate mode', () => {
    const text = formatReport(reportWith([{ level: 250, throughput: 249, p50Us: 900, p99Us: 1900 }], 'request-rate'));
    assert.match(text, /rate\/s +infer\/s .* errors +late +dropped +windows/);
    assert.match(text, /\n +250 +249\.0 .* 0 +2 +1 +0 +│/);
  });
});

describe('server split', () => {
  const stats = (success: number, queue: number, infer: number, count: number) => ({
    model_stats: [
      {
        name: 'simple',
        version: '1',
        inference_stats: {
          success: { count, ns: success },
          fail: { count: 1, ns: 5 },
          queue: { count, ns: queue },
          compute_input: { count, ns: count * 2000 },
          compute_infer: { count, ns: infer },
          compute_output: { count, ns: count * 1000 },
        },
      },
    ],
  });

  it('divides each phase delta by the requests between the snapshots', () => {
    const before = parseStats(stats(1_000_000, 100_000, 500_000, 10));
    const after = parseStats(stats(1_000_000 + 100 * 50_000, 100_000 + 100 * 4_000, 500_000 + 100 * 30_000, 110));
    const split = serverSplit(before, after);
    assert.deepEqual(split, {
      requests: 100,
      failures: 0,
      successUs: 50,
      queueUs: 4,
      computeInputUs: 2,
      computeInferUs: 30,
      computeOutputUs: 1,
      overheadUs: 13,
    });
  });

  it('sums every listed version, and gives nothing without statistics or requests', () => {
    const two = parseStats({ model_stats: [...stats(10, 0, 0, 1).model_stats, ...stats(30, 0, 0, 2).model_stats] });
    assert.deepEqual(two?.success, { count: 3, ns: 40 });
    assert.equal(parseStats({ error: 'nope' }), undefined);
    const same = parseStats(stats(10, 0, 0, 1));
    assert.equal(serverSplit(same, same), undefined);
    assert.equal(serverSplit(undefined, same), undefined);
  });
});
