// What experiments and monitoring cost on the request path: the example Iris classifier over
// keep-alive HTTP/1.1, one `inferd serve` process per configuration, as a user starts it:
//   (a) plain: no monitoring at all (--feedback-max-predictions 0), called by its model name;
//   (b) predictions kept for delayed labels (the default);
//   (c) (b) + drift monitoring (a reference.jsonl in the model folder, every row observed);
//   (d) (c) called through a 50/50 experiment whose two variants are that model (routing, counts);
//   (e) (c) with a shadow copy of every request (at most 2 in flight, the rest shed);
// and, in this process, the cost of each piece per request (routing, variant counts, drift
// observe, prediction record). Rounds rotate the cases so drift of a shared machine spreads.
// Run: npm run bench:experiments (or node --import tsx bench/experiment-overhead.ts --help).

import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { routingPoint, pickByWeight } from '../src/experiments/variant-picker.js';
import { VariantStats } from '../src/experiments/variant-stats.js';
import { DriftMonitors } from '../src/monitoring/drift-monitors.js';
import { Predictions } from '../src/monitoring/predictions.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { loadIris } from '../tools/train/iris-data.js';
import { KServeClient } from './lib/kserve-client.js';
import { percentile } from './lib/latency-stats.js';
import { startInferd, type InferdProcess } from './lib/inferd-process.js';
import { describeMachine } from './lib/machine.js';
import { timeLoop } from './lib/time-loop.js';

const nsPerCall = (op: () => void, ms: number): number => timeLoop(op, ms).nsPerOp;

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';

const USAGE = `usage: node --import tsx bench/experiment-overhead.ts [options]
  --rounds <n>        measurement rounds; each measures every case once, in rotated order (default 8)
  --window-ms <n>     one case's window in a round (default 1500)
  --warmup-ms <n>     load before each window, not measured (default 300)
  --concurrency <n>   requests in flight (default 4)
  --micro-ms <n>      time per in-process piece (default 400)
  --out <file>        JSON results (default bench/results/experiment-overhead.json)`;

type CaseName = 'plain' | 'predictions' | 'drift' | 'experiment' | 'shadow';
const LABELS: Record<CaseName, string> = {
  plain: '(a) no monitoring',
  predictions: '(b) predictions kept (default)',
  drift: '(c) (b) + drift',
  experiment: '(d) (c) through a 50/50 experiment',
  shadow: '(e) (c) with every request shadowed',
};

interface Case {
  readonly name: CaseName;
  readonly server: InferdProcess;
  readonly model: string;
}

interface Samples {
  latenciesNs: number[];
  count: number;
  seconds: number;
}

const iris = loadIris();
/** One body per Iris row, sent in turn: a stream drawn from the reference, so drift raises no alarm. */
const BODIES = iris.map((s) =>
  Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: s.features }] })),
);

