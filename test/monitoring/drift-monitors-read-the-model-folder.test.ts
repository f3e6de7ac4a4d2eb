// DriftMonitors builds a version's monitor from its folder's reference.jsonl and its config; a
// reference file with a mistake is a clear error naming the file, line and reason, reported and
// logged, and the version has no monitor (it serves as before). Reports and metrics follow the
// windows; a reloaded version gets a new monitor.

import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { DriftMonitors } from '../../src/monitoring/drift-monitors.js';
import type { ModelConfigInput } from '../../src/config/model-config-schema.js';
import { normals, resolvedConfig, rowsTensor } from './drift-fixtures.js';
import { seededRandom } from '../../src/util/seeded-random.js';

const IRIS = { inputs: [['input', 'FP32', [4]]], outputs: [['probabilities', 'FP32', [3]]] } satisfies Parameters<
  typeof resolvedConfig
>[2];

function repositoryWith(reference: string | undefined): string {
  const repository = mkdtempSync(path.join(tmpdir(), 'inferd-drift-'));
  mkdirSync(path.join(repository, 'iris'));
  if (reference !== undefined) writeFileSync(path.join(repository, 'iris', 'reference.jsonl'), reference);
  return repository;
}

function monitorsFor(repository: string): { monitors: DriftMonitors; metrics: Metrics; logs: string[] } {
  const logs: string[] = [];
  const sink = { write: (line: string) => logs.push(line) } as unknown as NodeJS.WritableStream;
  const metrics = new Metrics();
  const monitors = new DriftMonitors({
    repository,
    metrics,
    logger: createLogger('info', sink),
    random: seededRandom(9),
    schedule: (run) => run(),
  });
  return { monitors, metrics, logs };
}

function referenceLines(rows: number): string {
  const draw = normals(11);
  return (
    Array.from({ length: rows }, () => JSON.stringify({ input: [draw(), draw(), draw(), draw()] })).join('\n') + '\n'
  );
}

function badReference(text: string, expected: RegExp): void {
  const repository = repositoryWith(text);
  const { monitors, logs } = monitorsFor(repository);
  const config = resolvedConfig(repository, 'iris', IRIS);
  assert.equal(monitors.monitorFor({ name: 'iris', version: 1, config }), undefined);
  const [report] = monitors.report('iris').versions;
  assert.equal(report?.state, 'off');
  const file = path.join(repository, 'iris', 'reference.jsonl');
  assert.ok(report?.reason?.startsWith(file), `the reason names the file: ${report?.reason}`);
  assert.match(report?.reason ?? '', expected);
  assert.ok(
    logs.some((l) => l.includes('drift monitoring off') && l.includes(file)),
    'the reason is logged',
  );
}

describe('a reference file with a mistake', () => {
  it('that is not JSON names the line', () =>
    badReference('{"input": [1, 2, 3, 4]}\n{"input": [1, 2,\n', /line 2: not valid JSON/));
  it('that names an unknown tensor says which ones the model has', () =>
    badReference(
      '{"inputs": [1, 2, 3, 4]}\n',
      /line 1: 'inputs' is not an input or output of the model \(it has 'input', 'probabilities'\)/,
    ));
  it('with a row of the wrong size gives both sizes', () =>
    badReference('{"input": [1, 2, 3, 4]}\n{"input": [1, 2, 3]}\n', /line 2: 'input' has 3 values, expected 4/));
  it('with a value that is not a number names it', () =>
    badReference('{"input": [1, "a", 3, 4]}\n', /line 1: 'input': string is not a number/));
  it('with no rows says so', () => badReference('\n\n', /has no rows/));
});

