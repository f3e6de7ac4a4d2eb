// The results of the REST overhead benchmark: their JSON shape, the Markdown tables printed for
// the README, the goal verdict, and the comparison with a previous run's JSON.

import type { MachineInfo } from './machine.js';
import type { WindowOptions, WindowSummary } from './measurement-windows.js';

export type PathKind = 'raw' | 'json' | 'binary' | 'json-worker' | 'binary-worker';

/** The paths through the server: the model as configured (`auto` by default), then its worker-thread copy. */
export const SERVED_PATHS = ['json', 'binary', 'json-worker', 'binary-worker'] as const;
export type ServedPath = (typeof SERVED_PATHS)[number];

export const PATH_LABELS: Record<PathKind | 'http-floor', string> = {
  raw: 'raw session.run (in-process)',
  json: 'inferd REST, JSON (default)',
  binary: 'inferd REST, binary tensors (default)',
  'json-worker': 'inferd REST, JSON, worker threads',
  'binary-worker': 'inferd REST, binary, worker threads',
  'http-floor': 'HTTP floor: GET /v2/health/live',
};

export function isWorkerPath(kind: PathKind): boolean {
  return kind === 'json-worker' || kind === 'binary-worker';
}

/** Per-request means in µs over the reported windows, from /v2/models/{m}/stats deltas. */
export interface ServerSplit {
  readonly requests: number;
  readonly successUs: number;
  readonly queueUs: number;
  readonly computeInputUs: number;
  readonly computeInferUs: number;
  readonly computeOutputUs: number;
  /** success − compute input − compute infer − compute output (queue included; see the program). */
  readonly overheadUs: number;
  /** perf_analyzer's own split: success − queue − compute input − compute infer − compute output. */
  readonly overheadExclQueueUs: number;
  /** Client mean latency − success: HTTP parsing and writing, routing, loopback and the client. */
  readonly outsideServerTimerUs: number;
}

export interface CaseResult {
  readonly path: PathKind | 'http-floor';
  readonly label: string;
  readonly stable: boolean;
  readonly windows: readonly WindowSummary[];
  readonly reportedWindows: number;
  readonly requests: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  /** Client p50 − raw session.run p50. */
  readonly endToEndOverheadUs?: number;
  readonly server?: ServerSplit;
  /** The model the requests named: the benchmarked model, or its `<model>_worker` copy. */
  readonly servedModel?: string;
}

export interface ModelResult {
  /** Where the server ran the model as configured, and why (its config's runtime block). */
  readonly execution: string;
  /** Throughput under many connections, as configured against worker threads. */
  readonly highConcurrency: HighConcurrencyResult;
  readonly model: string;
  readonly sessionOptions: unknown;
  readonly requestBytes: { readonly json: number; readonly binary: number };
  readonly cases: readonly CaseResult[];
  /** Ratios of p50 latency (and inverse ratios of throughput). */
  readonly ratios: {
    readonly jsonOverRawP50: number;
    readonly binaryOverRawP50: number;
    readonly jsonOverBinaryP50: number;
    readonly rawOverJsonThroughput: number;
    readonly rawOverBinaryThroughput: number;
    readonly binaryOverJsonThroughput: number;
    readonly jsonWorkerOverRawP50: number;
    readonly binaryWorkerOverRawP50: number;
    /** Worker-thread p50 / default p50, same body format. */
    readonly jsonWorkerOverJsonP50: number;
    readonly binaryWorkerOverBinaryP50: number;
    readonly jsonOverJsonWorkerThroughput: number;
    readonly binaryOverBinaryWorkerThroughput: number;
  };
}

export interface GoalCheck {
  readonly model: string;
  readonly path: PathKind;
  readonly serverOverheadUs: number;
  readonly endToEndOverheadUs: number;
  readonly serverMet: boolean;
  readonly endToEndMet: boolean;
}

