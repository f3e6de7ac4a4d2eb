// The figures of a run: per phase, the requests and the lost ones by kind, latency percentiles of
// the answered ones, the errors seen; the Markdown tables printed at the end.

import type { BackendCounters } from './haproxy.js';
import { markdownTable } from '../lib/overhead-report.js';
import { percentileOfMs } from '../lib/latency-stats.js';
import { KIND_LABELS, KINDS, type Kind, type Outcome } from './load.js';

export interface PhaseWindow {
  readonly phase: string;
  readonly startMs: number;
  endMs: number;
  /** HAProxy's counters over the phase (deltas of `show stat`), by backend. */
  haproxy: BackendCounters[];
}

export interface KindSummary {
  readonly requests: number;
  readonly lost: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface PhaseSummary {
  readonly phase: string;
  readonly seconds: number;
  readonly requests: number;
  readonly lost: number;
  /** Of the answered requests, all kinds together. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly byKind: Record<Kind, KindSummary>;
  /** Error message (numbers masked) → count. */
  readonly errors: Record<string, number>;
  /** HAProxy's counters over the phase, by backend. */
  readonly haproxy: readonly BackendCounters[];
}

export interface ReplicaEvent {
  readonly replica: string;
  readonly generation: number;
  readonly phase: string;
  readonly signal: 'SIGTERM' | 'SIGKILL';
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly exitSignal: string | null;
  /** From the signal to the process's exit. */
  readonly signalToExitMs: number;
  /** From the signal to the replacement answering /ready 200 on its own port. */
  readonly signalToReplacementReadyMs: number;
  /** From the signal to HAProxy reporting the replacement UP in both backends. */
  readonly signalToBalancedMs: number;
  /** Answers the old process completed between the signal and its exit (the drain at work). */
  readonly answeredAfterSignal: number;
  readonly log: string;
  readonly replacementLog: string;
}

const masked = (message: string): string => message.replace(/\d+/g, 'N');

function kindSummary(outcomes: readonly Outcome[]): KindSummary {
  const answered = outcomes.filter((o) => o.ok).map((o) => o.latencyMs);
  return {
    requests: outcomes.length,
    lost: outcomes.length - answered.length,
    p50Ms: percentileOfMs(answered, 50),
    p99Ms: percentileOfMs(answered, 99),
  };
}

export function summarize(windows: readonly PhaseWindow[], outcomes: readonly Outcome[]): PhaseSummary[] {
  return windows.map((w) => {
    const mine = outcomes.filter((o) => o.phase === w.phase);
    const all = kindSummary(mine);
    const errors: Record<string, number> = {};
    for (const o of mine) if (!o.ok) errors[masked(o.error ?? '?')] = (errors[masked(o.error ?? '?')] ?? 0) + 1;
    return {
      phase: w.phase,
      seconds: (w.endMs - w.startMs) / 1000,
      requests: all.requests,
      lost: all.lost,
      p50Ms: all.p50Ms,
      p99Ms: all.p99Ms,
      byKind: Object.fromEntries(KINDS.map((k) => [k, kindSummary(mine.filter((o) => o.kind === k))])) as Record<
        Kind,
        KindSummary
      >,
      errors,
      haproxy: w.haproxy,
    };
  });
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '–');

export function phaseTable(phases: readonly PhaseSummary[]): string {
  return markdownTable(
    [
      'phase',
      's',
      'requests',
      'req/s',
      'lost',
      ...KINDS.map((k) => `lost ${KIND_LABELS[k]}`),
      'p50 ms',
      'p99 ms',
      'HAProxy wretr+wredis',
    ],
    phases.map((p) => [
      p.phase,
      p.seconds.toFixed(1),
      String(p.requests),
      (p.requests / p.seconds).toFixed(0),
      String(p.lost),
      ...KINDS.map((k) => `${p.byKind[k].lost}/${p.byKind[k].requests}`),
      ms(p.p50Ms),
      ms(p.p99Ms),
      String(p.haproxy.reduce((a, c) => a + c.retries + c.redispatches, 0)),
    ]),
    1,
  );
}

export function kindLatencyTable(phases: readonly PhaseSummary[]): string {
  return markdownTable(
    ['phase', ...KINDS.map((k) => `${KIND_LABELS[k]} p50 / p99 ms`)],
    phases.map((p) => [p.phase, ...KINDS.map((k) => `${ms(p.byKind[k].p50Ms)} / ${ms(p.byKind[k].p99Ms)}`)]),
    1,
  );
}

export function replicaTable(events: readonly ReplicaEvent[]): string {
  return markdownTable(
    [
      'phase',
      'replica',
      'signal',
      'exit code',
      'exit signal',
      'signal→exit ms',
      'answered after signal',
      'signal→new ready ms',
      'signal→new UP ms',
    ],
    events.map((e) => [
      e.phase,
      `${e.replica} (gen ${e.generation}, pid ${e.pid ?? '?'})`,
      e.signal,
      String(e.exitCode ?? '–'),
      e.exitSignal ?? '–',
      e.signalToExitMs.toFixed(0),
      String(e.answeredAfterSignal),
      e.signalToReplacementReadyMs.toFixed(0),
      e.signalToBalancedMs.toFixed(0),
    ]),
    2,
  );
}
