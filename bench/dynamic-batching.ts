// What dynamic batching buys under concurrent keep-alive binary REST load, against no batching, raw
// session.run and an empty route. Run: npm run bench:batching (node --import tsx ... --help).

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import {
  createBatchingRepository,
  wideMlpOnnx,
  type BenchModel,
  type BenchModelConfig,
} from './lib/batching-repository.js';
import {
  machineBusySeconds,
  measureLoad,
  runLoad,
  type LoadMeasurement,
  type LoadOptions,
} from './lib/concurrent-load.js';
import { startInferd, type InferdProcess } from './lib/inferd-process.js';
import { binaryRequest, readOutputs, type SampleDatatype, type SampleTensor } from './lib/kserve-bodies.js';
import { KServeClient } from './lib/kserve-client.js';
import { describeMachine } from './lib/machine.js';
import type { TimedOperation } from './lib/measurement-windows.js';
import { markdownTable } from './lib/overhead-report.js';
import { serverSessionOptions } from './lib/raw-session.js';
import {
  modelStats,
  otherCores,
  serverCpuSeconds,
  serverView,
  windowDelta,
  type ServerView,
  type Snapshot,
} from './lib/server-snapshots.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MAX_BATCH = 64;
const WIDE = { width: 2048, layers: 4 } as const;
const GOALS = { throughputRatio: 3, computeFraction: 0.7, ceilingFraction: 0.5 } as const;

const USAGE = `usage: node --import tsx bench/dynamic-batching.ts [options]
  --concurrency <a,b>   connections for the mlp comparison (default 1,8,64)
  --delays <a,b>        max_queue_delay_microseconds values tried on mlp (default 0,500,2000)
  --wide-delays <a,b>   the same for the ${WIDE.width}-wide MLP at the highest concurrency (default 0,2000)
  --adaptive <a,b>      adaptive batching (dynamic_batching.adaptive) with these delay caps, on both
                        MLPs (default 2000; '' for none)
  --server-warmup-ms <n> load on each model once the server is up, before any measurement
                        (default 1000)
  --warmup-ms <n>       load before each measurement (default 500)
  --window-ms <n>       one measurement window (default 2000)
  --windows <n>         accepted windows per measurement, all reported (default 3)
  --max-windows <n>     windows measured at most per measurement (default 6)
  --max-other-cpu <f>   a window in which other processes used more than this many cores is
                        dropped and measured again (default 0.3)
  --tolerance <f>       windows agreeing within this spread are marked stable (default 0.10)
  --cpu-cores <n>       the server's --cpu-cores and the raw session's cores (default: all)
  --out <file>          JSON results (default bench/results/dynamic-batching.json)`;

interface Case {
  readonly label: string;
  readonly model: string | undefined;
  readonly concurrency: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  readonly clientCpuCores: number;
  readonly stable: boolean;
  /** Fewer undisturbed windows than wanted. */
  readonly disturbed: boolean;
  readonly throughputSpread: number;
  readonly p50Spread: number;
  readonly windows: readonly {
    readonly throughput: number;
    readonly p50Us: number;
    readonly p99Us: number;
    readonly accepted: boolean;
  }[];
  readonly server: ServerView;
}

/** One dynamic batching setting: a fixed queue delay, or the adaptive rule capped by the delay. */
interface Variant {
  readonly delayUs: number;
  readonly adaptive: boolean;
}

interface BatchingRow {
  readonly concurrency: number;
  /** Absent: no dynamic batching. */
  readonly variant: Variant | undefined;
  readonly result: Case;
}

interface RawLimit {
  readonly batch: number;
  readonly runsPerSecond: number;
  readonly rowsPerSecond: number;
  readonly p50UsPerRun: number;
  readonly stable: boolean;
  readonly disturbed: boolean;
  readonly throughputSpread: number;
  readonly windows: readonly { readonly rowsPerSecond: number; readonly accepted: boolean }[];
  /** This process's CPU (the session's threads) and everything else's, in cores. */
  readonly cpuCores: number;
  readonly otherCpuCores: number;
}

interface WideRow {
  readonly variant: Variant;
  readonly served: Case;
  readonly limit: RawLimit;
  readonly fraction: number;
}

interface TinyRow {
  readonly result: Case;
  readonly fraction: number | undefined;
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Comma-separated non-negative numbers; an empty string is an empty list. */
function numberList(value: string, name: string): number[] {
  const list = value.trim() === '' ? [] : value.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new Error(`--${name} must be a comma-separated list of non-negative numbers, got '${value}'`);
  }
  return list;
}

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${value}'`);
  return n;
}

