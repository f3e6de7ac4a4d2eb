// The terminal table of `inferd bench`: one row per load level with throughput, client latency
// percentiles and errors, then the server's per-request split, as perf_analyzer prints them.

import { levelOf, type BenchReport, type PointResult } from './bench-results.js';

interface Column {
  readonly header: string;
  readonly cell: (p: PointResult) => string;
}

function fixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Whole microseconds once they are large enough that tenths are noise. */
function micros(value: number): string {
  return fixed(value, Math.abs(value) >= 100 ? 0 : 1);
}

function server(pick: (s: NonNullable<PointResult['server']>) => number): (p: PointResult) => string {
  return (p) => (p.server === null ? '-' : fixed(pick(p.server), 1));
}

/** A small amount with three significant digits, without exponent: 0.0000123. */
function significant(value: number): string {
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 20));
}

/** The cost columns that have something to show: CPU (and GPU) µs per inference, cost per 1,000. */
function costColumns(report: BenchReport): Column[] {
  const costs = report.results.map((p) => p.cost);
  if (costs.every((c) => c === null)) return [];
  const cell =
    (pick: (c: NonNullable<PointResult['cost']>) => number | null, show: (v: number) => string) =>
    (p: PointResult): string => {
      const v = p.cost === null ? null : pick(p.cost);
      return v === null ? '-' : show(v);
    };
  const out: Column[] = [
    {
      header: 'cpu/inf',
      cell: cell(
        (c) => c.cpuSecondsPerInference * 1e6,
        (v) => fixed(v, 1),
      ),
    },
  ];
  if (costs.some((c) => c !== null && c.gpuSecondsPerInference > 0))
    out.push({
      header: 'gpu/inf',
      cell: cell(
        (c) => c.gpuSecondsPerInference * 1e6,
        (v) => fixed(v, 1),
      ),
    });
  if (costs.some((c) => c?.costPer1kInferences != null))
    out.push({ header: 'cost/1k', cell: cell((c) => c.costPer1kInferences, significant) });
  return out;
}

function columns(report: BenchReport): { client: Column[]; server: Column[] } {
  const rate = report.mode === 'request-rate';
  const client: Column[] = [
    rate
      ? { header: 'rate/s', cell: (p) => fixed(levelOf(p), Number.isInteger(levelOf(p)) ? 0 : 2) }
      : { header: 'concurrency', cell: (p) => String(levelOf(p)) },
    { header: 'infer/s', cell: (p) => fixed(p.throughput, 1) },
    { header: 'p50 µs', cell: (p) => micros(p.latencyUs.p50) },
    { header: 'p90 µs', cell: (p) => micros(p.latencyUs.p90) },
    { header: 'p95 µs', cell: (p) => micros(p.latencyUs.p95) },
    { header: 'p99 µs', cell: (p) => micros(p.latencyUs.p99) },
    { header: 'errors', cell: (p) => String(p.errors) },
  ];
  if (rate) {
    client.push({ header: 'late', cell: (p) => String(p.sends?.late ?? 0) });
    client.push({ header: 'dropped', cell: (p) => String(p.sends?.dropped ?? 0) });
  }
  client.push({ header: 'windows', cell: (p) => `${p.windows.length}${p.stable ? '' : '*'}` });
  return {
    client,
    server: [
      { header: 'queue', cell: server((s) => s.queueUs) },
      { header: 'input', cell: server((s) => s.computeInputUs) },
      { header: 'infer', cell: server((s) => s.computeInferUs) },
      { header: 'output', cell: server((s) => s.computeOutputUs) },
      { header: 'overhead', cell: server((s) => s.overheadUs) },
      ...costColumns(report),
    ],
  };
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(6))}%`;
}

/** The report as text: a heading, the table, and notes on what the columns mean. */
export function formatReport(report: BenchReport): string {
  const { client, server: serverColumns } = columns(report);
  const all = [...client, ...serverColumns];
  const rows = report.results.map((p) => all.map((c) => c.cell(p)));
  const widths = all.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => {
    const padded = cells.map((cell, i) => cell.padStart(widths[i] ?? 0));
    return `${padded.slice(0, client.length).join('  ')}  │ ${padded.slice(client.length).join('  ')}`.trimEnd();
  };
  const clientWidth = widths.slice(0, client.length).reduce((a, b) => a + b + 2, 0);
  const version = report.modelVersion === null ? 'latest version' : `version ${report.modelVersion}`;
  const encoding = report.encoding === 'binary' ? 'binary tensors' : 'JSON';
  const out = [
    `${report.model} (${version}) at ${report.url}: ${encoding}, batch ${report.batchSize}, ` +
      `${report.windowMs} ms windows`,
    '',
    `${'client'.padEnd(clientWidth)}│ server, µs per request`,
    line(all.map((c) => c.header)),
    ...rows.map(line),
    '',
    `latency: client, from writing the request to reading the last response byte (successful requests only).`,
    `windows: measured; the last ${report.stableWindows} are reported; * = not within ±${percent(report.stability)} ` +
      `after ${report.maxWindows} windows.`,
    `server: from GET /v2/models/${report.model}/stats over the reported windows; ` +
      'overhead = success − queue − compute input/infer/output.',
  ];
  const priced = report.results.find((p) => p.cost !== null)?.cost;
  if (priced !== undefined && priced !== null) {
    out.push(
      'cpu/inf, gpu/inf: µs of CPU (GPU) time the server charged the model per inference, from the cost in its statistics.',
    );
    if (priced.costPer1kInferences !== null)
      out.push(
        `cost/1k: per 1,000 inferences at ${priced.cpuPerHour ?? 0} per CPU-hour and ${priced.gpuPerHour ?? 0} per GPU-hour.`,
      );
  }
  if (report.mode === 'request-rate')
    out.push(
      `late: sent over 2 ms after its Poisson arrival time; dropped: not sent, ${report.maxOutstanding} already outstanding.`,
    );
  if (report.results.some((p) => p.server === null))
    out.push('server split: "-" where the server gave no statistics for the windows.');
  const firstError = report.results.find((p) => p.firstError !== null)?.firstError;
  if (firstError !== undefined) out.push(`first error: ${firstError}`);
  return `${out.join('\n')}\n`;
}
