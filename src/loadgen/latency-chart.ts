// The --chart SVG: p50 and p99 client latency (y) against throughput (x), one point per load
// level joined in sweep order, so the knee where latency climbs without more throughput shows.

import { levelOf, type BenchReport, type PointResult } from './bench-results.js';
import { element, svgDocument, text } from './svg-writer.js';

export const CHART = Object.freeze({
  width: 760,
  height: 460,
  margin: Object.freeze({ top: 60, right: 32, bottom: 64, left: 84 }),
});

const COLORS = { p50: '#1f77b4', p99: '#d62728' } as const;

/**
 * Ticks from 0 to a round maximum ≥ `max`: steps of 1, 2 or 5 × 10^k, the one whose number of
 * intervals comes closest to `target` (ties to the larger step).
 */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const power = 10 ** Math.floor(Math.log10(max / target));
  const intervals = (step: number): number => Math.ceil(max / step - 1e-9);
  let step = power;
  for (const m of [2, 5, 10]) {
    if (Math.abs(intervals(m * power) - target) <= Math.abs(intervals(step) - target)) step = m * power;
  }
  return Array.from({ length: intervals(step) + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

function tickLabel(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export interface ChartScales {
  readonly xTicks: readonly number[];
  readonly yTicks: readonly number[];
  /** Latencies are drawn in ms once they reach a millisecond, else in µs. */
  readonly unit: 'µs' | 'ms';
  /** Throughput (infer/s) to px. */
  readonly x: (throughput: number) => number;
  /** Latency in µs to px. */
  readonly y: (latencyUs: number) => number;
}

/** Points with a latency to draw: a level where every request failed has none. */
function drawable(report: BenchReport): PointResult[] {
  return report.results.filter((p) => Number.isFinite(p.latencyUs.p50) && Number.isFinite(p.latencyUs.p99));
}

export function chartScales(report: BenchReport): ChartScales {
  const points = drawable(report);
  const maxLatencyUs = Math.max(0, ...points.map((p) => p.latencyUs.p99));
  const unit = maxLatencyUs >= 1000 ? 'ms' : 'µs';
  const perUnit = unit === 'ms' ? 1000 : 1;
  const xTicks = niceTicks(Math.max(0, ...points.map((p) => p.throughput)));
  const yTicks = niceTicks(maxLatencyUs / perUnit);
  const { width, height, margin } = CHART;
  const xMax = xTicks[xTicks.length - 1] ?? 1;
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  return {
    xTicks,
    yTicks,
    unit,
    x: (t) => margin.left + (t / xMax) * (width - margin.left - margin.right),
    y: (us) => height - margin.bottom - (us / perUnit / yMax) * (height - margin.top - margin.bottom),
  };
}

function series(points: readonly PointResult[], s: ChartScales, key: 'p50' | 'p99'): string[] {
  const color = COLORS[key];
  const xy = points.map((p) => [s.x(p.throughput), s.y(p.latencyUs[key])] as const);
  const out: string[] = [];
  if (xy.length > 1)
    out.push(
      element('polyline', {
        class: `line ${key}`,
        points: xy.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' '),
        fill: 'none',
        stroke: color,
        'stroke-width': 2,
      }),
    );
  points.forEach((p, i) => {
    const [cx, cy] = xy[i] ?? [0, 0];
    out.push(
      element('circle', {
        class: `point ${key}`,
        'data-level': levelOf(p),
        cx,
        cy,
        r: 4,
        // Hollow: the level never settled within the stability fraction.
        fill: p.stable ? color : '#ffffff',
        stroke: color,
        'stroke-width': 2,
      }),
    );
  });
  return out;
}

export function latencyChartSvg(report: BenchReport): string {
  const { width, height, margin } = CHART;
  const s = chartScales(report);
  const points = drawable(report);
  const left = margin.left;
  const right = width - margin.right;
  const top = margin.top;
  const bottom = height - margin.bottom;
  const perUnit = s.unit === 'ms' ? 1000 : 1;
  const parts: string[] = [element('rect', { width, height, fill: '#ffffff' })];

  const levels = report.results.map(levelOf);
  const range =
    levels.length === 0 ? '' : levels.length === 1 ? `${levels[0]}` : `${levels[0]}…${levels[levels.length - 1]}`;
  const mode = report.mode === 'concurrency' ? `concurrency ${range}` : `request rate ${range}/s`;
  parts.push(
    text(`${report.model}: client latency against throughput`, {
      x: left,
      y: 26,
      'font-size': 17,
      'font-weight': 'bold',
      'font-family': 'sans-serif',
    }),
    text(`${mode}, ${report.encoding === 'binary' ? 'binary tensors' : 'JSON'}, batch ${report.batchSize}`, {
      x: left,
      y: 46,
      'font-size': 12,
      fill: '#555555',
      'font-family': 'sans-serif',
    }),
  );

  for (const t of s.yTicks) {
    const y = s.y(t * perUnit);
    parts.push(element('line', { class: 'grid', x1: left, x2: right, y1: y, y2: y, stroke: '#e5e5e5' }));
    parts.push(element('line', { x1: left - 5, x2: left, y1: y, y2: y, stroke: '#333333' }));
    parts.push(
      text(tickLabel(t), {
        class: 'tick y',
        x: left - 8,
        y: y + 4,
        'text-anchor': 'end',
        'font-size': 11,
        'font-family': 'sans-serif',
      }),
    );
  }
  for (const t of s.xTicks) {
    const x = s.x(t);
    parts.push(element('line', { class: 'grid', x1: x, x2: x, y1: top, y2: bottom, stroke: '#e5e5e5' }));
    parts.push(element('line', { x1: x, x2: x, y1: bottom, y2: bottom + 5, stroke: '#333333' }));
    parts.push(
      text(tickLabel(t), {
        class: 'tick x',
        x,
        y: bottom + 19,
        'text-anchor': 'middle',
        'font-size': 11,
        'font-family': 'sans-serif',
      }),
    );
  }
  parts.push(
    element('path', { class: 'axes', d: `M${left},${top}V${bottom}H${right}`, fill: 'none', stroke: '#333333' }),
  );
  parts.push(
    text('throughput (infer/s)', {
      x: (left + right) / 2,
      y: height - 18,
      'text-anchor': 'middle',
      'font-size': 13,
      'font-family': 'sans-serif',
    }),
    text(`latency (${s.unit})`, {
      x: 0,
      y: 0,
      transform: `translate(24 ${(top + bottom) / 2}) rotate(-90)`,
      'text-anchor': 'middle',
      'font-size': 13,
      'font-family': 'sans-serif',
    }),
  );

  parts.push(...series(points, s, 'p99'), ...series(points, s, 'p50'));
  for (const p of points) {
    parts.push(
      text(report.mode === 'concurrency' ? `c=${levelOf(p)}` : `${levelOf(p)}/s`, {
        class: 'level',
        // Above the p99 point: below p50 the labels would run into the x axis.
        x: s.x(p.throughput) + 6,
        y: Math.max(top + 10, s.y(p.latencyUs.p99) - 8),
        'font-size': 10,
        fill: '#666666',
        'font-family': 'sans-serif',
      }),
    );
  }

  const legend: string[] = [];
  const entries: [string, string][] = [
    ['p99', COLORS.p99],
    ['p50', COLORS.p50],
  ];
  entries.forEach(([label, color], i) => {
    const y = top + 16 + i * 18;
    legend.push(element('line', { x1: left + 12, x2: left + 36, y1: y, y2: y, stroke: color, 'stroke-width': 2 }));
    legend.push(element('circle', { cx: left + 24, cy: y, r: 4, fill: color }));
    legend.push(text(label, { x: left + 44, y: y + 4, 'font-size': 12, 'font-family': 'sans-serif' }));
  });
  if (points.some((p) => !p.stable)) {
    const y = top + 16 + entries.length * 18;
    legend.push(
      element('circle', { cx: left + 24, cy: y, r: 4, fill: '#ffffff', stroke: '#555555', 'stroke-width': 2 }),
    );
    legend.push(text('not stable', { x: left + 44, y: y + 4, 'font-size': 12, 'font-family': 'sans-serif' }));
  }
  parts.push(element('g', { class: 'legend' }, legend));
  return svgDocument(width, height, parts);
}
