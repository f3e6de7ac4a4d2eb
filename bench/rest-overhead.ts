// What inferd's KServe v2 REST path costs over calling onnxruntime directly: raw session.run vs
// JSON and binary-tensor round trips through a real server, as configured (where the session runs
// decided by `inline_execution: auto`) and pinned to worker threads, at concurrency 1, on small models.
// Run: npm run bench (or node --import tsx bench/rest-overhead.ts --help).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { binaryRequest, checkOutputs, jsonRequest, readOutputs, type PreparedRequest } from './lib/kserve-bodies.js';
import { KServeClient, type InferenceStats } from './lib/kserve-client.js';
import { startInferd } from './lib/inferd-process.js';
import { createBenchRepository, WORKER_SUFFIX, workerModelName } from './lib/worker-twin-repository.js';
import { describeMachine } from './lib/machine.js';
import { measureLoad } from './lib/concurrent-load.js';
import {
  measureWindows,
  type Measurement,
  type TimedOperation,
  type WindowOptions,
} from './lib/measurement-windows.js';
import {
  comparisonLines,
  goalLines,
  workerRatioTable,
  highConcurrencyTable,
  isWorkerPath,
  latencyTable,
  PATH_LABELS,
  ratioTable,
  SERVED_PATHS,
  serverSplitTable,
  type BenchResult,
  type CaseResult,
  type GoalCheck,
  type HighConcurrencyResult,
  type ModelResult,
  type PathKind,
  type ServedPath,
  type ServerSplit,
} from './lib/overhead-report.js';
import { openRawSession } from './lib/raw-session.js';

const GOAL_US = 50;

/** What the figures mean; printed under the tables and kept in the JSON so diffs explain themselves. */
const DEFINITIONS = {
  latency: 'client time from writing the request to reading the last response byte; concurrency 1, keep-alive',
  rawLatency: 'await session.run(feeds) in this process, feeds built once, same model file and session options',
  endToEndOverhead: 'client p50 − raw session.run p50',
  serverOverhead:
    'stats (success − compute_input − compute_infer − compute_output) / count over the reported windows. ' +
    "Queue is counted as overhead: at concurrency 1 nothing waits, and inferd's queue timer starts when the " +
    'route handler starts, so it holds request decoding and scheduling',
  overheadExclQueue: "perf_analyzer's own split: success − queue − compute_input − compute_infer − compute_output",
  outsideServerTimer:
    "client mean − stats success mean: HTTP parsing, fastify, response encoding and writing, loopback and the client's own work",
  workerThreads:
    `the same model files served as '<model>${WORKER_SUFFIX}' with optimization: { inline_execution: false }, ` +
    'by the same server: the session runs in a worker thread, two thread hops per request (the default before `auto`)',
} as const;
const REPO_ROOT = path.resolve(import.meta.dirname, '..');

const USAGE = `usage: node --import tsx bench/rest-overhead.ts [options]
  --models <a,b>        models from the repository (default simple,mlp); each is also served as
                        <model>${WORKER_SUFFIX} with optimization: { inline_execution: false }
  --repository <dir>    model repository (default examples/models); the server runs on a
                        temporary copy holding the models and their worker-thread copies
  --warmup-ms <n>       warm-up before the windows, per path (default 1000)
  --window-ms <n>       length of one measurement window (default 2000)
  --max-windows <n>     give up on stability after this many windows (default 6)
  --tolerance <f>       the last 3 windows must agree within this fraction (default 0.10)
  --cpu-cores <n>       cores given to the runtime, in both the server and the raw session
                        (default: all available, the server's own default)
  --out <file>          JSON results (default bench/results/rest-overhead.json)
  --server-node-arg <a> extra node flag for the server process, repeatable (e.g. --cpu-prof)
  --high-concurrency <n> then binary requests from this many keep-alive connections, the model as
                        configured against its worker-thread copy, rounds interleaved (default 64)
  --rounds <n>          rounds of that comparison; the median of each side is reported (default 3)`;

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${value}'`);
  return n;
}