describe('a version with a reference file', () => {
  it('is monitored, reported and exported, and a reload gets a new monitor', async () => {
    const repository = repositoryWith(referenceLines(1_000));
    const { monitors, metrics } = monitorsFor(repository);
    const config = resolvedConfig(repository, 'iris', IRIS, {
      monitoring: { drift: { window: 100 } },
    } satisfies ModelConfigInput);
    const monitor = monitors.monitorFor({ name: 'iris', version: 1, config });
    assert.ok(monitor !== undefined);
    assert.equal(monitors.monitorFor({ name: 'iris', version: 1, config }), monitor, 'one monitor per version');
    const draw = normals(12);
    monitor.observeInputs([rowsTensor('input', 100, 4, (c) => draw() + (c === 0 ? 1 : 0))], 100);
    const report = monitors.report('iris', 1);
    const v = report.versions[0];
    assert.equal(v?.windows, 1);
    assert.equal(v?.drift, true);
    assert.equal(v?.inputs?.reference.source, 'file');
    assert.equal(v?.inputs?.reference.rows, 1_000);
    assert.equal(
      v?.outputs?.state,
      'collecting_reference',
      'outputs are not in the file: their first rows are the reference',
    );
    assert.deepEqual(
      v?.inputs?.last_window?.features.filter((f) => f.drift).map((f) => f.feature),
      ['input[0]'],
    );
    const text = await metrics.registry.metrics();
    assert.match(text, /inferd_drift_alarm\{model="iris",version="1"\} 1/);
    assert.match(text, /inferd_drift_windows_total\{model="iris",version="1"\} 1/);
    assert.match(
      text,
      /inferd_drift_score\{model="iris",version="1",feature="input:input\[0\]",statistic="ks"\} 0\.\d+/,
    );

    const reloaded = resolvedConfig(repository, 'iris', IRIS, {
      monitoring: { drift: { window: 100 } },
    } satisfies ModelConfigInput);
    const fresh = monitors.monitorFor({ name: 'iris', version: 1, config: reloaded });
    assert.ok(fresh !== undefined && fresh !== monitor);
    assert.equal(monitors.report('iris', 1).versions[0]?.windows, 0);
    assert.doesNotMatch(
      await metrics.registry.metrics(),
      /inferd_drift_score\{/,
      'the replaced monitor’s scores are gone',
    );
  });
});

describe('a version without a reference file', () => {
  it('has no monitor unless its config turns drift on, and then freezes its first rows', () => {
    const repository = repositoryWith(undefined);
    const { monitors } = monitorsFor(repository);
    assert.equal(
      monitors.monitorFor({ name: 'iris', version: 1, config: resolvedConfig(repository, 'iris', IRIS) }),
      undefined,
    );
    assert.match(monitors.report('iris').versions[0]?.reason ?? '', /no reference\.jsonl/);
    const config = resolvedConfig(repository, 'iris', IRIS, {
      monitoring: { drift: { reference: 'first_requests', reference_rows: 200, window: 100 } },
    } satisfies ModelConfigInput);
    const monitor = monitors.monitorFor({ name: 'iris', version: 2, config });
    assert.ok(monitor !== undefined);
    const draw = normals(13);
    monitor.observeInputs([rowsTensor('input', 200, 4, () => draw())], 200);
    assert.equal(monitors.report('iris', 2).versions[0]?.inputs?.state, 'monitoring');
    monitor.observeInputs([rowsTensor('input', 100, 4, () => draw() * 3)], 100);
    assert.equal(monitors.report('iris', 2).versions[0]?.drift, true);
  });

  it('samples a share of rows with sample_rate', () => {
    const repository = repositoryWith(referenceLines(500));
    const { monitors } = monitorsFor(repository);
    const config = resolvedConfig(repository, 'iris', IRIS, {
      monitoring: { drift: { sample_rate: 0.25 } },
    } satisfies ModelConfigInput);
    const monitor = monitors.monitorFor({ name: 'iris', version: 1, config });
    const draw = normals(14);
    monitor?.observeInputs([rowsTensor('input', 4_000, 4, () => draw())], 4_000);
    const observed = monitors.report('iris', 1).versions[0]?.inputs?.rows_observed ?? 0;
    assert.ok(observed > 900 && observed < 1_100, `observed ${observed} of 4,000 rows at 0.25`);
  });
});
