// The figures of `npm run bench:all`: every benchmark's headline ratios keyed `bench/case/metric`,
// the comparison with a previous run (a move of more than the threshold in the bad direction is a
// regression) and the one summary table. Pure functions: bench/all.ts does the running and the files.

import type { MachineInfo } from './machine.js';
import { markdownTable } from './overhead-report.js';

/** Which way a metric should move. */
export type Better = 'higher' | 'lower';

/** A target the issue states for a metric: the value must be at least (`>=`) or at most (`<=`) it. */
export interface Goal {
  readonly op: '>=' | '<=';
  readonly value: number;
}

/** One headline figure of one benchmark run. */
export interface Metric {
  readonly bench: string;
  readonly case: string;
  readonly metric: string;
  readonly value: number;
  /** '×' for a ratio; otherwise the unit of an absolute figure (µs, ms, MiB, %). */
  readonly unit: string;
  readonly better: Better;
  readonly goal?: Goal;
}

/**
 * A metric as all.json keeps it, under its `bench/case/metric` key; the parts are kept too, since
 * metric names hold slashes (rows/s, tok/s).
 */
export interface StoredMetric {
  readonly bench: string;
  readonly case: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly better: Better;
  readonly goal?: Goal;
}

/** What happened to one benchmark in a run. */
export interface BenchmarkRun {
  readonly name: string;
  readonly status: 'ok' | 'failed' | 'skipped';
  /** Why it was skipped or failed. */
  readonly reason?: string;
  readonly seconds?: number;
}

/** bench/results/all.json. */
export interface AllResults {
  readonly benchmark: 'all';
  readonly generatedAt: string;
  readonly machine: MachineInfo;
  readonly quick: boolean;
  readonly benchmarks: readonly BenchmarkRun[];
  readonly metrics: Readonly<Record<string, StoredMetric>>;
}

export type Flag = 'regression' | 'improved' | 'new' | 'missing' | '';

/** One row of the summary: a metric of this run, of the baseline, or of both. */
export interface ComparedMetric {
  readonly key: string;
  readonly bench: string;
  readonly case: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: Better;
  readonly goal?: Goal;
  /** Absent when the baseline has the metric and this run does not. */
  readonly value?: number;
  readonly baseline?: number;
  /** value ÷ baseline − 1; absent without both figures. */
  readonly change?: number;
  readonly flag: Flag;
  /** Absent without a goal or without a value. */
  readonly goalMet?: boolean;
}

/** The default threshold: a move of more than 10% in the bad direction is a regression. */
export const REGRESSION_THRESHOLD = 0.1;

export function metricKey(m: Pick<Metric, 'bench' | 'case' | 'metric'>): string {
  return `${m.bench}/${m.case}/${m.metric}`;
}

/** The metrics keyed for all.json; a non-finite value (a division by zero, a missing case) is left out. */
export function keyMetrics(metrics: readonly Metric[]): Record<string, StoredMetric> {
  const out: Record<string, StoredMetric> = {};
  for (const m of metrics) {
    if (!Number.isFinite(m.value)) continue;
    out[metricKey(m)] = {
      bench: m.bench,
      case: m.case,
      metric: m.metric,
      value: m.value,
      unit: m.unit,
      better: m.better,
      ...(m.goal === undefined ? {} : { goal: m.goal }),
    };
  }
  return out;
}

export function goalMet(goal: Goal, value: number): boolean {
  return goal.op === '>=' ? value >= goal.value : value <= goal.value;
}

/**
 * How a value moved against its baseline: 'regression' when it moved more than `threshold`
 * (relative) in the bad direction, 'improved' when more than that in the good one, '' otherwise.
 */
export function judgeChange(value: number, baseline: number, better: Better, threshold = REGRESSION_THRESHOLD): Flag {
  if (baseline === 0) return value === 0 ? '' : (better === 'higher') === value > 0 ? 'improved' : 'regression';
  const change = value / baseline - 1;
  const good = better === 'higher' ? change : -change;
  if (good < -threshold) return 'regression';
  if (good > threshold) return 'improved';
  return '';
}

/**
 * Every metric of this run against the baseline's (when there is one), in this run's order, then
 * the baseline's metrics this run lacks (flagged 'missing'). Without a baseline nothing is flagged.
 */
export function compareMetrics(
  current: Readonly<Record<string, StoredMetric>>,
  baseline: Readonly<Record<string, StoredMetric>> | undefined,
  threshold = REGRESSION_THRESHOLD,
): ComparedMetric[] {
  const rows: ComparedMetric[] = [];
  for (const [key, m] of Object.entries(current)) {
    const old = baseline?.[key];
    const base = {
      key,
      bench: m.bench,
      case: m.case,
      metric: m.metric,
      unit: m.unit,
      better: m.better,
      value: m.value,
    };
    const goal = m.goal === undefined ? {} : { goal: m.goal, goalMet: goalMet(m.goal, m.value) };
    if (old === undefined) {
      rows.push({ ...base, ...goal, flag: baseline === undefined ? '' : 'new' });
      continue;
    }
    rows.push({
      ...base,
      ...goal,
      baseline: old.value,
      change: old.value === 0 ? undefined : m.value / old.value - 1,
      flag: judgeChange(m.value, old.value, m.better, threshold),
    });
  }
  for (const [key, old] of Object.entries(baseline ?? {})) {
    if (key in current) continue;
    rows.push({
      key,
      bench: old.bench,
      case: old.case,
      metric: old.metric,
      unit: old.unit,
      better: old.better,
      ...(old.goal === undefined ? {} : { goal: old.goal }),
      baseline: old.value,
      flag: 'missing',
    });
  }
  return rows;
}