/** The served model's name: `<base>`, `<base>_d<delay>` or `<base>_a<cap>` (adaptive). */
function modelName(base: string, v: Variant | undefined): string {
  if (v === undefined) return base;
  return `${base}_${v.adaptive ? 'a' : 'd'}${v.delayUs}`;
}

function variantConfig(v: Variant): BenchModelConfig {
  return { maxBatchSize: MAX_BATCH, queueDelayUs: v.delayUs, adaptive: v.adaptive };
}

// ---------------------------------------------------------------------------------------------
// Inputs: every connection sends its own row, so a batched reply that mixed rows up would show.

const ORT_DATATYPES: Partial<Record<string, SampleDatatype>> = { int32: 'INT32', float32: 'FP32' };

interface InputSpec {
  readonly name: string;
  readonly datatype: SampleDatatype;
  /** The shape of one row (the batch dimension left out). */
  readonly row: readonly number[];
}

/** `rows` rows, row r holding the deterministic values of variant `first + r`. */
function variantTensor(spec: InputSpec, rows: number, first: number): SampleTensor {
  const width = spec.row.reduce((a, b) => a * b, 1);
  const shape = [rows, ...spec.row];
  if (spec.datatype === 'INT32') {
    const data = new Int32Array(rows * width);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < width; j++) data[r * width + j] = ((j + 3 * (first + r)) % 13) - 6;
    }
    return { name: spec.name, datatype: spec.datatype, shape, data };
  }
  const data = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < width; j++) data[r * width + j] = Math.sin(j * 0.37 + (first + r) * 0.91) * 0.5;
  }
  return { name: spec.name, datatype: spec.datatype, shape, data };
}

function feedsOf(tensors: readonly SampleTensor[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of tensors) {
    feeds[t.name] =
      t.datatype === 'INT32'
        ? new ort.Tensor('int32', t.data as Int32Array, t.shape)
        : new ort.Tensor('float32', t.data as Float32Array, t.shape);
  }
  return feeds;
}

/** An onnxruntime session opened exactly as the server opens `model`'s instances. */
interface LocalSession {
  readonly session: ort.InferenceSession;
  readonly options: unknown;
  readonly inputs: readonly InputSpec[];
}

async function openLocalSession(repository: string, model: string, cpuCores: number): Promise<LocalSession> {
  const { modelPath, options } = await serverSessionOptions(repository, model, cpuCores);
  // The same create() options as src/runtime/session-worker.ts (and bench/lib/raw-session.ts).
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: options.interOpNumThreads,
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionProviders: ['cpu'],
    executionMode: 'sequential',
  });
  const inputs = session.inputMetadata.map((m): InputSpec => {
    const datatype = m.isTensor ? ORT_DATATYPES[m.type] : undefined;
    if (!m.isTensor || datatype === undefined) throw new Error(`input '${m.name}' of '${model}' is not int32/float32`);
    return { name: m.name, datatype, row: m.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1)) };
  });
  return { session, options, inputs };
}

/** Per connection: its request body and the outputs session.run gives for its row alone. */
interface Workload {
  readonly bodies: readonly ReturnType<typeof binaryRequest>[];
  readonly expected: readonly Map<string, Float32Array | Int32Array>[];
}

async function workloadFor(local: LocalSession, connections: number): Promise<Workload> {
  const bodies: ReturnType<typeof binaryRequest>[] = [];
  const expected: Map<string, Float32Array | Int32Array>[] = [];
  for (let k = 0; k < connections; k++) {
    const tensors = local.inputs.map((spec) => variantTensor(spec, 1, k));
    bodies.push(binaryRequest(tensors));
    const results = await local.session.run(feedsOf(tensors));
    const out = new Map<string, Float32Array | Int32Array>();
    for (const name of local.session.outputNames) {
      const v = results[name];
      if (v === undefined) throw new Error(`no output '${name}'`);
      out.set(name, v.data as Float32Array | Int32Array);
    }
    expected.push(out);
  }
  return { bodies, expected };
}

/** Largest |got − want| / max(1, |want|) over every output; throws when an output is missing. */
function worstError(label: string, got: Map<string, number[]>, want: Map<string, ArrayLike<number>>): number {
  let worst = 0;
  for (const [name, w] of want) {
    const g = got.get(name);
    if (g?.length !== w.length) throw new Error(`${label}: output '${name}' is missing or has the wrong size`);
    for (let i = 0; i < w.length; i++) {
      const b = w[i] ?? Number.NaN;
      const e = Math.abs((g[i] ?? Number.NaN) - b) / Math.max(1, Math.abs(b));
      worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(worst, e);
    }
  }
  return worst;
}

