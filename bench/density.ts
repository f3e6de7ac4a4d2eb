// Density: many models served within a memory budget. Generates 50 MLPs of ~20 MB each, serves
// them with --model-memory-budget 200MB and sends a Zipf-distributed request mix, then reports the
// hit rate, p50/p99 latency of hits and of cold loads (first loads, which write the optimised-model
// cache, against reloads from it), evictions per second and failed requests. The budget runs twice,
// with glibc's malloc as it comes and with the setting the docs recommend
// (MALLOC_MMAP_THRESHOLD_, src/repository/malloc-settings.ts), so the resident memory of both is
// measured on the same machine state. Compared in the same run with the same repository served
// without a budget (every model loaded): the memory that takes.
// Run: npm run bench:density (node --import tsx bench/density.ts --help).

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GraphBuilder } from '../tools/onnx/onnx-builder.js';
import { Prng } from '../tools/train/prng.js';
import { startInferd, type InferdProcess } from './lib/inferd-process.js';
import { KServeClient } from './lib/kserve-client.js';
import { percentileOfMs } from './lib/latency-stats.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';
import { RECOMMENDED_MALLOC_SETTING } from '../src/repository/malloc-settings.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MiB = 1024 * 1024;
const INPUTS = 512;
const HIDDEN = 4096;
const OUTPUTS = 768;

const USAGE = `usage: node --import tsx bench/density.ts [options]
  --models <n>      models in the repository (default 50)
  --budget <MiB>    --model-memory-budget in MiB (default 200)
  --requests <n>    requests in the Zipf mix (default 600)
  --zipf-s <s>      Zipf exponent: P(rank k) ~ 1/k^s (default 1.0)
  --baseline <n>    requests sent to the server with every model loaded (default 100)
  --malloc <which>  budget runs: both, default (glibc as it comes) or tuned (${RECOMMENDED_MALLOC_SETTING}) (default both)
  --out <file>      JSON results (default bench/results/density.json)`;

/** One MLP of 5.2M fp32 weights (~20 MB): input [-1, 512] → 4096 ReLU → 768. Weights differ per model. */
function mlpBytes(base: Float32Array, index: number): Uint8Array {
  const w1 = base.subarray(0, INPUTS * HIDDEN);
  const w2 = Float32Array.from(base.subarray(INPUTS * HIDDEN), (v) => v * (1 + index / 64));
  return new GraphBuilder(`m${index}`)
    .input('input', 'FP32', [-1, INPUTS])
    .initializer('W1', 'FP32', [INPUTS, HIDDEN], w1)
    .initializer('W2', 'FP32', [HIDDEN, OUTPUTS], w2)
    .node('MatMul', ['input', 'W1'], ['h_mm'])
    .node('Relu', ['h_mm'], ['h'])
    .node('MatMul', ['h', 'W2'], ['output'])
    .output('output', 'FP32', [-1, OUTPUTS])
    .toBytes({ opset: 17, irVersion: 8 });
}

async function writeRepository(dir: string, models: number): Promise<{ names: string[]; fileBytes: number }> {
  const prng = new Prng(0xde5);
  const base = Float32Array.from({ length: INPUTS * HIDDEN + HIDDEN * OUTPUTS }, () => prng.uniform(-0.05, 0.05));
  const names: string[] = [];
  let fileBytes = 0;
  for (let i = 0; i < models; i++) {
    const name = `m${String(i).padStart(2, '0')}`;
    const bytes = mlpBytes(base, i);
    await mkdir(path.join(dir, name, '1'), { recursive: true });
    await writeFile(path.join(dir, name, '1', 'model.onnx'), bytes);
    names.push(name);
    fileBytes = bytes.length;
  }
  return { names, fileBytes };
}

