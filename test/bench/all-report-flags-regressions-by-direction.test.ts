// bench:all's comparison and summary table on small made-up results: a move of more than 10% in a
// metric's bad direction is a regression (higher-is-better and lower-is-better alike), a smaller
// move is not, metrics new to this run or missing from it are flagged as such, goals are judged,
// and a file that is not a bench:all result is refused as a baseline.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  baselineMetrics,
  baselineOf,
  compareMetrics,
  formatValue,
  judgeChange,
  keyMetrics,
  regressions,
  summaryLines,
  summaryTable,
  type StoredMetric,
} from '../../bench/lib/all-report.js';

type Figure = Omit<StoredMetric, 'bench' | 'case' | 'metric'>;

/** A stored metric under `key`, its parts taken from the key (made-up keys hold no other slash than the metric's). */
function parts(key: string): Pick<StoredMetric, 'bench' | 'case' | 'metric'> {
  const [bench = '', c = '', ...metric] = key.split('/');
  return { bench, case: c, metric: metric.join('/') };
}
function metrics(
  entries: Record<string, Omit<StoredMetric, 'bench' | 'case' | 'metric'>>,
): Record<string, StoredMetric> {
  return Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { ...parts(k), ...v }]));
}
const higher = (value: number, goal?: StoredMetric['goal']): Figure => ({
  value,
  unit: '×',
  better: 'higher',
  ...(goal === undefined ? {} : { goal }),
});
const lowerUs = (value: number): Figure => ({
  value,
  unit: 'µs',
  better: 'lower',
  goal: { op: '<=', value: 50 },
});

describe('judgeChange', () => {
  it('flags a drop of more than 10% when higher is better, and a rise of more than 10% when lower is', () => {
    assert.equal(judgeChange(0.85, 1, 'higher'), 'regression');
    assert.equal(judgeChange(1.15, 1, 'lower'), 'regression');
  });
  it('calls the same moves in the good direction improvements', () => {
    assert.equal(judgeChange(1.15, 1, 'higher'), 'improved');
    assert.equal(judgeChange(0.85, 1, 'lower'), 'improved');
  });
  it('leaves moves within the threshold unflagged, on both sides', () => {
    assert.equal(judgeChange(0.95, 1, 'higher'), '');
    assert.equal(judgeChange(1.05, 1, 'higher'), '');
    assert.equal(judgeChange(1.09, 1, 'lower'), '');
  });
  it('takes the threshold it is given', () => {
    assert.equal(judgeChange(0.95, 1, 'higher', 0.03), 'regression');
    assert.equal(judgeChange(0.75, 1, 'higher', 0.3), '');
  });
  it('judges a move away from a zero baseline by its sign', () => {
    assert.equal(judgeChange(0, 0, 'lower'), '');
    assert.equal(judgeChange(3, 0, 'lower'), 'regression');
    assert.equal(judgeChange(3, 0, 'higher'), 'improved');
  });
});

describe('compareMetrics', () => {
  const baseline = metrics({
    'grpc-vs-rest/simple unary c1/gRPC ÷ REST inf/s': higher(0.8, { op: '>=', value: 1 }),
    'rest-overhead/simple binary/server overhead µs': lowerUs(150),
    'sql-throughput/COPY to Parquet/rows/s ÷ raw': higher(0.5),
    'cold-start/simple/gone': higher(2),
  });
  const current = metrics({
    'grpc-vs-rest/simple unary c1/gRPC ÷ REST inf/s': higher(0.6, { op: '>=', value: 1 }),
    'rest-overhead/simple binary/server overhead µs': lowerUs(40),
    'sql-throughput/COPY to Parquet/rows/s ÷ raw': higher(0.52),
    'openai-serve/c8/HTTP ÷ engine tok/s': higher(0.95, { op: '>=', value: 0.9 }),
  });
  const rows = compareMetrics(current, baseline);
  const row = (key: string) => {
    const r = rows.find((x) => x.key === key);
    assert.ok(r, `no row for ${key}`);
    return r;
  };

  it('flags each shared metric by its own direction, with the relative change', () => {
    const grpc = row('grpc-vs-rest/simple unary c1/gRPC ÷ REST inf/s');
    assert.equal(grpc.flag, 'regression');
    assert.ok(Math.abs((grpc.change ?? NaN) - -0.25) < 1e-9);
    assert.equal(grpc.baseline, 0.8);
    assert.equal(row('rest-overhead/simple binary/server overhead µs').flag, 'improved');
    assert.equal(row('sql-throughput/COPY to Parquet/rows/s ÷ raw').flag, '');
  });
  it('marks a metric only this run has as new, and one only the baseline has as missing', () => {
    const added = row('openai-serve/c8/HTTP ÷ engine tok/s');
    assert.equal(added.flag, 'new');
    assert.equal(added.baseline, undefined);
    const gone = row('cold-start/simple/gone');
    assert.equal(gone.flag, 'missing');
    assert.equal(gone.value, undefined);
    assert.equal(gone.baseline, 2);
  });
  it("keeps this run's order and puts the missing metrics last", () => {
    assert.deepEqual(
      rows.map((r) => r.key),
      [...Object.keys(current), 'cold-start/simple/gone'],
    );
  });
  it('judges goals in both directions', () => {
    assert.equal(row('grpc-vs-rest/simple unary c1/gRPC ÷ REST inf/s').goalMet, false);
    assert.equal(row('rest-overhead/simple binary/server overhead µs').goalMet, true);
    assert.equal(row('openai-serve/c8/HTTP ÷ engine tok/s').goalMet, true);
    assert.equal(row('sql-throughput/COPY to Parquet/rows/s ÷ raw').goalMet, undefined);
  });
  it('lists the regressions alone', () => {
    assert.deepEqual(
      regressions(rows).map((r) => r.key),
      ['grpc-vs-rest/simple unary c1/gRPC ÷ REST inf/s'],
    );
  });
  it('flags nothing without a baseline', () => {
    const alone = compareMetrics(current, undefined);
    assert.equal(alone.length, Object.keys(current).length);
    assert.ok(alone.every((r) => r.flag === '' && r.baseline === undefined));
  });
});

