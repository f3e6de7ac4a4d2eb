// The request-path cost of drift monitoring: microseconds per observed row for a 4-feature input
// (copied element by element) and a 384-number embedding (summarised to 7 features as it is
// copied), with the window tests (run when a window fills) timed apart. Prints a table and writes
// bench/results/drift-overhead.json.
//
//   npm run bench:drift

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VersionDriftMonitor } from '../src/monitoring/drift-monitor.js';
import type { ReferenceSample } from '../src/monitoring/drift-reference-file.js';
import { seededRandom } from '../src/util/seeded-random.js';

const WINDOW = 500;
const ROWS = 200_000;
const BATCH = 8;

function measure(rowSize: number): { observeUs: number; testMs: number; features: number } {
  const random = seededRandom(rowSize);
  const values = Float64Array.from({ length: 5_000 * rowSize }, () => random());
  const sample: ReferenceSample = {
    rows: 5_000,
    fileRows: 5_000,
    tensors: [{ name: 'x', rowSize, integral: false, values }],
  };
  // The tests run where the window fills, timed on their own and taken out of the observe time.
  let testNs = 0;
  let tests = 0;
  const timed = (run: () => void): void => {
    const t0 = process.hrtime.bigint();
    run();
    testNs += Number(process.hrtime.bigint() - t0);
    tests++;
  };
  const monitor = new VersionDriftMonitor({
    layouts: [{ name: 'x', side: 'input', rowSize, integral: false }],
    sample,
    settings: { window: WINDOW, alpha: 0.01, sampleRate: 1, referenceRows: 5_000 },
    schedule: timed,
  });
  const data = Float32Array.from({ length: BATCH * rowSize }, () => random());
  const tensor = { name: 'x', datatype: 'FP32' as const, shape: [BATCH, rowSize], data };
  for (let i = 0; i < 2_000; i++) monitor.observeInputs([tensor], BATCH); // warm-up
  testNs = 0;
  tests = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROWS / BATCH; i++) monitor.observeInputs([tensor], BATCH);
  const observeNs = Number(process.hrtime.bigint() - start) - testNs;
  return {
    observeUs: observeNs / 1_000 / ROWS,
    testMs: testNs / 1e6 / Math.max(1, tests),
    features: monitor.inputs.featureNames.length,
  };
}

const results = { tabular: measure(4), embedding: measure(384) };
const rows = [
  ['input', 'features', 'µs per row observed', `ms per window test (${WINDOW} rows)`],
  [
    '4 numbers',
    String(results.tabular.features),
    results.tabular.observeUs.toFixed(3),
    results.tabular.testMs.toFixed(2),
  ],
  [
    '384 numbers',
    String(results.embedding.features),
    results.embedding.observeUs.toFixed(3),
    results.embedding.testMs.toFixed(2),
  ],
];
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
console.log(`embedding row / tabular row: ${(results.embedding.observeUs / results.tabular.observeUs).toFixed(1)}×`);
const out = path.join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, 'drift-overhead.json'),
  JSON.stringify({ window: WINDOW, rows: ROWS, batch: BATCH, results }, null, 2),
);
