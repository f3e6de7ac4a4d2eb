// The pure parts of the soak test (bench/soak.ts): the request mix, per-window statistics, and
// the verdict over all windows (errors, memory growth of the server, p99 latency drift).

import { percentile } from './latency-stats.js';

/** The kinds of request the soak can send. */
export const REQUEST_KINDS = ['json', 'binary', 'grpc', 'completions'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export interface MixEntry {
  readonly kind: RequestKind;
  readonly weight: number;
}

/** Parses `json,binary:2,grpc` (a kind with an optional positive integer weight, default 1). */
export function parseMix(text: string): MixEntry[] {
  const entries: MixEntry[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const [name = '', weightText] = item.split(':');
    const kind = REQUEST_KINDS.find((k) => k === name);
    if (kind === undefined) throw new Error(`unknown request kind '${name}' (known: ${REQUEST_KINDS.join(', ')})`);
    const weight = weightText === undefined ? 1 : Number(weightText);
    if (!Number.isInteger(weight) || weight < 1) throw new Error(`weight of '${kind}' must be a positive integer`);
    if (entries.some((e) => e.kind === kind)) throw new Error(`request kind '${kind}' is named twice`);
    entries.push({ kind, weight });
  }
  if (entries.length === 0) throw new Error('the mix names no request kind');
  return entries;
}

/** One cycle of the mix, each kind repeated by its weight and interleaved (a:2,b → a b a). */
export function mixCycle(mix: readonly MixEntry[]): RequestKind[] {
  const cycle: RequestKind[] = [];
  const most = Math.max(...mix.map((e) => e.weight));
  for (let round = 0; round < most; round++) for (const e of mix) if (round < e.weight) cycle.push(e.kind);
  return cycle;
}

/**
 * How one request ended: the HTTP status as digits ('200', '503'), `grpc:<code name>` for gRPC
 * ('grpc:OK', 'grpc:UNAVAILABLE'), or 'network' when no answer came (connection refused or reset).
 */
export type Outcome = string;

export type OutcomeClass = 'ok' | 'refusal' | 'error';

const REFUSALS = new Set(['429', '503', 'grpc:RESOURCE_EXHAUSTED', 'grpc:UNAVAILABLE']);

/** 2xx and gRPC OK succeed; 429, 503 and their gRPC counterparts are refusals; all else is an error. */
export function classifyOutcome(outcome: Outcome): OutcomeClass {
  if (/^2\d\d$/.test(outcome) || outcome === 'grpc:OK') return 'ok';
  return REFUSALS.has(outcome) ? 'refusal' : 'error';
}

/** What the soak collected in one sampling window. */
export interface RawWindow {
  /** Seconds since the measured part of the run began, at the window's end. */
  readonly endS: number;
  readonly seconds: number;
  /** Latencies of the requests that finished in the window, in milliseconds, in no particular order. */
  readonly latenciesMs: readonly number[];
  readonly outcomes: ReadonlyMap<Outcome, number>;
  /** The server's resident set size at the window's end, MiB. */
  readonly rssMiB: number;
}

export interface WindowStats {
  readonly index: number;
  readonly endS: number;
  readonly seconds: number;
  readonly requests: number;
  readonly throughput: number;
  readonly errors: number;
  readonly refusals: number;
  /** Requests per outcome, e.g. { "200": 1234, "503": 2 }. */
  readonly byOutcome: Readonly<Record<Outcome, number>>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rssMiB: number;
}

/** Counts, throughput and nearest-rank p50/p99 (NaN without requests) of one window. */
export function windowStats(index: number, raw: RawWindow): WindowStats {
  let requests = 0;
  let errors = 0;
  let refusals = 0;
  const byOutcome: Record<Outcome, number> = {};
  for (const [outcome, count] of [...raw.outcomes].sort(([a], [b]) => a.localeCompare(b))) {
    requests += count;
    byOutcome[outcome] = count;
    const cls = classifyOutcome(outcome);
    if (cls === 'error') errors += count;
    else if (cls === 'refusal') refusals += count;
  }
  const sorted = Float64Array.from(raw.latenciesMs).sort();
  return {
    index,
    endS: raw.endS,
    seconds: raw.seconds,
    requests,
    throughput: raw.seconds > 0 ? requests / raw.seconds : Number.NaN,
    errors,
    refusals,
    byOutcome,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    rssMiB: raw.rssMiB,
  };
}

export interface Thresholds {
  /** Largest allowed growth of the server's RSS from the start (after warm-up) to the end, MiB. */
  readonly maxRssGrowthMiB: number;
  /** Largest allowed ratio of the last window's p99 to the first window's. */
  readonly maxP99Drift: number;
  /** When true, 429/503 refusals do not fail the run (errors still do). */
  readonly allowRefusals: boolean;
}

export interface Verdict {
  readonly pass: boolean;
  /** Why the run failed, one line per reason; empty when it passed. */
  readonly failures: readonly string[];
  readonly windows: number;
  readonly requests: number;
  /** Every request that did not succeed, refusals excluded. */
  readonly errors: number;
  readonly refusals: number;
  readonly byOutcome: Readonly<Record<Outcome, number>>;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssGrowthMiB: number;
  /** Growth as a percentage of the start. */
  readonly rssGrowthPct: number;
  readonly p99FirstMs: number;
  readonly p99LastMs: number;
  /** p99 of the last window ÷ p99 of the first. */
  readonly p99Drift: number;
}

/** Judges a run from the server's RSS after warm-up and the windows measured after it, in order. */
export function judge(rssStartMiB: number, windows: readonly WindowStats[], limits: Thresholds): Verdict {
  const byOutcome: Record<Outcome, number> = {};
  let requests = 0;
  let errors = 0;
  let refusals = 0;
  for (const w of windows) {
    requests += w.requests;
    errors += w.errors;
    refusals += w.refusals;
    for (const [outcome, count] of Object.entries(w.byOutcome)) byOutcome[outcome] = (byOutcome[outcome] ?? 0) + count;
  }
  const first = windows[0];
  const last = windows[windows.length - 1];
  const rssEndMiB = last?.rssMiB ?? Number.NaN;
  const rssGrowthMiB = rssEndMiB - rssStartMiB;
  const p99FirstMs = first?.p99Ms ?? Number.NaN;
  const p99LastMs = last?.p99Ms ?? Number.NaN;
  const p99Drift = p99LastMs / p99FirstMs;

  const failures: string[] = [];
  if (windows.length === 0 || requests === 0) failures.push('no request finished');
  if (errors > 0) failures.push(`${errors} error(s)`);
  if (refusals > 0 && !limits.allowRefusals) failures.push(`${refusals} refusal(s) (429/503)`);
  if (!Number.isFinite(rssGrowthMiB)) failures.push('the server RSS could not be read');
  else if (rssGrowthMiB > limits.maxRssGrowthMiB)
    failures.push(`RSS grew ${rssGrowthMiB.toFixed(1)} MiB (limit ${limits.maxRssGrowthMiB} MiB)`);
  if (!Number.isFinite(p99Drift)) failures.push('no p99 in the first or last window');
  else if (p99Drift > limits.maxP99Drift)
    failures.push(`p99 drifted ${p99Drift.toFixed(2)}x (limit ${limits.maxP99Drift}x)`);

  return {
    pass: failures.length === 0,
    failures,
    windows: windows.length,
    requests,
    errors,
    refusals,
    byOutcome,
    rssStartMiB,
    rssEndMiB,
    rssGrowthMiB,
    rssGrowthPct: (rssGrowthMiB / rssStartMiB) * 100,
    p99FirstMs,
    p99LastMs,
    p99Drift,
  };
}

/** VmRSS of a /proc/<pid>/status text, in MiB; NaN when the line is missing (e.g. a zombie). */
export function vmRssMiB(procStatus: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(procStatus);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024;
}
