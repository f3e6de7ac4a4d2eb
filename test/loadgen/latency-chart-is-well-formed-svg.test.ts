// The --chart SVG is well-formed XML with both axes, round ticks and labels, and puts each load
// level's p50 and p99 at its throughput and latencies on those axes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHART, chartScales, latencyChartSvg, niceTicks } from '../../src/loadgen/latency-chart.js';
import { element, escapeXml, text } from '../../src/loadgen/svg-writer.js';
import { reportWith } from './report-fixture.js';

/**
 * Checks XML well-formedness as far as this writer can go wrong: one root, every tag closed in
 * order, quoted attributes without raw '<' or '&', text without raw '<' or stray '&'.
 */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = token.exec(body)) !== null) {
    at = token.lastIndex;
    const [, closing, name, attrs, selfClosing, content] = m;
    const entity = /&(?!(?:amp|lt|gt|quot|#\d+);)/;
    if (content !== undefined) {
      assert.ok(stack.length > 0 || content.trim() === '', `text outside the root: ${content}`);
      assert.doesNotMatch(content, entity, `stray & in text: ${content}`);
      continue;
    }
    assert.doesNotMatch(attrs ?? '', entity, `stray & in attributes of <${name}>`);
    if (closing === '/') {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else {
      if (stack.length === 0) roots += 1;
      if (selfClosing !== '/') stack.push(name ?? '');
    }
  }
  assert.equal(at, body.length, `unparseable markup at ${at}: ${body.slice(at, at + 60)}`);
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root element');
}

interface Circle {
  cls: string;
  level: number;
  cx: number;
  cy: number;
  fill: string;
}

function circles(svg: string, cls: string): Circle[] {
  const out: Circle[] = [];
  for (const m of svg.matchAll(/<circle ([^>]*)\/>/g)) {
    const attrs: Record<string, string | undefined> = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] ?? '', a[2] ?? '']),
    );
    if (attrs.class !== `point ${cls}`) continue;
    out.push({
      cls,
      level: Number(attrs['data-level']),
      cx: Number(attrs.cx),
      cy: Number(attrs.cy),
      fill: attrs.fill ?? '',
    });
  }
  return out;
}

const { width, height, margin } = CHART;
const plotLeft = margin.left;
const plotRight = width - margin.right;
const plotTop = margin.top;
const plotBottom = height - margin.bottom;

describe('latency chart', () => {
  const report = reportWith([
    { level: 1, throughput: 100, p50Us: 1000, p99Us: 2000 },
    { level: 2, throughput: 200, p50Us: 1500, p99Us: 3000 },
    { level: 4, throughput: 400, p50Us: 3000, p99Us: 6000, stable: false },
  ]);
  const svg = latencyChartSvg(report);

  it('is well-formed XML', () => {
    assertWellFormed(svg);
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('has a title, axis labels and round ticks', () => {
    assert.match(svg, />simple: client latency against throughput</);
    assert.match(svg, />throughput \(infer\/s\)</);
    assert.match(svg, />latency \(ms\)</);
    const ticks = (axis: string) =>
      [...svg.matchAll(new RegExp(`class="tick ${axis}"[^>]*>([^<]*)<`, 'g'))].map((m) => m[1]);
    assert.deepEqual(ticks('x'), ['0', '100', '200', '300', '400']);
    assert.deepEqual(ticks('y'), ['0', '1', '2', '3', '4', '5', '6']);
  });

  it('places each point at its throughput and latency', () => {
    const p50 = circles(svg, 'p50');
    const p99 = circles(svg, 'p99');
    assert.deepEqual(
      p50.map((c) => c.level),
      [1, 2, 4],
    );
    const plotWidth = plotRight - plotLeft;
    const plotHeight = plotBottom - plotTop;
    // x axis 0..400 infer/s, y axis 0..6 ms.
    const expectX = (t: number) => plotLeft + (t / 400) * plotWidth;
    const expectY = (ms: number) => plotBottom - (ms / 6) * plotHeight;
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 0.01, `${a} != ${b}`);
    [
      [100, 1, 2],
      [200, 1.5, 3],
      [400, 3, 6],
    ].forEach(([t, p50ms, p99ms], i) => {
      close(p50[i]!.cx, expectX(t!));
      close(p50[i]!.cy, expectY(p50ms!));
      close(p99[i]!.cx, expectX(t!));
      close(p99[i]!.cy, expectY(p99ms!));
    });
    // The highest p99 sits on the top of the plot, the right-most point on its right edge.
    close(p99[2]!.cy, plotTop);
    close(p99[2]!.cx, plotRight);
  });

  it('draws a level that never settled hollow', () => {
    assert.deepEqual(
      circles(svg, 'p50').map((c) => c.fill),
      ['#1f77b4', '#1f77b4', '#ffffff'],
    );
    assert.match(svg, />not stable</);
  });

  it('uses µs below a millisecond and copes with no points at all', () => {
    const fast = reportWith([{ level: 1, throughput: 5000, p50Us: 120, p99Us: 480 }]);
    assert.equal(chartScales(fast).unit, 'µs');
    assert.match(latencyChartSvg(fast), />latency \(µs\)</);
    const empty = latencyChartSvg(reportWith([]));
    assertWellFormed(empty);
    assert.equal(circles(empty, 'p50').length, 0);
  });

  it('labels request-rate levels as rates', () => {
    const svgRate = latencyChartSvg(
      reportWith([{ level: 250, throughput: 249, p50Us: 900, p99Us: 1900 }], 'request-rate'),
    );
    assertWellFormed(svgRate);
    assert.match(svgRate, />250\/s</);
    assert.match(svgRate, />request rate 250\/s, JSON, batch 1</);
  });
});

describe('svg writer', () => {
  it('escapes text and attributes', () => {
    assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;');
    assert.equal(text('x < y & z', { x: 1.006 }), '<text x="1.01">x &lt; y &amp; z</text>');
    assert.equal(
      element('g', { id: 'a"b' }, [element('rect', { width: 2 })]),
      '<g id="a&quot;b"><rect width="2"/></g>',
    );
    assertWellFormed(`<svg>${text('<&>')}</svg>`);
  });

  it('picks round tick steps', () => {
    assert.deepEqual(niceTicks(6), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(niceTicks(2752), [0, 500, 1000, 1500, 2000, 2500, 3000]);
    assert.deepEqual(niceTicks(400), [0, 100, 200, 300, 400]);
    assert.deepEqual(niceTicks(1642), [0, 500, 1000, 1500, 2000]);
    assert.deepEqual(niceTicks(0.37), [0, 0.1, 0.2, 0.3, 0.4]);
    assert.deepEqual(niceTicks(0), [0, 1]);
  });
});
