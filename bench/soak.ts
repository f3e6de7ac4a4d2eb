// Soak test: runs bin/inferd.js serve as a user starts it (examples/models, `simple` loaded, and
// `kjv-tiny` when the mix has completions) and drives it with closed-loop load for a long stretch,
// sampling every interval: requests done, outcomes, the server's RSS and the window's p50/p99.
// Fails (exit code 1) on errors, on RSS growth over a limit, or on p99 drift over a limit.
// Run: npm run soak (or node --import tsx bench/soak.ts --help).

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProtos } from '../src/protocols/kserve-grpc/proto-definitions.js';
import { binaryRequest, jsonRequest, sampleTensor, type PreparedRequest } from './lib/kserve-bodies.js';
import { KServeClient } from './lib/kserve-client.js';
import { freePort, startInferd, type InferdProcess } from './lib/inferd-process.js';
import { describeMachine } from './lib/machine.js';
import {
  judge,
  mixCycle,
  parseMix,
  vmRssMiB,
  windowStats,
  type MixEntry,
  type Outcome,
  type RawWindow,
  type RequestKind,
  type Verdict,
  type WindowStats,
} from './lib/soak-verdict.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';
const MODEL = 'simple';
const LLM = 'kjv-tiny';
const COMPLETION_TOKENS = 8;

const USAGE = `usage: npm run soak -- [options]   (or node --import tsx bench/soak.ts [options])
  --duration <s>             measured seconds, after the warm-up (default 120)
  --warmup <s>               load before the measured part; the starting RSS is read at its end
                             (default 10)
  --interval <s>             sampling window: requests, outcomes, server RSS, p50/p99 (default 10)
  --concurrency <n>          requests in flight, one loop per connection (default 32)
  --mix <kinds>              request kinds with optional integer weights, e.g. json:2,binary,grpc
                             (default json). Kinds: json (v2 REST infer, JSON, on ${MODEL}),
                             binary (v2 REST infer, binary tensor data), grpc (unary ModelInfer),
                             completions (/v1/completions on ${LLM}, ${COMPLETION_TOKENS} tokens; loads ${LLM})
  --max-rss-growth-mib <n>   fail when the server's RSS grows more than this from the start of
                             the measured part to its end (default 64)
  --max-p99-drift <x>        fail when the last window's p99 ÷ the first window's exceeds this
                             (default 2.0)
  --allow-refusals           do not fail on 429/503 refusals (default: they fail the run, like
                             errors; both are always reported apart)
  --cpu-cores <n>            the server's --cpu-cores (default: all available)
  --out <file>               JSON results (default bench/results/soak.json)
  --help                     this text
Exit code 0 when the run passes, 1 when it fails (errors, RSS growth or p99 drift), 2 on bad use.`;

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${value}'`);
  return n;
}

class UsageError extends Error {}