describe('keys', () => {
  it('keys a metric bench/case/metric and keeps the parts, since metric names hold slashes', () => {
    const kept = keyMetrics([
      {
        bench: 'grpc-vs-rest',
        case: 'mlp unary c1',
        metric: 'gRPC ÷ REST inf/s',
        value: 0.7,
        unit: '×',
        better: 'higher',
      },
    ]);
    assert.deepEqual(kept, {
      'grpc-vs-rest/mlp unary c1/gRPC ÷ REST inf/s': {
        bench: 'grpc-vs-rest',
        case: 'mlp unary c1',
        metric: 'gRPC ÷ REST inf/s',
        value: 0.7,
        unit: '×',
        better: 'higher',
      },
    });
  });
  it('keeps finite values only', () => {
    const kept = keyMetrics([
      { bench: 'a', case: 'b', metric: 'c', value: 1.5, unit: '×', better: 'higher' },
      { bench: 'a', case: 'b', metric: 'd', value: Number.NaN, unit: '×', better: 'higher' },
      { bench: 'a', case: 'b', metric: 'e', value: Number.POSITIVE_INFINITY, unit: '×', better: 'lower' },
    ]);
    assert.deepEqual(Object.keys(kept), ['a/b/c']);
  });
});

describe('summaryTable and summaryLines', () => {
  const rows = compareMetrics(
    metrics({
      'grpc-vs-rest/mlp unary c64/gRPC ÷ REST inf/s': higher(0.72, { op: '>=', value: 1 }),
      'rest-overhead/mlp json/server overhead µs': lowerUs(48.26),
    }),
    metrics({
      'grpc-vs-rest/mlp unary c64/gRPC ÷ REST inf/s': higher(0.9),
      'rerank/4 docs per request/docs/s ÷ session.run': higher(0.7),
    }),
  );
  const table = summaryTable(rows);
  const lines = table.split('\n');

  it('has the columns the summary promises, and a row per metric', () => {
    assert.match(lines[0] ?? '', /benchmark.*case.*metric.*value.*goal.*baseline.*change.*flag/);
    assert.equal(lines.length, 2 + rows.length);
  });
  it('prints the value, the goal and whether it is met, the baseline, the change and the flag', () => {
    const grpc = lines.find((l) => l.includes('mlp unary c64')) ?? '';
    assert.match(grpc, /gRPC ÷ REST inf\/s \(higher is better\)/);
    assert.match(grpc, /0\.72×/);
    assert.match(grpc, /≥ 1\.00× NOT met/);
    assert.match(grpc, /0\.90×/);
    assert.match(grpc, /-20\.0%/);
    assert.match(grpc, /regression/);
    const rest = lines.find((l) => l.includes('mlp json')) ?? '';
    assert.match(rest, /48\.3 µs/);
    assert.match(rest, /≤ 50\.0 µs met/);
    assert.match(rest, /\(lower is better\)/);
    assert.match(rest, /new/);
    const gone = lines.find((l) => l.includes('rerank')) ?? '';
    assert.match(gone, /missing/);
  });
  it('lists skipped and failed benchmarks, missed goals and regressions under the table', () => {
    const text = summaryLines(
      [
        { name: 'rollout', status: 'skipped', reason: 'needs a container runtime' },
        { name: 'flood', status: 'failed', reason: 'exit code 1' },
        { name: 'grpc-vs-rest', status: 'ok', seconds: 30 },
      ],
      rows,
    ).join('\n');
    assert.match(text, /skipped rollout: needs a container runtime/);
    assert.match(text, /FAILED flood: exit code 1/);
    assert.match(text, /goals: 1 of 2 met/);
    assert.match(text, /goal NOT met: grpc-vs-rest\/mlp unary c64\/gRPC ÷ REST inf\/s = 0\.72×/);
    assert.match(text, /regressions \(> 10% in the bad direction\): 1/);
    assert.match(text, /in the baseline, not in this run: 1 metrics/);
    assert.doesNotMatch(text, /grpc-vs-rest: /);
  });
  it('says so when nothing regressed', () => {
    const text = summaryLines(
      [],
      compareMetrics(metrics({ 'a/b/c': higher(1) }), metrics({ 'a/b/c': higher(1.05) })),
    ).join('\n');
    assert.match(text, /regressions \(> 10% in the bad direction\): none/);
  });
  it('formats figures with the precision their size needs', () => {
    assert.equal(formatValue(0.934, '×'), '0.93×');
    assert.equal(formatValue(0.061, 'µs'), '0.061 µs');
    assert.equal(formatValue(12.34, 'ms'), '12.3 ms');
    assert.equal(formatValue(1234.5, 'ms'), '1235 ms');
  });
});

