// bench:all knows every benchmark in bench/ and reads each one's JSON into named ratios: small
// made-up results files in each benchmark's shape give the ratios (and goals) that its printed
// table shows. No benchmark runs here.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  BENCHMARKS,
  batchMetrics,
  gpuMetrics,
  grpcMetrics,
  openaiMetrics,
  restOverheadMetrics,
  sqlMetrics,
  structuredMetrics,
} from '../../bench/lib/all-benchmarks.js';
import type { Metric } from '../../bench/lib/all-report.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function find(metrics: readonly Metric[], c: string, metric: string): Metric {
  const m = metrics.find((x) => x.case === c && x.metric === metric);
  assert.ok(m, `no ${c} / ${metric} in ${JSON.stringify(metrics.map((x) => `${x.case} / ${x.metric}`))}`);
  return m;
}

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}

describe('the benchmark list', () => {
  it('holds every benchmark script in bench/ and every bench:* npm script', () => {
    const scripts = readdirSync(path.join(ROOT, 'bench'))
      .filter((f) => f.endsWith('.ts') && f !== 'all.ts')
      .concat(['rollout/rollout.ts']);
    const listed = new Set(BENCHMARKS.map((b) => b.script));
    for (const s of scripts) assert.ok(listed.has(s), `bench/${s} is not in bench/lib/all-benchmarks.ts`);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const [name, command] of Object.entries(pkg.scripts)) {
      const script = /bench\/(\S+\.ts)/.exec(command)?.[1];
      if (script === undefined || script === 'all.ts') continue;
      assert.ok(listed.has(script), `npm script ${name} runs bench/${script}, which bench:all does not know`);
    }
  });
  it('gives every benchmark a distinct name and every skipped one its reason', () => {
    assert.equal(new Set(BENCHMARKS.map((b) => b.name)).size, BENCHMARKS.length);
    const skipped = BENCHMARKS.filter((b) => b.skipReason !== undefined).map((b) => b.name);
    assert.deepEqual(skipped.sort(), ['density', 'rollout', 'soak']);
  });
});