/** Model ranks drawn from a Zipf distribution (rank 0 the most requested), seeded. */
function zipfSequence(models: number, count: number, s: number, seed: number): number[] {
  const weights = Array.from({ length: models }, (_, k) => 1 / (k + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  const prng = new Prng(seed);
  return Array.from({ length: count }, () => {
    const u = prng.next();
    const k = cdf.findIndex((c) => u <= c);
    return k < 0 ? models - 1 : k;
  });
}

/** Resident and peak resident bytes of a process, from /proc. */
async function memoryOf(pid: number | undefined): Promise<{ rss: number; peak: number }> {
  if (pid === undefined) return { rss: NaN, peak: NaN };
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Sum of a metric's samples over every label set, from Prometheus text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) sum += Number(m[2]);
  }
  return sum;
}

/** The server's environment: this one's without malloc settings, plus `setting` (NAME=value) if given. */
function serverEnv(setting: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('MALLOC_') && k !== 'GLIBC_TUNABLES' && k !== 'LD_PRELOAD') env[k] = v;
  if (setting !== undefined) {
    const eq = setting.indexOf('=');
    env[setting.slice(0, eq)] = setting.slice(eq + 1);
  }
  return env;
}

const BODY = Buffer.from(
  JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, INPUTS], data: Array.from({ length: INPUTS }, () => 0.5) }],
  }),
);

interface RunSamples {
  hits: number[];
  firstLoads: number[];
  reloads: number[];
  failures: number;
  seconds: number;
}

/** Sends the sequence one request at a time; each is classed by the model's readiness just before it. */
async function runMix(
  server: InferdProcess,
  names: readonly string[],
  sequence: readonly number[],
): Promise<RunSamples> {
  const client = new KServeClient(server.host, server.port);
  const seen = new Set<string>();
  const out: RunSamples = { hits: [], firstLoads: [], reloads: [], failures: 0, seconds: 0 };
  const started = performance.now();
  try {
    for (const k of sequence) {
      const name = names[k] ?? '';
      const loaded = (await client.request('GET', `/v2/models/${name}/ready`)).status === 200;
      const t0 = performance.now();
      const reply = await client.request(
        'POST',
        `/v2/models/${name}/infer`,
        { 'content-type': 'application/json' },
        BODY,
      );
      const ms = performance.now() - t0;
      if (reply.status !== 200) {
        out.failures++;
        process.stderr.write(`${name}: HTTP ${reply.status} ${reply.body.toString('utf8')}\n`);
        continue;
      }
      if (loaded) out.hits.push(ms);
      else if (seen.has(name)) out.reloads.push(ms);
      else out.firstLoads.push(ms);
      seen.add(name);
    }
  } finally {
    out.seconds = (performance.now() - started) / 1000;
    client.close();
  }
  return out;
}