/**
 * The baseline's metrics of the benchmarks this run ran (or tried to): one skipped or left out
 * with --only has no figures to miss, while one that failed does.
 */
export function baselineOf(
  baseline: Readonly<Record<string, StoredMetric>>,
  runs: readonly BenchmarkRun[],
): Record<string, StoredMetric> {
  const ran = new Set(runs.filter((r) => r.status !== 'skipped').map((r) => r.name));
  return Object.fromEntries(Object.entries(baseline).filter(([, m]) => ran.has(m.bench)));
}

export function regressions(rows: readonly ComparedMetric[]): ComparedMetric[] {
  return rows.filter((r) => r.flag === 'regression');
}

/** A figure with the precision its size needs: 0.934, 12.3, 1234. */
export function formatValue(value: number, unit: string): string {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : unit === '×' ? 2 : abs >= 1 ? 2 : 3;
  const text = value.toFixed(digits);
  return unit === '×' ? `${text}×` : `${text} ${unit}`;
}

function formatGoal(goal: Goal | undefined, met: boolean | undefined, unit: string): string {
  if (goal === undefined) return '';
  const text = `${goal.op === '>=' ? '≥' : '≤'} ${formatValue(goal.value, unit)}`;
  return met === undefined ? text : `${text} ${met ? 'met' : 'NOT met'}`;
}

function formatChange(change: number | undefined): string {
  if (change === undefined) return '';
  const pct = change * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** The one summary table: benchmark, case, metric (with its good direction), value, goal, baseline, change, flag. */
export function summaryTable(rows: readonly ComparedMetric[]): string {
  return markdownTable(
    ['benchmark', 'case', 'metric', 'value', 'goal', 'baseline', 'change', 'flag'],
    rows.map((r) => [
      r.bench,
      r.case,
      `${r.metric} (${r.better} is better)`,
      r.value === undefined ? '–' : formatValue(r.value, r.unit),
      formatGoal(r.goal, r.goalMet, r.unit),
      r.baseline === undefined ? '–' : formatValue(r.baseline, r.unit),
      formatChange(r.change),
      r.flag,
    ]),
    3,
  );
}

/** The lines under the table: the benchmarks skipped or failed, goals missed and regressions. */
export function summaryLines(
  runs: readonly BenchmarkRun[],
  rows: readonly ComparedMetric[],
  threshold = REGRESSION_THRESHOLD,
): string[] {
  const lines: string[] = [];
  for (const r of runs) {
    if (r.status === 'skipped') lines.push(`skipped ${r.name}: ${r.reason ?? ''}`);
    if (r.status === 'failed') lines.push(`FAILED ${r.name}: ${r.reason ?? ''}`);
  }
  const withGoal = rows.filter((r) => r.goalMet !== undefined);
  const missed = withGoal.filter((r) => r.goalMet === false);
  if (withGoal.length > 0) lines.push(`goals: ${withGoal.length - missed.length} of ${withGoal.length} met`);
  for (const r of missed) lines.push(`  goal NOT met: ${r.key} = ${formatValue(r.value ?? NaN, r.unit)}`);
  const bad = regressions(rows);
  lines.push(
    bad.length === 0
      ? `regressions (> ${(threshold * 100).toFixed(0)}% in the bad direction): none`
      : `regressions (> ${(threshold * 100).toFixed(0)}% in the bad direction): ${bad.length}`,
  );
  for (const r of bad) lines.push(`  ${r.key}: ${formatChange(r.change)} (${r.better} is better)`);
  const missing = rows.filter((r) => r.flag === 'missing');
  if (missing.length > 0) lines.push(`in the baseline, not in this run: ${missing.length} metrics`);
  return lines;
}

/** Reads a previous all.json's metrics; a file of another shape is refused with the reason. */
export function baselineMetrics(json: unknown, source: string): Record<string, StoredMetric> {
  if (typeof json !== 'object' || json === null || !('metrics' in json)) {
    throw new Error(`${source}: not a bench:all result (no "metrics" object)`);
  }
  const metrics: unknown = json.metrics;
  if (typeof metrics !== 'object' || metrics === null) throw new Error(`${source}: "metrics" is not an object`);
  const out: Record<string, StoredMetric> = {};
  for (const [key, v] of Object.entries(metrics)) {
    if (typeof v !== 'object' || v === null) continue;
    const r = v as Record<string, unknown>;
    if (typeof r['value'] !== 'number') continue;
    const better: Better = r['better'] === 'lower' ? 'lower' : 'higher';
    const g = r['goal'] as Record<string, unknown> | undefined;
    const op = typeof g === 'object' && g !== null ? g['op'] : undefined;
    const target = typeof g === 'object' && g !== null ? g['value'] : undefined;
    const goal: { goal?: Goal } =
      (op === '>=' || op === '<=') && typeof target === 'number' ? { goal: { op, value: target } } : {};
    // A key's bench name holds no slash; without its parts the rest of the key stands as the case.
    const slash = key.indexOf('/');
    const parts = {
      bench: typeof r['bench'] === 'string' ? r['bench'] : slash < 0 ? key : key.slice(0, slash),
      case: typeof r['case'] === 'string' ? r['case'] : slash < 0 ? '' : key.slice(slash + 1),
      metric: typeof r['metric'] === 'string' ? r['metric'] : '',
    };
    out[key] = { ...parts, value: r['value'], unit: typeof r['unit'] === 'string' ? r['unit'] : '×', better, ...goal };
  }
  return out;
}