describe('reading results files', () => {
  it('gRPC: unary against REST (goal ≥ 1.0), against the bare server, and the stream', () => {
    const row = (p: string, concurrency: number, throughput: number) => ({
      model: 'mlp',
      path: p,
      concurrency,
      throughput,
    });
    const metrics = grpcMetrics({
      results: [
        row('rest-binary', 1, 2000),
        row('grpc-unary', 1, 1500),
        row('grpc-bare', 1, 3000),
        row('rest-binary', 64, 4000),
        row('grpc-unary', 64, 4400),
        row('grpc-stream', 64, 5500),
        row('grpc-unary-grpc-js', 64, 2200),
        row('lean-unary', 64, 6000),
      ],
    });
    const c1 = find(metrics, 'mlp unary c1', 'gRPC ÷ REST inf/s');
    close(c1.value, 0.75);
    assert.deepEqual(c1.goal, { op: '>=', value: 1 });
    assert.equal(c1.better, 'higher');
    close(find(metrics, 'mlp unary c1', 'gRPC ÷ bare grpc-js inf/s').value, 0.5);
    close(find(metrics, 'mlp unary c64', 'gRPC ÷ REST inf/s').value, 1.1);
    close(find(metrics, 'mlp stream c64', 'stream ÷ unary inf/s').value, 1.25);
    close(find(metrics, 'mlp unary c64', 'http2 ÷ grpc-js transport inf/s').value, 2);
    close(find(metrics, 'mlp unary c64', 'lean client: gRPC ÷ REST inf/s').value, 1.5);
    assert.equal(metrics.length, 6);
  });

  it('gRPC: several rounds give the median of the ratios taken within each round', () => {
    const row = (p: string, round: number, throughput: number) => ({
      model: 'simple',
      path: p,
      concurrency: 1,
      round,
      throughput,
    });
    const metrics = grpcMetrics({
      results: [
        row('rest-binary', 1, 1000),
        row('grpc-unary', 1, 1200),
        row('rest-binary', 2, 500),
        row('grpc-unary', 2, 400),
        row('rest-binary', 3, 2000),
        row('grpc-unary', 3, 2200),
      ],
    });
    // Within-round ratios 1.2, 0.8, 1.1: the median is 1.1 (the ratio of medians would be 1.2).
    close(find(metrics, 'simple unary c1', 'gRPC ÷ REST inf/s').value, 1.1);
  });

  it('GPU: each GPU provider against the CPU of the same run; none when no provider opened', () => {
    const row = (provider: string, path: string, vsCpu: number) => ({ model: 'mlp', batch: 64, provider, path, vsCpu });
    const rows = [row('cpu', 'raw', 1), row('webgpu', 'raw', 2.5), row('cuda', 'rest', 4)];
    const metrics = gpuMetrics({ softwareVulkan: false, measured: true, rows });
    assert.equal(metrics.length, 2);
    close(find(metrics, 'mlp b64 raw webgpu', 'GPU ÷ CPU rows/s').value, 2.5);
    close(find(metrics, 'mlp b64 rest cuda', 'GPU ÷ CPU rows/s').value, 4);
    const lavapipe = gpuMetrics({ softwareVulkan: true, rows });
    close(find(lavapipe, 'mlp b64 raw webgpu (lavapipe)', 'GPU ÷ CPU rows/s').value, 2.5);
    assert.deepEqual(gpuMetrics({ measured: false, reason: 'no GPU provider opened here', rows: [] }), []);
  });

  it('REST overhead: server overhead in µs against the 50 µs goal, lower is better', () => {
    const metrics = restOverheadMetrics({
      models: [
        {
          model: 'simple',
          cases: [
            { path: 'raw', p50Us: 10 },
            { path: 'binary', p50Us: 400, server: { overheadUs: 180 } },
            { path: 'binary-inline', p50Us: 300, server: { overheadUs: 42 } },
          ],
        },
      ],
    });
    const worker = find(metrics, 'simple binary', 'server overhead µs');
    assert.equal(worker.value, 180);
    assert.equal(worker.better, 'lower');
    assert.deepEqual(worker.goal, { op: '<=', value: 50 });
    close(find(metrics, 'simple binary-inline', 'p50 ÷ raw').value, 30);
  });

  it('SQL: each query against the raw loop in large batches (goal ≥ 0.8), not the 64-row one', () => {
    const metrics = sqlMetrics({
      rawBatch: 2048,
      results: [
        { label: "SELECT predict('mlp', features): rows to JS (engine.query)", rowsPerSecond: 40_000 },
        { label: "COPY (SELECT id, predict('mlp', features)) TO parquet", rowsPerSecond: 90_000 },
        { label: "SELECT sum(list_sum(predict('mlp', features)))", rowsPerSecond: 60_000 },
        { label: "SELECT sum(list_sum(predict('mlp', features))) FROM an in-memory table", rowsPerSecond: 70_000 },
        { label: 'raw session.run, 2048-row batches', rowsPerSecond: 100_000 },
        { label: 'raw session.run, 64-row batches', rowsPerSecond: 50_000 },
      ],
    });
    assert.equal(metrics.length, 4);
    close(find(metrics, 'sum of predict', 'rows/s ÷ raw').value, 0.6);
    close(find(metrics, 'sum of predict, in-memory table', 'rows/s ÷ raw').value, 0.7);
    close(find(metrics, 'predict rows to JS', 'rows/s ÷ raw').value, 0.4);
    const copy = find(metrics, 'COPY to Parquet', 'rows/s ÷ raw');
    close(copy.value, 0.9);
    assert.deepEqual(copy.goal, { op: '>=', value: 0.8 });
  });

  it('OpenAI: HTTP against the engine in process per concurrency (goal ≥ 0.9)', () => {
    const metrics = openaiMetrics({
      results: [
        { concurrency: 1, path: 'engine', tokensPerSecond: 1000 },
        { concurrency: 1, path: 'http', tokensPerSecond: 700 },
        { concurrency: 8, path: 'http', tokensPerSecond: 2000 },
        { concurrency: 8, path: 'engine', tokensPerSecond: 2500 },
      ],
    });
    close(find(metrics, 'c1', 'HTTP ÷ engine tok/s').value, 0.7);
    close(find(metrics, 'c8', 'HTTP ÷ engine tok/s').value, 0.8);
    assert.deepEqual(find(metrics, 'c8', 'HTTP ÷ engine tok/s').goal, { op: '>=', value: 0.9 });
  });

  it('OpenAI: the median per-round ratios, streamed and whole, tok/s and tok/CPU-s', () => {
    const metrics = openaiMetrics({
      results: [{ concurrency: 1, mode: 'stream', path: 'engine', tokensPerSecond: 1000 }],
      ratios: [
        { concurrency: 1, mode: 'stream', wallRatio: 0.92, cpuRatio: 0.88 },
        { concurrency: 1, mode: 'whole', wallRatio: 0.97, cpuRatio: 0.95 },
      ],
    });
    assert.equal(find(metrics, 'c1', 'HTTP ÷ engine tok/s').value, 0.92);
    assert.equal(find(metrics, 'c1', 'HTTP ÷ engine tok/CPU-s').value, 0.88);
    assert.equal(find(metrics, 'c1 whole', 'HTTP ÷ engine tok/s').value, 0.97);
    assert.deepEqual(find(metrics, 'c1 whole', 'HTTP ÷ engine tok/s').goal, { op: '>=', value: 0.9 });
    assert.equal(find(metrics, 'c1 whole', 'HTTP ÷ engine tok/CPU-s').goal, undefined);
    assert.equal(metrics.length, 4);
  });

  it('structured output: JSON against free text, wall and CPU time (goal ≥ 0.9)', () => {
    const metrics = structuredMetrics({ results: [{ concurrency: 8, wallRatio: 0.93, cpuRatio: 0.88 }] });
    assert.equal(find(metrics, 'c8', 'JSON ÷ free tok/s').value, 0.93);
    assert.equal(find(metrics, 'c8', 'JSON ÷ free tok/CPU-s').value, 0.88);
    assert.ok(metrics.every((m) => m.goal?.value === 0.9));
  });

  it('batch files: the limit ratio per model, goal ≥ 0.9 where the model dominates, and ratios added later', () => {
    const metrics = batchMetrics({
      models: {
        mlp: { ratio: 0.36, batchRun: { rowsPerSecond: 1 } },
        compute_mlp: { ratio: 0.93 },
        jsonl: { ratio: 0.5, vsNaiveRatio: 1.1 },
      },
    });
    assert.equal(find(metrics, 'mlp', 'rows/s ÷ raw limit').goal, undefined);
    assert.deepEqual(find(metrics, 'compute_mlp', 'rows/s ÷ raw limit').goal, { op: '>=', value: 0.9 });
    const naive = find(metrics, 'jsonl', 'vsNaiveRatio');
    assert.equal(naive.value, 1.1);
    assert.deepEqual(naive.goal, { op: '>=', value: 1 });
  });

  it('batch files: a ratio recorded outside the models, such as a JSONL run against the naive script', () => {
    const metrics = batchMetrics({
      models: { mlp: { ratio: 0.4 } },
      jsonl: { mlp: { rowsPerSecond: 60_000, naiveRowsPerSecond: 50_000, overNaiveRatio: 1.2 } },
    });
    const naive = find(metrics, 'jsonl.mlp', 'overNaiveRatio');
    assert.equal(naive.value, 1.2);
    assert.deepEqual(naive.goal, { op: '>=', value: 1 });
    assert.equal(metrics.length, 2);
  });

  it('a file without the expected fields gives no figures rather than wrong ones', () => {
    for (const b of BENCHMARKS) {
      const metrics = b.extract({});
      assert.ok(
        metrics.every((m) => !Number.isFinite(m.value)),
        `${b.name} made finite figures from an empty file: ${JSON.stringify(metrics)}`,
      );
    }
  });
});