export interface BenchResult {
  readonly benchmark: 'rest-overhead';
  readonly generatedAt: string;
  readonly machine: MachineInfo;
  readonly method: WindowOptions & { readonly concurrency: 1; readonly client: string; readonly server: string };
  readonly definitions: Readonly<Record<string, string>>;
  readonly httpFloor: CaseResult;
  readonly models: readonly ModelResult[];
  readonly goal: {
    readonly overheadUs: number;
    /** Judged on the worker-thread paths, the server's default execution. */
    readonly met: boolean;
    /** Judged on the worker-thread paths. */
    readonly metWorker: boolean;
    /** Every model met it on this path. */
    readonly byPath: Readonly<Partial<Record<PathKind, boolean>>>;
    readonly checks: readonly GoalCheck[];
  };
}

function us(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(1);
}

function ratio(v: number): string {
  return `${v.toFixed(2)}×`;
}

/** A Markdown table padded so that it also reads well in a terminal. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], right: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number): string =>
    i >= right ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0);
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => pad(c, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= right ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function windowsText(c: CaseResult): string {
  return `${c.reportedWindows}/${c.windows.length}${c.stable ? '' : ' (unstable)'}`;
}

export function latencyTable(result: BenchResult): string {
  const rows: string[][] = [];
  for (const m of result.models) {
    const raw = m.cases.find((c) => c.path === 'raw');
    for (const c of m.cases) {
      rows.push([
        m.model,
        c.label,
        us(c.p50Us),
        us(c.p90Us),
        us(c.p99Us),
        c.throughput.toFixed(0),
        raw === undefined ? '–' : ratio(c.p50Us / raw.p50Us),
        c.path === 'raw' ? '–' : us(c.endToEndOverheadUs),
        us(c.server?.overheadUs),
        windowsText(c),
      ]);
    }
  }
  const f = result.httpFloor;
  rows.push([
    '–',
    f.label,
    us(f.p50Us),
    us(f.p90Us),
    us(f.p99Us),
    f.throughput.toFixed(0),
    '–',
    '–',
    '–',
    windowsText(f),
  ]);
  return markdownTable(
    [
      'model',
      'path',
      'p50 µs',
      'p90 µs',
      'p99 µs',
      'req/s',
      'p50 / raw',
      'end-to-end overhead µs (p50 − raw p50)',
      'server overhead µs (mean)',
      'windows',
    ],
    rows,
    2,
  );
}

export function serverSplitTable(result: BenchResult): string {
  const rows: string[][] = [];
  for (const m of result.models) {
    for (const c of m.cases) {
      const s = c.server;
      if (s === undefined) continue;
      rows.push([
        m.model,
        c.path,
        us(s.successUs),
        us(s.queueUs),
        us(s.computeInputUs),
        us(s.computeInferUs),
        us(s.computeOutputUs),
        us(s.overheadExclQueueUs),
        us(s.overheadUs),
        us(s.outsideServerTimerUs),
      ]);
    }
  }
  return markdownTable(
    [
      'model',
      'path',
      'request µs',
      'queue µs',
      'compute input µs',
      'compute infer µs',
      'compute output µs',
      'overhead excl. queue µs',
      'server overhead µs',
      'outside server timer µs',
    ],
    rows,
    2,
  );
}

export function ratioTable(result: BenchResult): string {
  const rows = result.models.map((m) => [
    m.model,
    ratio(m.ratios.jsonOverRawP50),
    ratio(m.ratios.binaryOverRawP50),
    ratio(m.ratios.jsonOverBinaryP50),
    ratio(m.ratios.rawOverJsonThroughput),
    ratio(m.ratios.rawOverBinaryThroughput),
    ratio(m.ratios.binaryOverJsonThroughput),
  ]);
  return markdownTable(
    [
      'model',
      'p50 JSON / raw',
      'p50 binary / raw',
      'p50 JSON / binary',
      'req/s raw / JSON',
      'req/s raw / binary',
      'req/s binary / JSON',
    ],
    rows,
    1,
  );
}

export function workerRatioTable(result: BenchResult): string {
  const rows = result.models.map((m) => [
    m.model,
    ratio(m.ratios.jsonWorkerOverRawP50),
    ratio(m.ratios.binaryWorkerOverRawP50),
    ratio(m.ratios.jsonWorkerOverJsonP50),
    ratio(m.ratios.binaryWorkerOverBinaryP50),
    ratio(m.ratios.jsonOverJsonWorkerThroughput),
    ratio(m.ratios.binaryOverBinaryWorkerThroughput),
  ]);
  return markdownTable(
    [
      'model',
      'p50 JSON worker / raw',
      'p50 binary worker / raw',
      'p50 JSON worker / default',
      'p50 binary worker / default',
      'req/s JSON default / worker',
      'req/s binary default / worker',
    ],
    rows,
    1,
  );
}

export interface HighConcurrencyResult {
  readonly connections: number;
  readonly rounds: readonly { readonly defaultThroughput: number; readonly workerThroughput: number }[];
  /** Medians over the rounds. */
  readonly defaultThroughput: number;
  readonly workerThroughput: number;
  readonly defaultOverWorkerRatio: number;
}