function toCase(label: string, model: string | undefined, m: LoadMeasurement<Snapshot>): Case {
  return {
    label,
    model,
    concurrency: m.concurrency,
    throughput: m.throughput,
    p50Us: m.p50Us,
    p90Us: m.p90Us,
    p99Us: m.p99Us,
    meanUs: m.meanUs,
    clientCpuCores: m.clientCpuCores,
    stable: m.stable,
    disturbed: m.disturbed,
    throughputSpread: m.throughputSpread,
    p50Spread: m.p50Spread,
    windows: m.windows.map((w) => ({ throughput: w.throughput, p50Us: w.p50Us, p99Us: w.p99Us, accepted: w.accepted })),
    server: serverView(model ?? label, m.accepted),
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

function us(v: number): string {
  if (!Number.isFinite(v)) return '–';
  return v >= 1000 ? v.toFixed(0) : v.toFixed(1);
}

function x(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}×` : '–';
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–';
}

function batchText(s: ServerView): string {
  if (!Number.isFinite(s.meanBatch)) return '–';
  return s.meanBatch.toFixed(2);
}

function topText(s: ServerView): string {
  if (s.topBatches.length === 0) return '–';
  return s.topBatches.map((t) => `${t.size} (${(t.share * 100).toFixed(0)}%)`).join(', ');
}

function stabilityText(c: Case): string {
  const accepted = c.windows.filter((w) => w.accepted).length;
  const note = c.disturbed ? ' (disturbed)' : c.stable ? '' : ' (unstable)';
  return `${accepted}/${c.windows.length}: ${pct(c.throughputSpread)} / ${pct(c.p50Spread)}${note}`;
}

function cores(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : '–';
}

function variantLabel(v: Variant | undefined): string {
  if (v === undefined) return 'no batching';
  return v.adaptive ? `adaptive batching, cap ${v.delayUs} µs` : `batching, delay ${v.delayUs} µs`;
}

/** The setting alone, for the ratio and goal lines. */
function variantShort(v: Variant): string {
  return v.adaptive ? `adaptive, cap ${v.delayUs} µs` : `delay ${v.delayUs} µs`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: 'string', default: '1,8,64' },
      delays: { type: 'string', default: '0,500,2000' },
      'wide-delays': { type: 'string', default: '0,2000' },
      adaptive: { type: 'string', default: '2000' },
      'warmup-ms': { type: 'string' },
      'server-warmup-ms': { type: 'string' },
      'window-ms': { type: 'string' },
      windows: { type: 'string' },
      'max-windows': { type: 'string' },
      'max-other-cpu': { type: 'string' },
      tolerance: { type: 'string' },
      'cpu-cores': { type: 'string' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'dynamic-batching.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const concurrencies = numberList(values.concurrency, 'concurrency').map((n) => Math.max(1, Math.round(n)));
  const top = Math.max(...concurrencies);
  const adaptiveCaps = numberList(values.adaptive, 'adaptive').map((d): Variant => ({
    delayUs: Math.round(d),
    adaptive: true,
  }));
  const fixed = (list: number[]): Variant[] => list.map((d) => ({ delayUs: Math.round(d), adaptive: false }));
  const variants = [...fixed(numberList(values.delays, 'delays')), ...adaptiveCaps];
  const wideVariants = [...fixed(numberList(values['wide-delays'], 'wide-delays')), ...adaptiveCaps];
  if (variants.length === 0 || wideVariants.length === 0) throw new Error('no batching setting to measure');
  const windows = Math.max(1, Math.round(positive(values.windows, 'windows', 3)));
  const load: LoadOptions = {
    warmupMs: positive(values['warmup-ms'], 'warmup-ms', 500),
    windowMs: positive(values['window-ms'], 'window-ms', 2000),
    windows,
    maxWindows: Math.max(windows, Math.round(positive(values['max-windows'], 'max-windows', 6))),
    tolerance: positive(values.tolerance, 'tolerance', 0.1),
  };
  const serverWarmupMs = positive(values['server-warmup-ms'], 'server-warmup-ms', 1000);
  const maxOtherCpu = positive(values['max-other-cpu'], 'max-other-cpu', 0.3);
  /** A window counts unless other processes used more than --max-other-cpu cores during it. */
  const undisturbed = (window: { clientCpuCores: number }, before: Snapshot, after: Snapshot): boolean =>
    !(otherCores(windowDelta('', before, after, window.clientCpuCores)) > maxOtherCpu);
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench:batching`, which builds)');
  }
  const machine = describeMachine(REPO_ROOT);
  const cpuCores = Math.round(positive(values['cpu-cores'], 'cpu-cores', machine.cores));
  const loadBefore = os.loadavg();
  // The 1-minute load average every 5 s through the run (this run's own processes included).
  const loadSamples: number[] = [];
  const loadTimer = setInterval(() => loadSamples.push(os.loadavg()[0] ?? Number.NaN), 5000);
  loadTimer.unref();
  const started = Date.now();
  progress(`load average before: ${loadBefore.map((l) => l.toFixed(2)).join(', ')}`);

  // The served models: mlp without and with batching, the wide MLP, and the tiny `simple`.
  const examples = path.join(REPO_ROOT, 'examples', 'models');
  progress(`building the ${WIDE.width}-wide, ${WIDE.layers}-layer MLP`);
  const wideBytes = wideMlpOnnx(WIDE.width, WIDE.layers);
  const tinyModels: { name: string; label: string; config: BenchModelConfig }[] = [
    { name: 'simple', label: 'simple, worker thread', config: { maxBatchSize: MAX_BATCH } },
    {
      name: 'simple_inline',
      label: 'simple, inline execution',
      config: { maxBatchSize: MAX_BATCH, inlineExecution: true },
    },
    {
      name: 'simple_d0',
      label: 'simple, worker thread, batching delay 0 µs',
      config: variantConfig({ delayUs: 0, adaptive: false }),
    },
  ];
  const models: BenchModel[] = [
    { name: 'mlp', source: { example: 'mlp' }, config: { maxBatchSize: MAX_BATCH } },
    ...variants.map((v): BenchModel => ({
      name: modelName('mlp', v),
      source: { example: 'mlp' },
      config: variantConfig(v),
    })),
    ...wideVariants.map((v): BenchModel => ({
      name: modelName('wide', v),
      source: { bytes: wideBytes },
      config: variantConfig(v),
    })),
    ...tinyModels.map((t): BenchModel => ({ name: t.name, source: { example: 'simple' }, config: t.config })),
  ];
  const repo = await createBatchingRepository(examples, models);

  const batchingRows: BatchingRow[] = [];
  const wideServed: { variant: Variant; served: Case }[] = [];
  const tinyCases: Case[] = [];
  let ceiling: Case | undefined;
  const sessionOptions: Record<string, unknown> = {};
  const correctness: Record<string, number> = {};
  let wideLocal: LocalSession | undefined;
  try {
    // Reference outputs per connection, from sessions opened as the server opens them.
    const workloads = new Map<string, Workload>();
    for (const [name, source] of [
      ['mlp', 'mlp'],
      ['wide', modelName('wide', wideVariants[0])],
      ['simple', 'simple'],
    ] as const) {
      const local = await openLocalSession(repo.dir, source, cpuCores);
      sessionOptions[name] = local.options;
      workloads.set(name, await workloadFor(local, top));
      if (name === 'wide') wideLocal = local;
      else await local.session.release();
    }
    const workloadOf = (name: string): Workload => {
      const w = workloads.get(name.startsWith('mlp') ? 'mlp' : name.startsWith('wide') ? 'wide' : 'simple');
      if (w === undefined) throw new Error(`no workload for '${name}'`);
      return w;
    };

    progress(`starting inferd with ${models.length} models (--cpu-cores ${cpuCores})`);
    const server: InferdProcess = await startInferd({
      repoRoot: REPO_ROOT,
      modelRepository: repo.dir,
      models: models.map((m) => m.name),
      nodeArgs: [],
      cpuCores,
      readyTimeoutMs: 120_000,
    });
    const clients = Array.from({ length: top }, () => new KServeClient(server.host, server.port));
    const control = new KServeClient(server.host, server.port);
    try {
      const inferOps = (model: string, concurrency: number): TimedOperation[] => {
        const w = workloadOf(model);
        const inferPath = `/v2/models/${encodeURIComponent(model)}/infer`;
        return clients.slice(0, concurrency).map((client, k) => {
          const body = w.bodies[k % w.bodies.length];
          if (body === undefined) throw new Error('no request body');
          return async () => {
            const reply = await client.request('POST', inferPath, body.headers, body.body);
            if (reply.status !== 200) throw new Error(`${model}: HTTP ${reply.status} ${reply.body.toString()}`);
            return reply.latencyNs;
          };
        });
      };
      const snapshot = (model: string | undefined) => async (): Promise<Snapshot> => {
        const serverCpu = await serverCpuSeconds(control);
        const stats = model === undefined ? undefined : await modelStats(control, model);
        return {
          atNs: process.hrtime.bigint(),
          machineBusySeconds: machineBusySeconds(),
          serverCpuSeconds: serverCpu,
          stats,
        };
      };
      const measure = async (label: string, model: string | undefined, ops: TimedOperation[]): Promise<Case> => {
        const m = await measureLoad(ops, load, snapshot(model), undisturbed);
        const c = toCase(label, model, m);
        progress(
          `  ${label}, concurrency ${c.concurrency}: ${c.throughput.toFixed(0)}/s, p50 ${us(c.p50Us)} µs, ` +
            `p99 ${us(c.p99Us)} µs, mean batch ${batchText(c.server)}, other CPU ${cores(c.server.otherCpuCores)}; ` +
            `windows ${c.windows.map((w) => `${w.throughput.toFixed(0)}${w.accepted ? '' : '×'}`).join(', ')}` +
            `${c.disturbed ? ' — disturbed' : c.stable ? '' : ' — not stable'}`,
        );
        return c;
      };

      // Every model answers every connection's own row correctly, all connections at once (so
      // batching models merge them); this also warms each model up.
      for (const m of models) {
        const w = workloadOf(m.name);
        const replies = await Promise.all(
          clients.map((client, k) => {
            const body = w.bodies[k % w.bodies.length];
            if (body === undefined) throw new Error('no request body');
            return client.request('POST', `/v2/models/${m.name}/infer`, body.headers, body.body);
          }),
        );
        let worst = 0;
        replies.forEach((reply, k) => {
          const want = w.expected[k % w.expected.length];
          if (want === undefined) throw new Error('no expected outputs');
          worst = Math.max(worst, worstError(`${m.name} connection ${k}`, readOutputs(reply), want));
        });
        if (worst > 1e-4) throw new Error(`${m.name}: outputs differ from session.run by up to ${worst} (relative)`);
        correctness[m.name] = worst;
      }
      progress(`outputs checked: ${JSON.stringify(correctness)}`);

      // Warm the server up (JIT, sockets, sessions) on every model at full load before any figure
      // is taken, so that the first measurement is not the only one made on a cold server.
      for (const m of models) await runLoad(inferOps(m.name, top), serverWarmupMs);
      progress(`server warmed up: ${serverWarmupMs} ms per model at concurrency ${top}`);

      // 1. mlp, batch-1 requests, without and with batching.
      for (const c of concurrencies) {
        for (const v of [undefined, ...variants]) {
          const model = modelName('mlp', v);
          batchingRows.push({
            concurrency: c,
            variant: v,
            result: await measure(`mlp, ${variantLabel(v)}`, model, inferOps(model, c)),
          });
        }
      }
      // 2. The wide MLP at the highest concurrency.
      for (const v of wideVariants) {
        const model = modelName('wide', v);
        wideServed.push({ variant: v, served: await measure(`wide, ${variantLabel(v)}`, model, inferOps(model, top)) });
      }
      // 3. The tiny model against the empty route.
      const health = clients.slice(0, top).map((client): TimedOperation => async () => {
        const reply = await client.request('GET', '/v2/health/live');
        if (reply.status !== 200) throw new Error(`GET /v2/health/live: HTTP ${reply.status}`);
        return reply.latencyNs;
      });
      ceiling = await measure('GET /v2/health/live', undefined, health);
      for (const t of tinyModels) tinyCases.push(await measure(t.label, t.name, inferOps(t.name, top)));
    } finally {
      for (const c of clients) c.close();
      control.close();
      await server.stop();
    }
  } catch (err) {
    await wideLocal?.session.release();
    await repo.remove();
    throw err;
  }

  // 2b. The limit, with the server stopped: session.run on pre-formed batches of inferd's mean size.
  const wideRows: WideRow[] = [];
  try {
    if (wideLocal === undefined) throw new Error('no wide session');
    const limits = new Map<number, RawLimit>();
    for (const w of wideServed) {
      const batch = Math.max(1, Math.round(w.served.server.meanBatch));
      let limit = limits.get(batch);
      if (limit === undefined) {
        const local = wideLocal;
        const feeds = feedsOf(local.inputs.map((spec) => variantTensor(spec, batch, 0)));
        const run: TimedOperation = async () => {
          const start = process.hrtime.bigint();
          await local.session.run(feeds);
          return Number(process.hrtime.bigint() - start);
        };
        const idle = (): Promise<Snapshot> =>
          Promise.resolve({
            atNs: process.hrtime.bigint(),
            machineBusySeconds: machineBusySeconds(),
            serverCpuSeconds: 0,
            stats: undefined,
          });
        const m = await measureLoad([run], load, idle, undisturbed);
        const view = serverView('raw', m.accepted);
        limit = {
          batch,
          runsPerSecond: m.throughput,
          rowsPerSecond: m.throughput * batch,
          p50UsPerRun: m.p50Us,
          stable: m.stable,
          disturbed: m.disturbed,
          throughputSpread: m.throughputSpread,
          windows: m.windows.map((w) => ({ rowsPerSecond: w.throughput * batch, accepted: w.accepted })),
          cpuCores: m.clientCpuCores,
          otherCpuCores: view.otherCpuCores,
        };
        progress(
          `  raw session.run, batch ${batch}: ${limit.rowsPerSecond.toFixed(0)} rows/s, p50 ${us(m.p50Us)} µs per run, ` +
            `other CPU ${cores(view.otherCpuCores)}; windows ` +
            `${limit.windows.map((w) => `${w.rowsPerSecond.toFixed(0)}${w.accepted ? '' : '×'}`).join(', ')}` +
            `${m.disturbed ? ' — disturbed' : m.stable ? '' : ' — not stable'}`,
        );
        limits.set(batch, limit);
      }
      wideRows.push({
        variant: w.variant,
        served: w.served,
        limit,
        fraction: w.served.throughput / limit.rowsPerSecond,
      });
    }
  } finally {
    await wideLocal?.session.release();
    await repo.remove();
  }
  const loadAfter = os.loadavg();
  clearInterval(loadTimer);
  const loadDuring = { min: Math.min(...loadSamples), max: Math.max(...loadSamples), samples: loadSamples };
  const elapsedS = (Date.now() - started) / 1000;
  if (ceiling === undefined) throw new Error('no ceiling measured');
  const ceilingThroughput = ceiling.throughput;
  const tinyRows: TinyRow[] = tinyCases.map((c) => ({ result: c, fraction: c.throughput / ceilingThroughput }));

  // Goals.
  const rowAt = (c: number, v: Variant | undefined): BatchingRow | undefined =>
    batchingRows.find((r) => r.concurrency === c && r.variant === v);
  const baseTop = rowAt(top, undefined)?.result;
  const goal1 = variants.map((v) => {
    const r = rowAt(top, v)?.result;
    const throughputRatio = r !== undefined && baseTop !== undefined ? r.throughput / baseTop.throughput : Number.NaN;
    const p99Ratio = r !== undefined && baseTop !== undefined ? r.p99Us / baseTop.p99Us : Number.NaN;
    return { variant: v, throughputRatio, p99Ratio, met: throughputRatio >= GOALS.throughputRatio && p99Ratio <= 1 };
  });
  const best =
    [...goal1].sort((a, b) => b.throughputRatio - a.throughputRatio).find((g) => g.p99Ratio <= 1) ?? goal1[0];
  const goal2 = wideRows.map((w) => ({
    variant: w.variant,
    fraction: w.fraction,
    met: w.fraction >= GOALS.computeFraction,
  }));
  const goal3 = tinyRows.map((t) => ({
    label: t.result.label,
    fraction: t.fraction ?? Number.NaN,
    met: (t.fraction ?? 0) >= GOALS.ceilingFraction,
  }));

  const result = {
    benchmark: 'dynamic-batching',
    generatedAt: new Date().toISOString(),
    machine,
    loadAverage: { before: loadBefore, after: loadAfter, during1Min: loadDuring },
    elapsedSeconds: elapsedS,
    method: {
      ...load,
      cpuCores,
      maxBatchSize: MAX_BATCH,
      client:
        'node:http in the benchmark process, one keep-alive connection per concurrent request loop, ' +
        'binary tensor bodies, each connection its own row',
      server: `bin/inferd.js serve --cpu-cores ${cpuCores} --log-level warn --metrics-port off, child process`,
      wideModel: `fp32 MLP, ${WIDE.layers} layers ${WIDE.width}×${WIDE.width} + bias, ReLU between, [-1,${WIDE.width}] → [-1,${WIDE.width}]`,
      sessionOptions,
    },
    correctness,
    mlp: batchingRows,
    wide: wideRows,
    tiny: { ceiling, rows: tinyRows },
    goals: {
      throughput: {
        target: GOALS.throughputRatio,
        concurrency: top,
        byDelay: goal1,
        best: best?.variant,
      },
      computeBound: { target: GOALS.computeFraction, byDelay: goal2 },
      httpCeiling: { target: GOALS.ceilingFraction, rows: goal3 },
    },
  };
  const outFile = path.resolve(values.out);
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(
    outFile,
    `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );

  // Tables.
  const mlpTable = markdownTable(
    [
      'conc.',
      'server',
      'infer/s',
      'p50 µs',
      'p99 µs',
      'mean batch',
      'top batch sizes',
      'queue µs',
      'infer µs / exec',
      'server CPU',
      'client CPU',
      'other CPU',
      'windows: spread req/s / p50',
    ],
    batchingRows.map((r) => [
      String(r.concurrency),
      variantLabel(r.variant),
      r.result.throughput.toFixed(0),
      us(r.result.p50Us),
      us(r.result.p99Us),
      batchText(r.result.server),
      topText(r.result.server),
      us(r.result.server.queueUs),
      us(r.result.server.computeInferUsPerExecution),
      cores(r.result.server.serverCpuCores),
      cores(r.result.clientCpuCores),
      cores(r.result.server.otherCpuCores),
      stabilityText(r.result),
    ]),
    2,
  );
  const ratioRows: string[][] = [];
  for (const c of concurrencies) {
    const base = rowAt(c, undefined)?.result;
    for (const v of variants) {
      const r = rowAt(c, v)?.result;
      if (r === undefined || base === undefined) continue;
      ratioRows.push([
        String(c),
        variantShort(v),
        x(r.throughput / base.throughput),
        x(r.p50Us / base.p50Us),
        x(r.p99Us / base.p99Us),
        batchText(r.server),
      ]);
    }
  }
  const ratios = markdownTable(
    ['conc.', 'batching', 'infer/s batching / none', 'p50 batching / none', 'p99 batching / none', 'mean batch'],
    ratioRows,
    2,
  );
  const wideTable = markdownTable(
    [
      'batching',
      'inferd rows/s',
      'p50 µs',
      'p99 µs',
      'mean batch',
      'top batch sizes',
      'infer µs / exec',
      'limit: batch',
      'limit rows/s',
      'limit µs / run',
      'inferd / limit',
      'server CPU',
      'client CPU',
      'other CPU',
      'limit: own / other CPU',
      'windows: inferd / limit',
    ],
    wideRows.map((w) => [
      variantShort(w.variant),
      w.served.throughput.toFixed(0),
      us(w.served.p50Us),
      us(w.served.p99Us),
      batchText(w.served.server),
      topText(w.served.server),
      us(w.served.server.computeInferUsPerExecution),
      String(w.limit.batch),
      w.limit.rowsPerSecond.toFixed(0),
      us(w.limit.p50UsPerRun),
      pct(w.fraction),
      cores(w.served.server.serverCpuCores),
      cores(w.served.clientCpuCores),
      cores(w.served.server.otherCpuCores),
      `${cores(w.limit.cpuCores)} / ${cores(w.limit.otherCpuCores)}`,
      `${stabilityText(w.served)}; ${w.limit.windows.filter((v) => v.accepted).length}/${w.limit.windows.length}: ` +
        `${pct(w.limit.throughputSpread)}${w.limit.disturbed ? ' (disturbed)' : w.limit.stable ? '' : ' (unstable)'}`,
    ]),
    1,
  );
  const tinyTable = markdownTable(
    [
      'path',
      'req/s',
      'p50 µs',
      'p99 µs',
      'of ceiling',
      'mean batch',
      'server CPU',
      'client CPU',
      'other CPU',
      'windows: spread req/s / p50',
    ],
    [ceiling, ...tinyCases].map((c) => [
      c.label,
      c.throughput.toFixed(0),
      us(c.p50Us),
      us(c.p99Us),
      c === ceiling ? '100% (ceiling)' : pct(c.throughput / ceilingThroughput),
      batchText(c.server),
      cores(c.server.serverCpuCores),
      cores(c.clientCpuCores),
      cores(c.server.otherCpuCores),
      stabilityText(c),
    ]),
    1,
  );
  const short = (ratio: number, target: number): string =>
    ratio >= target ? `${pct(ratio / target - 1)} above` : `${pct(1 - ratio / target)} short`;
  const goalLines = [
    `Goal 1: batching ≥ ${GOALS.throughputRatio}× the infer/s of no batching at concurrency ${top}, p99 no worse.`,
    ...goal1.map(
      (g) =>
        `  ${variantShort(g.variant)}: ${x(g.throughputRatio)} infer/s (${short(g.throughputRatio, GOALS.throughputRatio)}), ` +
        `p99 ${x(g.p99Ratio)} of no batching (${g.p99Ratio <= 1 ? 'no worse' : 'worse'}) — ${g.met ? 'met' : 'NOT met'}`,
    ),
    `  Best setting here: ${best === undefined ? '–' : variantShort(best.variant)}. Goal 1 ${goal1.some((g) => g.met) ? 'MET' : 'NOT MET'}.`,
    `Goal 2: the ${WIDE.width}-wide MLP through inferd (concurrency ${top}) ≥ ${pct(GOALS.computeFraction)} of raw session.run rows/s at inferd's mean batch.`,
    ...goal2.map(
      (g) =>
        `  ${variantShort(g.variant)}: ${pct(g.fraction)} of the limit (${short(g.fraction, GOALS.computeFraction)}) — ${g.met ? 'met' : 'NOT met'}`,
    ),
    `  Goal 2 ${goal2.some((g) => g.met) ? 'MET' : 'NOT MET'}.`,
    `Goal 3: a tiny model ≥ ${pct(GOALS.ceilingFraction)} of the empty route's req/s (GET /v2/health/live, same server, concurrency ${top}).`,
    ...goal3.map(
      (g) =>
        `  ${g.label}: ${pct(g.fraction)} (${short(g.fraction, GOALS.ceilingFraction)}) — ${g.met ? 'met' : 'NOT met'}`,
    ),
    `  Goal 3 ${goal3.some((g) => g.met) ? 'MET' : 'NOT MET'}.`,
  ];
  const out = [
    '',
    '## Dynamic batching',
    '',
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; ` +
      `Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}, inferd ${machine.inferd}.`,
    `Load average (1/5/15 min): before ${loadBefore.map((l) => l.toFixed(2)).join(' / ')}, ` +
      `after ${loadAfter.map((l) => l.toFixed(2)).join(' / ')}; 1-min load during the run ` +
      `${loadDuring.min.toFixed(2)}–${loadDuring.max.toFixed(2)} (this run's own client, server and session ` +
      `threads included; the "other CPU" columns show what other processes took); run took ${elapsedS.toFixed(0)} s.`,
    `Method: one inferd child process (--cpu-cores ${cpuCores}, one instance per model), client in this process ` +
      `with N keep-alive connections each looping request → response (binary tensors, each connection its own row). ` +
      `${load.warmupMs} ms warm-up, then ${load.windows} × ${load.windowMs} ms windows, all reported; ` +
      `"spread" = max/min − 1 over the windows (unstable above ${pct(load.tolerance)}). ` +
      `max_batch_size ${MAX_BATCH}, no preferred sizes. Server CPU: process_cpu_seconds_total from /metrics; ` +
      `client CPU: this process; other CPU: machine busy (/proc/stat, interrupts and steal included) − server − client. ` +
      `A window with other CPU above ${maxOtherCpu} cores is dropped and measured again, at most ` +
      `${load.maxWindows} windows per measurement ("windows" = accepted/measured). ` +
      `Mean batch: rows / executions from /stats batch_stats deltas.`,
    `Session options (as the server opens them): ${JSON.stringify(sessionOptions)}.`,
    `Outputs checked against session.run for every connection's row (worst relative error): ${JSON.stringify(correctness)}.`,
    '',
    '### 1. mlp (fp32 256→1024→10), batch-1 requests',
    '',
    mlpTable,
    '',
    ratios,
    '',
    `### 2. Where compute dominates: ${result.method.wideModel}, concurrency ${top}`,
    '',
    wideTable,
    '',
    'Limit: session.run in this process on a pre-formed batch of the mean size inferd executed, server stopped, same session options.',
    '',
    `### 3. Tiny model vs an empty route (concurrency ${top})`,
    '',
    tinyTable,
    '',
    '### Goals',
    '',
    ...goalLines,
    '',
    `Results written to ${path.relative(process.cwd(), outFile) || outFile}.`,
  ];
  console.log(out.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