function parseMixOption(text: string): MixEntry[] {
  try {
    return parseMix(text);
  } catch (err) {
    throw new UsageError(`--mix: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The server's RSS in MiB from /proc/<pid>/status; NaN when it cannot be read. */
function serverRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    return vmRssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

type Message = Record<string, unknown>;
type UnaryCall = (req: Message, cb: (err: grpc.ServiceError | null, res?: Message) => void) => void;

/** Sends one request of a kind and resolves with its outcome; never rejects. */
type Sender = (kind: RequestKind) => Promise<Outcome>;

interface Targets {
  readonly json: PreparedRequest;
  readonly binary: PreparedRequest;
  readonly completions: PreparedRequest;
  readonly grpcCall: UnaryCall | undefined;
  readonly grpcRequest: Message;
}

function buildTargets(grpcClient: grpc.Client | undefined): Targets {
  const inputs = [sampleTensor('INPUT0', 'INT32', [1, 16]), sampleTensor('INPUT1', 'INT32', [1, 16])];
  const completion = { model: LLM, prompt: 'In the beginning', max_tokens: COMPLETION_TOKENS, temperature: 0 };
  const call =
    grpcClient === undefined
      ? undefined
      : (grpcClient as unknown as Record<string, UnaryCall | undefined>).ModelInfer?.bind(grpcClient);
  return {
    json: jsonRequest(inputs),
    binary: binaryRequest(inputs),
    completions: {
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(completion), 'utf8'),
    },
    grpcCall: call,
    grpcRequest: {
      model_name: MODEL,
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      raw_input_contents: inputs.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
    },
  };
}

/** A sender over one kept-alive HTTP connection (and the shared gRPC channel). */
function sender(client: KServeClient, targets: Targets): Sender {
  const http = async (requestPath: string, prepared: PreparedRequest): Promise<Outcome> => {
    try {
      const reply = await client.request('POST', requestPath, prepared.headers, prepared.body);
      return String(reply.status);
    } catch {
      return 'network';
    }
  };
  return (kind) => {
    switch (kind) {
      case 'json':
        return http(`/v2/models/${MODEL}/infer`, targets.json);
      case 'binary':
        return http(`/v2/models/${MODEL}/infer`, targets.binary);
      case 'completions':
        return http('/v1/completions', targets.completions);
      case 'grpc': {
        const call = targets.grpcCall;
        if (call === undefined) return Promise.resolve('grpc:UNIMPLEMENTED');
        return new Promise((resolve) =>
          call(targets.grpcRequest, (err) => {
            const code = err === null ? grpc.status.OK : err.code;
            resolve(`grpc:${grpc.status[code] ?? String(code)}`);
          }),
        );
      }
    }
  };
}

interface Collector {
  latenciesMs: number[];
  outcomes: Map<Outcome, number>;
}

const emptyCollector = (): Collector => ({ latenciesMs: [], outcomes: new Map() });

function cell(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** A plain-text table: the first `left` columns aligned left, the numbers right. */
function table(header: readonly string[], rows: readonly (readonly string[])[], left: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function report(
  windows: readonly WindowStats[],
  verdict: Verdict,
  perKind: Map<RequestKind, Map<Outcome, number>>,
): string {
  const outcomes = (m: Readonly<Record<string, number>>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
  const rows = windows.map((w) => [
    String(w.index + 1),
    cell(w.endS, 0),
    String(w.requests),
    cell(w.throughput, 0),
    cell(w.p50Ms, 2),
    cell(w.p99Ms, 2),
    String(w.errors),
    String(w.refusals),
    cell(w.rssMiB, 1),
  ]);
  const lines = [
    table(['window', 'end s', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'refusals', 'RSS MiB'], rows, 0),
    '',
    `requests      ${verdict.requests} (${outcomes(verdict.byOutcome)})`,
  ];
  if (perKind.size > 1)
    for (const [kind, m] of perKind) lines.push(`  ${kind.padEnd(12)}${outcomes(Object.fromEntries(m))}`);
  lines.push(
    `errors        ${verdict.errors}, refusals (429/503) ${verdict.refusals}`,
    `server RSS    ${cell(verdict.rssStartMiB, 1)} MiB after warm-up -> ${cell(verdict.rssEndMiB, 1)} MiB at the end: ` +
      `${verdict.rssGrowthMiB >= 0 ? '+' : ''}${cell(verdict.rssGrowthMiB, 1)} MiB (${cell(verdict.rssGrowthPct, 1)}%)`,
    `p99 drift     ${cell(verdict.p99LastMs, 2)} ms last / ${cell(verdict.p99FirstMs, 2)} ms first = ${cell(verdict.p99Drift, 2)}x`,
    `verdict       ${verdict.pass ? 'PASS' : `FAIL: ${verdict.failures.join('; ')}`}`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      interval: { type: 'string' },
      concurrency: { type: 'string' },
      mix: { type: 'string', default: 'json' },
      'max-rss-growth-mib': { type: 'string' },
      'max-p99-drift': { type: 'string' },
      'allow-refusals': { type: 'boolean', default: false },
      'cpu-cores': { type: 'string' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'soak.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const durationS = positive(values.duration, 'duration', 120);
  const warmupS = values.warmup === '0' ? 0 : positive(values.warmup, 'warmup', 10);
  const intervalS = positive(values.interval, 'interval', 10);
  const concurrency = Math.round(positive(values.concurrency, 'concurrency', 32));
  const limits = {
    maxRssGrowthMiB: positive(values['max-rss-growth-mib'], 'max-rss-growth-mib', 64),
    maxP99Drift: positive(values['max-p99-drift'], 'max-p99-drift', 2.0),
    allowRefusals: values['allow-refusals'],
  };
  const mix = parseMixOption(values.mix);
  const cycle = mixCycle(mix);
  const kinds = new Set(cycle);
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run soak`, which builds)');
  const machine = describeMachine(REPO_ROOT);
  const cpuCores = Math.round(positive(values['cpu-cores'], 'cpu-cores', machine.cores));

  const grpcPort = kinds.has('grpc') ? await freePort() : undefined;
  const models = kinds.has('completions') ? [MODEL, LLM] : [MODEL];
  const server: InferdProcess = await startInferd({
    repoRoot: REPO_ROOT,
    modelRepository: path.join(REPO_ROOT, 'examples', 'models'),
    models,
    nodeArgs: [],
    cpuCores,
    readyTimeoutMs: 60_000,
    serveArgs: ['--grpc-port', grpcPort === undefined ? 'off' : String(grpcPort)],
  });
  if (server.pid === undefined) process.stderr.write('warning: no server pid, so no RSS\n');

  const grpcClient =
    grpcPort === undefined
      ? undefined
      : new (loadInferenceProtos().inference)(`${HOST}:${grpcPort}`, grpc.credentials.createInsecure());
  const targets = buildTargets(grpcClient);
  const clients = Array.from({ length: concurrency }, () => new KServeClient(HOST, server.port));
  const senders = clients.map((c) => sender(c, targets));
  const probe = new KServeClient(HOST, server.port);
  const check = sender(probe, targets);
  try {
    // Every kind in the mix must work once before the soak starts.
    for (const kind of kinds) {
      const outcome = await check(kind);
      if (outcome !== '200' && outcome !== 'grpc:OK') throw new Error(`the first '${kind}' request failed: ${outcome}`);
    }
    process.stderr.write(
      `soak: ${models.join(' + ')} on port ${server.port}, concurrency ${concurrency}, mix ${values.mix}, ` +
        `warm-up ${warmupS} s, ${durationS} s in ${intervalS} s windows\n`,
    );

    let current = emptyCollector();
    const perKind = new Map<RequestKind, Map<Outcome, number>>();
    let measuring = false;
    let stopped = false;
    const loops = senders.map(async (send, worker) => {
      for (let n = worker; !stopped; n++) {
        const kind = cycle[n % cycle.length] ?? 'json';
        const start = process.hrtime.bigint();
        const outcome = await send(kind);
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        const into = current;
        into.latenciesMs.push(ms);
        into.outcomes.set(outcome, (into.outcomes.get(outcome) ?? 0) + 1);
        if (measuring) {
          const m = perKind.get(kind) ?? new Map<Outcome, number>();
          m.set(outcome, (m.get(outcome) ?? 0) + 1);
          perKind.set(kind, m);
        }
        // A server that went away answers at once; do not spin on it.
        if (outcome === 'network') await sleep(10);
      }
    });
    const running = Promise.all(loops);

    await sleep(warmupS * 1000);
    const warm = current;
    current = emptyCollector();
    measuring = true;
    const rssStartMiB = serverRssMiB(server.pid);
    process.stderr.write(`  warm-up: ${warm.latenciesMs.length} requests, server RSS ${cell(rssStartMiB, 1)} MiB\n`);

    const windows: WindowStats[] = [];
    const begin = performance.now();
    let windowStart = begin;
    while (!stopped) {
      const elapsedS = (performance.now() - begin) / 1000;
      const remainingS = durationS - elapsedS;
      const last = remainingS <= intervalS + 1e-3;
      await sleep(Math.max(0, Math.min(intervalS, remainingS)) * 1000);
      if (last) {
        // The last window also takes the requests still in flight.
        stopped = true;
        await running;
      }
      const now = performance.now();
      const taken = current;
      current = emptyCollector();
      const rw: RawWindow = {
        endS: (now - begin) / 1000,
        seconds: (now - windowStart) / 1000,
        latenciesMs: taken.latenciesMs,
        outcomes: taken.outcomes,
        rssMiB: serverRssMiB(server.pid),
      };
      windowStart = now;
      const w = windowStats(windows.length, rw);
      windows.push(w);
      process.stderr.write(
        `  ${cell(w.endS, 0)} s: ${w.requests} requests, p99 ${cell(w.p99Ms, 2)} ms, ` +
          `errors ${w.errors}, refusals ${w.refusals}, RSS ${cell(w.rssMiB, 1)} MiB\n`,
      );
    }

    const verdict = judge(rssStartMiB, windows, limits);
    console.log(
      `\ninferd soak: ${models.join(' + ')}, concurrency ${concurrency}, mix ${values.mix}, ` +
        `${durationS} s after ${warmupS} s warm-up, ${intervalS} s windows (${machine.cores} cores, ${machine.cpuModel})\n`,
    );
    console.log(report(windows, verdict, perKind));

    const outFile = path.resolve(values.out);
    await mkdir(path.dirname(outFile), { recursive: true });
    const result = {
      benchmark: 'soak',
      generatedAt: new Date().toISOString(),
      machine,
      method: {
        models,
        concurrency,
        mix,
        durationS,
        warmupS,
        intervalS,
        cpuCores,
        client: 'node:http, one keep-alive connection per concurrent request; one gRPC channel; in this process',
        rss: 'VmRSS of the server process from /proc/<pid>/status',
      },
      limits,
      windows,
      perKind: Object.fromEntries([...perKind].map(([k, m]) => [k, Object.fromEntries(m)])),
      verdict,
    };
    await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`results: ${path.relative(process.cwd(), outFile)}\n`);
    return verdict.pass ? 0 : 1;
  } finally {
    for (const c of [probe, ...clients]) c.close();
    grpcClient?.close();
    await server.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