export function highConcurrencyTable(result: BenchResult): string {
  const rows = result.models.map((m) => [
    m.model,
    String(m.highConcurrency.connections),
    m.highConcurrency.defaultThroughput.toFixed(0),
    m.highConcurrency.workerThroughput.toFixed(0),
    ratio(m.highConcurrency.defaultOverWorkerRatio),
    m.highConcurrency.rounds.map((r) => ratio(r.defaultThroughput / r.workerThroughput)).join(', '),
  ]);
  return markdownTable(
    ['model', 'connections', 'req/s as configured', 'req/s worker threads', 'default / worker', 'each round'],
    rows,
    1,
  );
}

export function goalLines(result: BenchResult): string[] {
  const goal = result.goal.overheadUs;
  const lines = [`Goal: under ${goal} µs of server overhead per request for small tensors (concurrency 1).`];
  for (const c of result.goal.checks) {
    lines.push(
      `  ${c.model} ${c.path}: server overhead ${us(c.serverOverheadUs)} µs — ${c.serverMet ? 'met' : 'NOT met'}; ` +
        `end-to-end p50 overhead ${us(c.endToEndOverheadUs)} µs — ${c.endToEndMet ? 'met' : 'NOT met'}`,
    );
  }
  const byPath = Object.entries(result.goal.byPath).map(([path, met]) => `${path} ${met ? 'MET' : 'NOT MET'}`);
  lines.push(`Goal by path (every model): ${byPath.join(', ')}.`);
  lines.push(
    `Goal ${result.goal.met ? 'MET' : 'NOT MET'} with the default configuration, ` +
      `${result.goal.metWorker ? 'MET' : 'NOT MET'} with worker threads pinned ` +
      '(judged on server overhead; end-to-end shown as the upper bound).',
  );
  return lines;
}

interface PreviousCase {
  path?: string;
  p50Us?: number;
  server?: { overheadUs?: number };
}

interface PreviousResult {
  generatedAt?: string;
  machine?: { cpuModel?: string; cores?: number };
  models?: { model?: string; cases?: PreviousCase[] }[];
}

function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || before <= 0) return '–';
  const pct = (after / before - 1) * 100;
  return `${us(before)} → ${us(after)} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%)`;
}

/** Lines comparing this run with a previous run's JSON, or an empty list when not comparable. */
export function comparisonLines(previous: unknown, current: BenchResult): string[] {
  if (typeof previous !== 'object' || previous === null) return [];
  const prev = previous as PreviousResult;
  if (prev.machine?.cpuModel !== current.machine.cpuModel || prev.machine.cores !== current.machine.cores) {
    return [`The previous results came from another machine (${prev.machine?.cpuModel ?? 'unknown'}); not compared.`];
  }
  const rows: string[][] = [];
  for (const m of current.models) {
    const before = prev.models?.find((x) => x.model === m.model);
    for (const c of m.cases) {
      const old = before?.cases?.find((x) => x.path === c.path);
      if (old === undefined) continue;
      rows.push([m.model, c.path, change(old.p50Us, c.p50Us), change(old.server?.overheadUs, c.server?.overheadUs)]);
    }
  }
  if (rows.length === 0) return [];
  return [
    `Change since the previous run (${prev.generatedAt ?? 'unknown date'}):`,
    '',
    markdownTable(['model', 'path', 'p50 µs', 'server overhead µs'], rows, 2),
    '',
  ];
}