async function scrape(server: InferdProcess): Promise<string> {
  const client = new KServeClient(server.host, server.port);
  try {
    return (await client.request('GET', '/metrics')).body.toString('utf8');
  } finally {
    client.close();
  }
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');
const mib = (v: number): string => (Number.isFinite(v) ? (v / MiB).toFixed(0) : '-');

/** One run of the Zipf mix under the budget, with one malloc setting (undefined: glibc's defaults). */
interface BudgetRun {
  readonly label: string;
  readonly setting: string | undefined;
  readonly mix: RunSamples;
  readonly hitRate: number;
  readonly serverHits: number;
  readonly serverMisses: number;
  readonly loads: number;
  readonly evictions: number;
  readonly residentBytes: number;
  readonly residentModels: number;
  /** Resident bytes once the server is ready, no model loaded yet. */
  readonly startRss: number;
  readonly memory: { rss: number; peak: number };
}

async function runBudget(
  repo: string,
  cacheDir: string,
  budgetBytes: number,
  cores: number,
  names: readonly string[],
  sequence: readonly number[],
  setting: string | undefined,
): Promise<BudgetRun> {
  // Models load on request, idle ones are unloaded least recently used first.
  const server = await startInferd({
    repoRoot: REPO_ROOT,
    modelRepository: repo,
    models: [],
    nodeArgs: [],
    cpuCores: cores,
    readyTimeoutMs: 120_000,
    env: serverEnv(setting),
    serveArgs: [
      '--grpc-port',
      'off',
      '--model-control-mode',
      'none',
      '--model-memory-budget',
      String(budgetBytes),
      '--model-cache-dir',
      cacheDir,
      '--model-load-timeout-secs',
      '120',
    ],
  });
  let mix: RunSamples;
  let metrics: string;
  let startRss: number;
  let memory: { rss: number; peak: number };
  try {
    startRss = (await memoryOf(server.pid)).rss;
    mix = await runMix(server, names, sequence);
    metrics = await scrape(server);
    memory = await memoryOf(server.pid);
  } finally {
    await server.stop();
  }
  const cold = mix.firstLoads.length + mix.reloads.length;
  return {
    label: setting ?? 'glibc defaults',
    setting,
    mix,
    hitRate: mix.hits.length / Math.max(1, mix.hits.length + cold),
    serverHits: metricSum(metrics, 'inferd_model_residency_hits_total'),
    serverMisses: metricSum(metrics, 'inferd_model_residency_misses_total'),
    loads: metricSum(metrics, 'inferd_model_loads_total'),
    evictions: metricSum(metrics, 'inferd_model_evictions_total'),
    residentBytes: metricSum(metrics, 'inferd_model_memory_resident_bytes'),
    residentModels: metricSum(metrics, 'inferd_model_resident_models'),
    startRss,
    memory,
  };
}

const stats = (samples: readonly number[]): { p50: number; p99: number; n: number } => ({
  p50: percentileOfMs(samples, 50),
  p99: percentileOfMs(samples, 99),
  n: samples.length,
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: '50' },
      budget: { type: 'string', default: '200' },
      requests: { type: 'string', default: '600' },
      'zipf-s': { type: 'string', default: '1.0' },
      baseline: { type: 'string', default: '100' },
      malloc: { type: 'string', default: 'both' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'density.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const models = Number(values.models);
  const budgetBytes = Number(values.budget) * MiB;
  const requests = Number(values.requests);
  const zipfS = Number(values['zipf-s']);
  const baselineRequests = Number(values.baseline);
  const settings: (string | undefined)[] =
    values.malloc === 'default'
      ? [undefined]
      : values.malloc === 'tuned'
        ? [RECOMMENDED_MALLOC_SETTING]
        : [undefined, RECOMMENDED_MALLOC_SETTING];
  const machine = describeMachine(REPO_ROOT);
  const cores = Math.min(2, os.availableParallelism());

  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-density-'));
  const repo = path.join(dir, 'models');
  try {
    process.stderr.write(`writing ${models} models of ~20 MB to ${repo}\n`);
    const { names, fileBytes } = await writeRepository(repo, models);
    const sequence = zipfSequence(models, requests, zipfS, 0x21f);

    // 1. The memory budget, once per malloc setting, each with an empty optimised-model cache.
    const runs: BudgetRun[] = [];
    for (const [i, setting] of settings.entries())
      runs.push(
        await runBudget(repo, path.join(dir, `optimized-cache-${i}`), budgetBytes, cores, names, sequence, setting),
      );

    // 2. The same repository without a budget: every model loaded at start.
    const loadStart = performance.now();
    const everything = await startInferd({
      repoRoot: REPO_ROOT,
      modelRepository: repo,
      models: [],
      nodeArgs: [],
      cpuCores: cores,
      readyTimeoutMs: 600_000,
      env: serverEnv(undefined),
      serveArgs: ['--grpc-port', 'off', '--model-control-mode', 'none'],
    });
    const allLoadSeconds = (performance.now() - loadStart) / 1000;
    let baseline: RunSamples;
    let allMemory: { rss: number; peak: number };
    try {
      baseline = await runMix(everything, names, sequence.slice(0, baselineRequests));
      allMemory = await memoryOf(everything.pid);
    } finally {
      await everything.stop();
    }

    const rows: string[][] = [];
    for (const run of runs) {
      const { mix } = run;
      const cold = [...mix.firstLoads, ...mix.reloads];
      const row = (label: string, samples: readonly number[], memory?: { rss: number; peak: number }): string[] => [
        label,
        String(samples.length),
        ms(percentileOfMs(samples, 50)),
        ms(percentileOfMs(samples, 99)),
        memory === undefined ? '' : mib(memory.rss),
        memory === undefined ? '' : mib(memory.peak),
      ];
      rows.push(
        row(`hits (budget ${mib(budgetBytes)} MiB, ${run.label})`, mix.hits, run.memory),
        row('cold loads, all', cold),
        row('cold loads, first (cache written)', mix.firstLoads),
        row('cold loads, reload (from cache)', mix.reloads),
      );
    }
    rows.push([
      `no budget: all ${models} loaded`,
      String(baseline.hits.length),
      ms(percentileOfMs(baseline.hits, 50)),
      ms(percentileOfMs(baseline.hits, 99)),
      mib(allMemory.rss),
      mib(allMemory.peak),
    ]);
    const table = markdownTable(['case', 'requests', 'p50 ms', 'p99 ms', 'server RSS MiB', 'peak RSS MiB'], rows, 1);
    const summary = [
      `${models} models of ${(fileBytes / 1e6).toFixed(1)} MB, budget ${mib(budgetBytes)} MiB, ${requests} requests, Zipf s=${zipfS}, one at a time, ${cores} cores`,
      ...runs.flatMap((run) => [
        `${run.label}: hit rate ${(run.hitRate * 100).toFixed(1)}% (server counters: ${run.serverHits} hits, ${run.serverMisses} misses); ${run.loads} loads, ${run.evictions} evictions in ${run.mix.seconds.toFixed(1)} s = ${(run.evictions / run.mix.seconds).toFixed(2)} evictions/s; failed requests: ${run.mix.failures}`,
        `  RSS at start ${mib(run.startRss)} MiB, at the end ${mib(run.memory.rss)} MiB (start + ${mib(run.memory.rss - run.startRss)}), peak ${mib(run.memory.peak)} MiB; charged at the end: ${run.residentModels} models, ${mib(run.residentBytes)} MiB (${mib(run.residentBytes / Math.max(1, run.residentModels))} MiB each)`,
      ]),
      `no budget: failed requests ${baseline.failures}; loading all ${models} took ${allLoadSeconds.toFixed(1)} s`,
    ];
    process.stdout.write(`${summary.join('\n')}\n\n${table}\n`);
    await mkdir(path.dirname(values.out), { recursive: true });
    await writeFile(
      values.out,
      `${JSON.stringify(
        {
          machine,
          models,
          fileBytes,
          budgetBytes,
          requests,
          zipfS,
          budgetRuns: runs.map((run) => ({
            malloc: run.setting ?? 'glibc defaults',
            hitRate: run.hitRate,
            serverHits: run.serverHits,
            serverMisses: run.serverMisses,
            loads: run.loads,
            evictions: run.evictions,
            evictionsPerSecond: run.evictions / run.mix.seconds,
            failures: run.mix.failures,
            hitsMs: stats(run.mix.hits),
            coldMs: stats([...run.mix.firstLoads, ...run.mix.reloads]),
            firstLoadMs: stats(run.mix.firstLoads),
            reloadMs: stats(run.mix.reloads),
            startRss: run.startRss,
            rss: run.memory,
            residentBytes: run.residentBytes,
            residentModels: run.residentModels,
          })),
          noBudget: {
            rss: allMemory,
            loadSeconds: allLoadSeconds,
            hitsMs: { p50: percentileOfMs(baseline.hits, 50), p99: percentileOfMs(baseline.hits, 99) },
            failures: baseline.failures,
          },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