async function window(c: Case, concurrency: number, warmupMs: number, windowMs: number, into: Samples): Promise<void> {
  const clients = Array.from({ length: concurrency }, () => new KServeClient(HOST, c.server.port));
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  const taken: number[] = [];
  const loops = clients.map(async (client, i) => {
    let n = 0;
    while (phase !== 'stop') {
      const reply = await client.request(
        'POST',
        `/v2/models/${c.model}/infer`,
        { 'content-type': 'application/json', 'x-routing-key': `user-${i}-${n++}` },
        BODIES[(i * 37 + n) % BODIES.length],
      );
      if (reply.status !== 200)
        throw new Error(`${LABELS[c.name]}: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
      if (phase === 'measure') taken.push(reply.latencyNs);
    }
  });
  const running = Promise.all(loops);
  await sleep(warmupMs);
  phase = 'measure';
  const start = process.hrtime.bigint();
  await sleep(windowMs);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const count = taken.length;
  phase = 'stop';
  await running;
  for (const c2 of clients) c2.close();
  for (let i = 0; i < count; i++) into.latenciesNs.push(taken[i] ?? 0);
  into.count += count;
  into.seconds += seconds;
}

/** A repository: two copies of Iris with a reference sample, one without, and a 50/50 experiment. */
async function makeRepository(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-exp-'));
  const src = path.join(REPO_ROOT, 'examples', 'models', 'iris');
  const reference = iris.map((s) => JSON.stringify({ input: s.features })).join('\n');
  for (const name of ['iris_free', 'iris_plain', 'iris_drift'])
    await cp(src, path.join(dir, name), { recursive: true });
  await writeFile(path.join(dir, 'iris_drift', 'reference.jsonl'), reference);
  await mkdir(path.join(dir, 'ab'));
  await writeFile(
    path.join(dir, 'ab', 'experiment.yaml'),
    // Both variants are the one model of case (c), so (d) differs from (c) by the routing only.
    'variants:\n  - { name: a, model: iris_drift, weight: 1 }\n  - { name: b, model: iris_drift, version: 1, weight: 1 }\n',
  );
  await mkdir(path.join(dir, 'shadowed'));
  await writeFile(
    path.join(dir, 'shadowed', 'experiment.yaml'),
    // A shadow is a second inference of each copied request, on 2 cores competing with the primary.
    'variants:\n  - { model: iris_drift, weight: 1 }\nshadows:\n  - { model: iris_plain, fraction: 1 }\nmax_shadow_in_flight: 2\n',
  );
  return dir;
}

/** Each piece of the request path's monitoring, per request of one Iris row, in this process. */
function microbenchmarks(repository: string, ms: number): Record<string, number> {
  const metrics = new Metrics();
  const logger = createLogger('silent');
  const out: Record<string, number> = {};
  const weights = [1, 1];
  let k = 0;
  out['route (hash the key, pick by weight)'] = nsPerCall(() => {
    pickByWeight(weights, routingPoint('ab', `user-${k++}`));
  }, ms);
  const stats = new VariantStats();
  out['variant counts and latency'] = nsPerCall(() => stats.record(true, 0.0001), ms);
  const input: Tensor = {
    name: 'input',
    datatype: 'FP32',
    shape: [1, 4],
    data: Float32Array.from([5.1, 3.5, 1.4, 0.2]),
  };
  const output: Tensor = {
    name: 'probabilities',
    datatype: 'FP32',
    shape: [1, 3],
    data: Float32Array.from([0.9, 0.08, 0.02]),
  };
  const drift = new DriftMonitors({ repository, metrics, logger, schedule: (run) => run() });
  // The fields drift reads of a loaded version's config (the rest of a resolved config is not needed).
  const mv = {
    name: 'iris_drift',
    version: 1,
    config: {
      name: 'iris_drift',
      maxBatchSize: 64,
      inputs: [{ name: 'input', datatype: 'FP32', dims: [4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', dims: [3] }],
    },
  } as unknown as Parameters<DriftMonitors['monitorFor']>[0];
  const monitor = drift.monitorFor(mv);
  if (monitor === undefined) throw new Error('drift is off for the benchmark model');
  out['drift: observe inputs and outputs (window tests included)'] = nsPerCall(() => {
    monitor.observeInputs([input], 1);
    monitor.observeOutputs([output], 1);
  }, ms);
  const predictions = new Predictions({ maxEntries: 100_000, maxAgeMs: 3_600_000, metrics });
  let id = 0;
  const labels = new Map([['probabilities', ['setosa', 'versicolor', 'virginica']]]);
  out['prediction kept for a label'] = nsPerCall(() => {
    predictions.record([`r-${id++}`], { model: 'iris_drift', version: 1 }, [output], 1, labels);
  }, ms);
  return out;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      'window-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'micro-ms': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const num = (v: string | undefined, name: string, d: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${v}'`);
    return n;
  };
  const rounds = num(values.rounds, 'rounds', 8);
  const windowMs = num(values['window-ms'], 'window-ms', 1500);
  const warmupMs = num(values['warmup-ms'], 'warmup-ms', 300);
  const concurrency = num(values.concurrency, 'concurrency', 4);
  const microMs = num(values['micro-ms'], 'micro-ms', 400);
  const out = values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'experiment-overhead.json');

  const repository = await makeRepository();
  const cpuCores = os.availableParallelism();
  const start = (models: string[], args: string[]) =>
    startInferd({
      repoRoot: REPO_ROOT,
      modelRepository: repository,
      models,
      nodeArgs: [],
      cpuCores,
      readyTimeoutMs: 60_000,
      serveArgs: ['--grpc-port', 'off', ...args],
    });
  const bare = await start(['iris_free'], ['--feedback-max-predictions', '0']);
  const full = await start(['iris_plain', 'iris_drift'], []);
  const cases: Case[] = [
    { name: 'plain', server: bare, model: 'iris_free' },
    { name: 'predictions', server: full, model: 'iris_plain' },
    { name: 'drift', server: full, model: 'iris_drift' },
    { name: 'experiment', server: full, model: 'ab' },
    { name: 'shadow', server: full, model: 'shadowed' },
  ];
  const samples = new Map<CaseName, Samples>(cases.map((c) => [c.name, { latenciesNs: [], count: 0, seconds: 0 }]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[(i + r) % cases.length];
        if (c === undefined) continue;
        const s = samples.get(c.name);
        if (s !== undefined) await window(c, concurrency, warmupMs, windowMs, s);
      }
      process.stderr.write(`round ${r + 1}/${rounds} done\n`);
    }
  } finally {
    await Promise.allSettled([bare.stop(), full.stop()]);
  }
  const micro = microbenchmarks(repository, microMs);
  await rm(repository, { recursive: true, force: true });

  const base = samples.get('plain');
  const baseThroughput = base === undefined ? 1 : base.count / base.seconds;
  const results = cases.map((c) => {
    const s = samples.get(c.name) ?? { latenciesNs: [], count: 0, seconds: 1 };
    const sorted = Float64Array.from(s.latenciesNs).sort();
    const throughput = s.count / s.seconds;
    return {
      case: c.name,
      label: LABELS[c.name],
      requests: s.count,
      throughput,
      p50Us: percentile(sorted, 0.5) / 1000,
      p99Us: percentile(sorted, 0.99) / 1000,
      throughputRatio: throughput / baseThroughput,
      perRequestUs: (1 / throughput - 1 / baseThroughput) * 1e6,
    };
  });
  console.log(`\nIris over REST, concurrency ${concurrency}, ${rounds} rounds of ${windowMs} ms per case\n`);
  console.log(
    table([
      ['case', 'req/s', 'vs (a)', 'p50 µs', 'p99 µs', 'extra µs/req'],
      ...results.map((r) => [
        r.label,
        r.throughput.toFixed(0),
        `${r.throughputRatio.toFixed(3)}×`,
        r.p50Us.toFixed(0),
        r.p99Us.toFixed(0),
        r.case === 'plain' ? '—' : r.perRequestUs.toFixed(1),
      ]),
    ]),
  );
  console.log('\nIn process, per request of one row:\n');
  console.log(table([['piece', 'µs'], ...Object.entries(micro).map(([k, v]) => [k, (v / 1000).toFixed(2)])]));
  await writeFile(
    out,
    `${JSON.stringify({ machine: describeMachine(REPO_ROOT), concurrency, rounds, windowMs, results, microNs: micro }, null, 2)}\n`,
  );
  console.log(`\nresults: ${path.relative(REPO_ROOT, out)}`);
}

await main();