describe('baselineMetrics', () => {
  it('reads the metrics of a previous all.json, goals and directions included', () => {
    const read = baselineMetrics(
      {
        benchmark: 'all',
        metrics: {
          'a/b/c': {
            bench: 'a',
            case: 'b',
            metric: 'c',
            value: 2,
            unit: 'µs',
            better: 'lower',
            goal: { op: '<=', value: 50 },
          },
          'a/b/d': { bench: 'a', case: 'b', metric: 'd', value: 0.5, unit: '×', better: 'higher' },
          'a/b/e': { value: 'not a number' },
        },
      },
      'old.json',
    );
    assert.deepEqual(read, {
      'a/b/c': {
        bench: 'a',
        case: 'b',
        metric: 'c',
        value: 2,
        unit: 'µs',
        better: 'lower',
        goal: { op: '<=', value: 50 },
      },
      'a/b/d': { bench: 'a', case: 'b', metric: 'd', value: 0.5, unit: '×', better: 'higher' },
    });
  });
  it('falls back on the key for the bench name when a metric lacks its parts', () => {
    const read = baselineMetrics({ metrics: { 'sql-throughput/COPY/rows/s': { value: 0.4 } } }, 'old.json');
    assert.deepEqual(read['sql-throughput/COPY/rows/s'], {
      bench: 'sql-throughput',
      case: 'COPY/rows/s',
      metric: '',
      value: 0.4,
      unit: '×',
      better: 'higher',
    });
  });
  it('refuses a file that is not a bench:all result, naming it', () => {
    assert.throws(
      () => baselineMetrics({ results: [] }, 'bench/results/grpc-vs-rest.json'),
      /grpc-vs-rest\.json: not a bench:all result/,
    );
    assert.throws(() => baselineMetrics(null, 'x.json'), /x\.json/);
  });
});

describe('baselineOf', () => {
  it('keeps the baseline figures of the benchmarks that ran or failed, not of those skipped or left out', () => {
    const old = metrics({
      'rest-overhead/simple json/server overhead µs': lowerUs(150),
      'flood/JSON infer uploads/peak ÷ base RSS': higher(3),
      'rollout/rolling restart/p99 rollout ÷ steady': higher(1.3),
      'rerank/1 docs per request/docs/s ÷ session.run': higher(0.6),
    });
    const kept = baselineOf(old, [
      { name: 'rest-overhead', status: 'ok' },
      { name: 'flood', status: 'failed', reason: 'exit code 1' },
      { name: 'rollout', status: 'skipped', reason: 'needs a container runtime' },
    ]);
    assert.deepEqual(Object.keys(kept), [
      'rest-overhead/simple json/server overhead µs',
      'flood/JSON infer uploads/peak ÷ base RSS',
    ]);
    const rows = compareMetrics(metrics({ 'rest-overhead/simple json/server overhead µs': lowerUs(140) }), kept);
    assert.deepEqual(
      rows.map((r) => [r.key, r.flag]),
      [
        ['rest-overhead/simple json/server overhead µs', ''],
        ['flood/JSON infer uploads/peak ÷ base RSS', 'missing'],
      ],
    );
  });
});