/** Newest modification time of any file under dir (0 when absent). */
function newestMtimeMs(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function serverSplit(before: InferenceStats, after: InferenceStats, clientMeanUs: number): ServerSplit {
  const d = (k: keyof InferenceStats): number => after[k].ns - before[k].ns;
  const requests = after.success.count - before.success.count;
  const failures = after.fail.count - before.fail.count;
  if (requests <= 0) throw new Error('the server counted no successful requests in the measured windows');
  if (failures > 0) throw new Error(`the server counted ${failures} failed requests in the measured windows`);
  const per = (ns: number): number => ns / requests / 1000;
  const compute = d('compute_input') + d('compute_infer') + d('compute_output');
  const successUs = per(d('success'));
  return {
    requests,
    successUs,
    queueUs: per(d('queue')),
    computeInputUs: per(d('compute_input')),
    computeInferUs: per(d('compute_infer')),
    computeOutputUs: per(d('compute_output')),
    overheadUs: per(d('success') - compute),
    overheadExclQueueUs: per(d('success') - d('queue') - compute),
    outsideServerTimerUs: clientMeanUs - successUs,
  };
}

/**
 * Throughput of binary requests from `connections` keep-alive connections: the model as configured
 * against its worker-thread copy, `rounds` interleaved rounds of 2 windows each, medians compared.
 */
async function compareUnderLoad(
  server: { host: string; port: number },
  model: string,
  request: PreparedRequest,
  connections: number,
  rounds: number,
  windows: WindowOptions,
): Promise<HighConcurrencyResult> {
  const throughputOf = async (served: string): Promise<number> => {
    const clients = Array.from({ length: connections }, () => new KServeClient(server.host, server.port));
    const inferPath = `/v2/models/${encodeURIComponent(served)}/infer`;
    const ops: TimedOperation[] = clients.map((client) => async () => {
      const reply = await client.request('POST', inferPath, request.headers, request.body);
      if (reply.status !== 200) throw new Error(`${served}: HTTP ${reply.status} ${reply.body.toString()}`);
      return reply.latencyNs;
    });
    try {
      const options = {
        warmupMs: windows.warmupMs / 2,
        windowMs: windows.windowMs,
        windows: 2,
        maxWindows: 2,
        tolerance: windows.tolerance,
      };
      return (await measureLoad(ops, options, () => Promise.resolve(undefined))).throughput;
    } finally {
      for (const c of clients) c.close();
    }
  };
  const defaults: number[] = [];
  const workers: number[] = [];
  for (let i = 0; i < rounds; i++) {
    defaults.push(await throughputOf(model));
    workers.push(await throughputOf(workerModelName(model)));
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
  const defaultThroughput = median(defaults);
  const workerThroughput = median(workers);
  return {
    connections,
    rounds: defaults.map((d, i) => ({ defaultThroughput: d, workerThroughput: workers[i] ?? Number.NaN })),
    defaultThroughput,
    workerThroughput,
    defaultOverWorkerRatio: defaultThroughput / workerThroughput,
  };
}

/** Where the server runs the model as configured, and why (`runtime` of /v2/models/{m}/config). */
async function executionOf(client: KServeClient, model: string): Promise<string> {
  const config = (await client.getJson(`/v2/models/${encodeURIComponent(model)}/config`)) as {
    runtime?: { execution?: string; execution_reason?: string };
  };
  return `${config.runtime?.execution ?? '?'} (${config.runtime?.execution_reason ?? 'no reason given'})`;
}

function caseResult<S>(
  kind: PathKind | 'http-floor',
  m: Measurement<S>,
  extra: Partial<Pick<CaseResult, 'server' | 'endToEndOverheadUs' | 'servedModel'>> = {},
): CaseResult {
  return {
    path: kind,
    label: PATH_LABELS[kind],
    stable: m.stable,
    windows: m.windows,
    reportedWindows: m.reported,
    requests: m.count,
    throughput: m.throughput,
    p50Us: m.p50Us,
    p90Us: m.p90Us,
    p99Us: m.p99Us,
    meanUs: m.meanUs,
    ...extra,
  };
}

/** A model's raw session.run measurement, its outputs, and the request bodies built from its inputs. */
interface Baseline {
  readonly result: CaseResult;
  readonly options: unknown;
  readonly expected: Map<string, ArrayLike<number>>;
  readonly json: PreparedRequest;
  readonly binary: PreparedRequest;
}

function allMet(checks: readonly GoalCheck[]): boolean {
  return checks.length > 0 && checks.every((c) => c.serverMet);
}

function caseOf(model: string, cases: readonly CaseResult[], kind: PathKind): CaseResult {
  const c = cases.find((x) => x.path === kind);
  if (c === undefined) throw new Error(`${model}: no ${kind} measurement`);
  return c;
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

function describeCase(label: string, c: CaseResult): string {
  const windows = c.windows.map((w) => w.throughput.toFixed(0)).join(', ');
  return `  ${label}: p50 ${c.p50Us.toFixed(1)} µs, ${c.throughput.toFixed(0)} req/s; windows (req/s): ${windows}${c.stable ? '' : ' — not stable'}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'simple,mlp' },
      repository: { type: 'string', default: path.join(REPO_ROOT, 'examples', 'models') },
      'warmup-ms': { type: 'string' },
      'window-ms': { type: 'string' },
      'max-windows': { type: 'string' },
      tolerance: { type: 'string' },
      'cpu-cores': { type: 'string' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'rest-overhead.json') },
      'server-node-arg': { type: 'string', multiple: true, default: [] },
      'high-concurrency': { type: 'string' },
      rounds: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const models = values.models.split(',').filter((m) => m !== '');
  const repository = path.resolve(values.repository);
  const windowOptions: WindowOptions = {
    warmupMs: numberOption(values['warmup-ms'], 'warmup-ms', 1000),
    windowMs: numberOption(values['window-ms'], 'window-ms', 2000),
    stableWindows: 3,
    maxWindows: Math.max(3, Math.round(numberOption(values['max-windows'], 'max-windows', 6))),
    tolerance: numberOption(values.tolerance, 'tolerance', 0.1),
  };

  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench`, which builds)');
  }
  if (newestMtimeMs(path.join(REPO_ROOT, 'src')) > newestMtimeMs(path.join(REPO_ROOT, 'dist'))) {
    progress('warning: src/ is newer than dist/; the server measured is the last build (npm run build)');
  }

  const machine = describeMachine(REPO_ROOT);
  const cpuCores = Math.round(numberOption(values['cpu-cores'], 'cpu-cores', machine.cores));
  const measure = <S>(op: TimedOperation, snapshot: () => Promise<S>): Promise<Measurement<S>> =>
    measureWindows(op, windowOptions, snapshot);
  const noSnapshot = (): Promise<undefined> => Promise.resolve(undefined);
  const highConcurrency = Math.round(numberOption(values['high-concurrency'], 'high-concurrency', 64));
  const rounds = Math.round(numberOption(values.rounds, 'rounds', 3));

  /** One served path: check its outputs against the raw ones, then measure it and the server's split. */
  const measureServed = async (
    client: KServeClient,
    model: string,
    served: string,
    kind: ServedPath,
    baseline: Baseline,
  ): Promise<CaseResult> => {
    const request = kind === 'json' || kind === 'json-worker' ? baseline.json : baseline.binary;
    const inferPath = `/v2/models/${encodeURIComponent(served)}/infer`;
    const send = (): ReturnType<KServeClient['request']> =>
      client.request('POST', inferPath, request.headers, request.body);
    checkOutputs(`${served} ${kind}`, readOutputs(await send()), baseline.expected);
    const op: TimedOperation = async () => {
      const reply = await send();
      if (reply.status !== 200) throw new Error(`${served} ${kind}: HTTP ${reply.status} ${reply.body.toString()}`);
      return reply.latencyNs;
    };
    const m = await measure(op, () => client.inferenceStats(served));
    const result = caseResult(kind, m, {
      server: serverSplit(m.snapshotBefore, m.snapshotAfter, m.meanUs),
      endToEndOverheadUs: m.p50Us - baseline.result.p50Us,
      servedModel: served,
    });
    progress(describeCase(`${model} ${kind}`, result));
    return result;
  };

  // 1. The limit: session.run in this process, before the server starts so nothing competes.
  const raw = new Map<string, Baseline>();
  for (const model of models) {
    const session = await openRawSession(repository, model, cpuCores);
    try {
      const expected = await session.outputs();
      progress(`${model}: raw session.run with ${JSON.stringify(session.options)}`);
      const m = await measure(() => session.run(), noSnapshot);
      const result = caseResult('raw', m);
      progress(describeCase('raw', result));
      raw.set(model, {
        result,
        options: session.options,
        expected,
        json: jsonRequest(session.inputs),
        binary: binaryRequest(session.inputs),
      });
    } finally {
      await session.release();
    }
  }

  // 2. The same inputs through a real inferd process over keep-alive HTTP/1.1: each model as
  // configured (default: auto) and its worker-thread copy, both served by one server.
  const benchRepository = await createBenchRepository(repository, models);
  for (const model of benchRepository.pinned) {
    progress(`warning: '${model}' sets inline_execution itself; its json and binary paths do not show the default`);
  }
  let httpFloor: CaseResult;
  const modelResults: ModelResult[] = [];
  try {
    const server = await startInferd({
      repoRoot: REPO_ROOT,
      modelRepository: benchRepository.dir,
      models: models.flatMap((m) => [m, workerModelName(m)]),
      nodeArgs: values['server-node-arg'],
      cpuCores,
      readyTimeoutMs: 60_000,
    });
    const client = new KServeClient(server.host, server.port);
    try {
      const liveness: TimedOperation = async () => {
        const reply = await client.request('GET', '/v2/health/live');
        if (reply.status !== 200) throw new Error(`GET /v2/health/live: HTTP ${reply.status}`);
        return reply.latencyNs;
      };
      httpFloor = caseResult('http-floor', await measure(liveness, noSnapshot));
      progress(describeCase('HTTP floor', httpFloor));

      for (const model of models) {
        const r = raw.get(model);
        if (r === undefined) continue;
        const cases: CaseResult[] = [r.result];
        const execution = await executionOf(client, model);
        progress(`${model}: ${execution}`);
        for (const kind of SERVED_PATHS) {
          const served = isWorkerPath(kind) ? workerModelName(model) : model;
          cases.push(await measureServed(client, model, served, kind, r));
        }
        const c = (kind: PathKind): CaseResult => caseOf(model, cases, kind);
        const high = await compareUnderLoad(server, model, r.binary, highConcurrency, rounds, windowOptions);
        progress(
          `${model} at concurrency ${highConcurrency}: ${high.defaultThroughput.toFixed(0)} req/s as configured, ` +
            `${high.workerThroughput.toFixed(0)} with worker threads (${high.defaultOverWorkerRatio.toFixed(2)}×)`,
        );
        modelResults.push({
          model,
          execution,
          highConcurrency: high,
          sessionOptions: r.options,
          requestBytes: { json: r.json.body.length, binary: r.binary.body.length },
          cases,
          ratios: {
            jsonOverRawP50: c('json').p50Us / c('raw').p50Us,
            binaryOverRawP50: c('binary').p50Us / c('raw').p50Us,
            jsonOverBinaryP50: c('json').p50Us / c('binary').p50Us,
            rawOverJsonThroughput: c('raw').throughput / c('json').throughput,
            rawOverBinaryThroughput: c('raw').throughput / c('binary').throughput,
            binaryOverJsonThroughput: c('binary').throughput / c('json').throughput,
            jsonWorkerOverRawP50: c('json-worker').p50Us / c('raw').p50Us,
            binaryWorkerOverRawP50: c('binary-worker').p50Us / c('raw').p50Us,
            jsonWorkerOverJsonP50: c('json').p50Us / c('json-worker').p50Us,
            binaryWorkerOverBinaryP50: c('binary').p50Us / c('binary-worker').p50Us,
            jsonOverJsonWorkerThroughput: c('json-worker').throughput / c('json').throughput,
            binaryOverBinaryWorkerThroughput: c('binary-worker').throughput / c('binary').throughput,
          },
        });
      }
    } finally {
      client.close();
      await server.stop();
    }
  } finally {
    await benchRepository.remove();
  }

  const checks: GoalCheck[] = modelResults.flatMap((m) =>
    m.cases.flatMap((c): GoalCheck[] =>
      c.path !== 'raw' && c.path !== 'http-floor'
        ? [
            {
              model: m.model,
              path: c.path,
              serverOverheadUs: c.server?.overheadUs ?? Number.NaN,
              endToEndOverheadUs: c.endToEndOverheadUs ?? Number.NaN,
              serverMet: (c.server?.overheadUs ?? Number.POSITIVE_INFINITY) < GOAL_US,
              endToEndMet: (c.endToEndOverheadUs ?? Number.POSITIVE_INFINITY) < GOAL_US,
            },
          ]
        : [],
    ),
  );
  const result: BenchResult = {
    benchmark: 'rest-overhead',
    generatedAt: new Date().toISOString(),
    machine,
    method: {
      ...windowOptions,
      concurrency: 1,
      client: 'node:http, one keep-alive connection, in the benchmark process',
      server:
        `bin/inferd.js serve --cpu-cores ${cpuCores} --log-level warn --metrics-port off, child process, ` +
        `on a temporary repository holding each model and its <model>${WORKER_SUFFIX} copy`,
    },
    definitions: DEFINITIONS,
    httpFloor,
    models: modelResults,
    goal: {
      overheadUs: GOAL_US,
      met: allMet(checks.filter((c) => !isWorkerPath(c.path))),
      metWorker: allMet(checks.filter((c) => isWorkerPath(c.path))),
      byPath: Object.fromEntries(SERVED_PATHS.map((p) => [p, allMet(checks.filter((c) => c.path === p))])),
      checks,
    },
  };

  const outFile = path.resolve(values.out);
  const previous: unknown = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')) : undefined;
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);

  const out: string[] = [
    '',
    `## REST overhead (concurrency 1)`,
    '',
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; ` +
      `Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}, inferd ${machine.inferd}.`,
    `Method: ${windowOptions.warmupMs} ms warm-up, then ${windowOptions.windowMs} ms windows until the last ` +
      `${windowOptions.stableWindows} agree within ${(windowOptions.tolerance * 100).toFixed(0)}% on req/s and p50 ` +
      `(at most ${windowOptions.maxWindows}); figures merge those ${windowOptions.stableWindows} windows.`,
    ...modelResults.map(
      (m) =>
        `${m.model}: session ${JSON.stringify(m.sessionOptions)}; request ${m.requestBytes.json} B JSON, ` +
        `${m.requestBytes.binary} B binary; served as configured: ${m.execution}.`,
    ),
    `Worker threads: ${DEFINITIONS.workerThreads}.`,
    '',
    latencyTable(result),
    '',
    'Server split (per-request means from /v2/models/{m}/stats deltas over the same windows):',
    '',
    serverSplitTable(result),
    '',
    `Server overhead: ${DEFINITIONS.serverOverhead}.`,
    `Overhead excl. queue: ${DEFINITIONS.overheadExclQueue}. Outside server timer: ${DEFINITIONS.outsideServerTimer}.`,
    '',
    'Ratios:',
    '',
    ratioTable(result),
    '',
    workerRatioTable(result),
    '',
    highConcurrencyTable(result),
    '',
    ...goalLines(result),
    '',
    ...comparisonLines(previous, result),
    `Results written to ${path.relative(process.cwd(), outFile) || outFile}.`,
  ];
  console.log(out.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
