// What API keys cost per request: the example model `simple` over keep-alive HTTP/1.1 at
// concurrency 1 and 16, served (a) without keys, (b) with a 100-key file and a valid bearer key,
// (c) the same with a per-key quota that never refuses; and, in process, AccessPolicy's
// authenticate + authorize over 100 and 1,000 keys (the constant-time scan touches every key).
// Run: npm run bench:auth (or node --import tsx bench/auth-overhead.ts --help).

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { AccessPolicy, type PresentedCredentials } from '../src/security/access-policy.js';
import { digestOf, generateKey, KeyStore } from '../src/security/api-keys.js';
import { jsonRequest, sampleTensor } from './lib/kserve-bodies.js';
import { KServeClient } from './lib/kserve-client.js';
import { percentile } from './lib/latency-stats.js';
import { startInferd, type InferdProcess } from './lib/inferd-process.js';
import { describeMachine } from './lib/machine.js';
import { timeLoop } from './lib/time-loop.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';
const MODEL = 'simple';
const CONCURRENCIES = [1, 16] as const;

const USAGE = `usage: node --import tsx bench/auth-overhead.ts [options]
  --rounds <n>       measurement rounds; each round measures every case once, in rotated order,
                     so drift on a shared machine spreads over all cases (default 5)
  --window-ms <n>    length of one case's window in a round (default 1000)
  --warmup-ms <n>    load before each window, not measured (default 200)
  --micro-ms <n>     time per in-process case (default 400)
  --cpu-cores <n>    the servers' --cpu-cores (default: all available)
  --out <file>       JSON results (default bench/results/auth-overhead.json)`;

type CaseName = 'none' | 'key' | 'key+quota';

const CASE_LABELS: Record<CaseName, string> = {
  none: '(a) no keys',
  key: '(b) 100 keys, bearer',
  'key+quota': '(c) (b) + quota',
};

interface KeyFileEntry {
  readonly id: string;
  readonly key: string;
  readonly quota?: Record<string, number>;
}

/** A key file of `count` keys; the entries named in `special` are placed mid-file. */
function keyFile(count: number, special: readonly KeyFileEntry[]): { text: string; keys: KeyFileEntry[] } {
  const keys: KeyFileEntry[] = [];
  for (let i = 0; keys.length < count - special.length; i++) keys.push({ id: `tenant-${i}`, key: generateKey() });
  keys.splice(Math.floor(keys.length / 2), 0, ...special);
  const lines = keys.map((k) => {
    const quota = k.quota === undefined ? '' : `, quota: ${JSON.stringify(k.quota)}`;
    return `  - { id: ${k.id}, sha256: ${digestOf(k.key).toString('hex')}, scopes: [infer, read]${quota} }`;
  });
  return { text: `keys:\n${lines.join('\n')}\n`, keys };
}

/** bin/inferd.js serve on a free port with `simple` loaded, as a user starts it (probes need no key). */
function startServer(extraArgs: readonly string[], cpuCores: number): Promise<InferdProcess> {
  return startInferd({
    repoRoot: REPO_ROOT,
    modelRepository: path.join(REPO_ROOT, 'examples', 'models'),
    models: [MODEL],
    nodeArgs: [],
    cpuCores,
    readyTimeoutMs: 60_000,
    serveArgs: ['--grpc-port', 'off', ...extraArgs],
  });
}

/** Where one case sends its requests. */
interface Target {
  readonly name: CaseName;
  readonly port: number;
  readonly headers: Record<string, string>;
}

interface Samples {
  latenciesNs: number[];
  /** Each round's p50, µs. */
  roundP50Us: number[];
  count: number;
  seconds: number;
}

/** Closed-loop load, one request in flight per connection, for warm-up then a measured window. */
async function window(
  target: Target,
  concurrency: number,
  body: Buffer,
  warmupMs: number,
  windowMs: number,
  into: Samples,
): Promise<void> {
  const clients = Array.from({ length: concurrency }, () => new KServeClient(HOST, target.port));
  const inferPath = `/v2/models/${MODEL}/infer`;
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  const taken: number[] = [];
  const loops = clients.map(async (client) => {
    while (phase !== 'stop') {
      const reply = await client.request('POST', inferPath, target.headers, body);
      if (reply.status !== 200)
        throw new Error(`${CASE_LABELS[target.name]}: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
      if (phase === 'measure') taken.push(reply.latencyNs);
    }
  });
  let failure: Error | undefined;
  const running = Promise.all(loops).catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err));
    phase = 'stop';
  });
  try {
    await sleep(warmupMs);
    phase = 'measure';
    const start = process.hrtime.bigint();
    await sleep(windowMs);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const count = taken.length;
    phase = 'stop';
    await running;
    if (failure !== undefined) throw failure;
    for (let i = 0; i < count; i++) into.latenciesNs.push(taken[i] ?? 0);
    into.roundP50Us.push(percentile(Float64Array.from(taken.slice(0, count)).sort(), 0.5) / 1000);
    into.count += count;
    into.seconds += seconds;
  } finally {
    phase = 'stop';
    await running;
    for (const c of clients) c.close();
  }
}

interface HttpResult {
  readonly case: CaseName;
  readonly label: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  /** Versus (a): differences in µs per request, and ratios. */
  readonly vsNone?: {
    readonly p50Us: number;
    /** The smallest and largest of the rounds' p50 differences (each round measures both cases). */
    readonly p50RangeUs: readonly [number, number];
    readonly meanUs: number;
    /** 1/throughput − 1/throughput(a): the extra serving time each request costs, in µs. */
    readonly perRequestUs: number;
    readonly p50Ratio: number;
    readonly meanRatio: number;
    readonly throughputRatio: number;
  };
}

function summarize(name: CaseName, concurrency: number, s: Samples): Omit<HttpResult, 'vsNone'> {
  const sorted = Float64Array.from(s.latenciesNs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    case: name,
    label: CASE_LABELS[name],
    concurrency,
    requests: s.count,
    throughput: s.count / s.seconds,
    p50Us: percentile(sorted, 0.5) / 1000,
    p99Us: percentile(sorted, 0.99) / 1000,
    meanUs: sum / sorted.length / 1000,
  };
}

interface MicroResult {
  readonly label: string;
  readonly keys: number;
  readonly nsPerOp: number;
  readonly ops: number;
}

/** AccessPolicy.authenticate + authorize for one inference call, in this process. */
async function microbenchmarks(dir: string, ms: number): Promise<MicroResult[]> {
  const results: MicroResult[] = [];
  const credentials = (key: string | undefined): PresentedCredentials => ({
    authorization: key === undefined ? undefined : `Bearer ${key}`,
    header: () => undefined,
    peer: HOST,
  });
  const policyOf = (keys: KeyStore | undefined): AccessPolicy =>
    new AccessPolicy({
      keys,
      anonymousScopes: undefined,
      loopback: true,
      rules: [],
      ruleHeaderPrefix: '',
      listenAddress: HOST,
    });
  const what = `POST /v2/models/${MODEL}/infer`;
  const run = (label: string, keys: number, policy: AccessPolicy, key: string | undefined, fails = false): void => {
    const creds = credentials(key);
    const op = fails
      ? (): void => {
          try {
            policy.authenticate(creds, Date.now());
          } catch {
            return;
          }
          throw new Error(`${label}: the key was accepted`);
        }
      : (): void => policy.authorize(policy.authenticate(creds, Date.now()), 'inference', what, MODEL);
    op();
    const t = timeLoop(op, ms);
    results.push({ label, keys, ...t });
    process.stderr.write(`  in process, ${label}: ${t.nsPerOp.toFixed(0)} ns/op\n`);
  };

  run('no keys configured (anonymous)', 0, policyOf(undefined), undefined);
  for (const count of [100, 1000]) {
    const { text, keys } = keyFile(count, []);
    const file = path.join(dir, `micro-${count}.yaml`);
    await writeFile(file, text, { mode: 0o600 });
    const policy = policyOf(await KeyStore.open(file, []));
    const first = keys[0]?.key;
    const last = keys[keys.length - 1]?.key;
    if (first === undefined || last === undefined) throw new Error('no keys written');
    run(`${count} keys, valid key (first in file)`, count, policy, first);
    run(`${count} keys, valid key (last in file)`, count, policy, last);
    run(`${count} keys, unknown key (401)`, count, policy, generateKey(), true);
  }
  return results;
}

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${value}'`);
  return n;
}

function cell(value: number, digits: number, sign = false): string {
  const text = value.toFixed(digits);
  return sign && value >= 0 ? `+${text}` : text;
}

/** A plain-text table: the first `left` columns aligned left, the numbers right. */
function table(header: readonly string[], rows: readonly (readonly string[])[], left: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      'window-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      'micro-ms': { type: 'string' },
      'cpu-cores': { type: 'string' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'auth-overhead.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rounds = Math.round(numberOption(values.rounds, 'rounds', 5));
  const windowMs = numberOption(values['window-ms'], 'window-ms', 1000);
  const warmupMs = numberOption(values['warmup-ms'], 'warmup-ms', 200);
  const microMs = numberOption(values['micro-ms'], 'micro-ms', 400);
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench:auth`, which builds)');
  const machine = describeMachine(REPO_ROOT);
  const cpuCores = Math.round(numberOption(values['cpu-cores'], 'cpu-cores', machine.cores));
  const started = performance.now();

  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-auth-bench-'));
  const servers: InferdProcess[] = [];
  try {
    // 1. In process first, while nothing else runs.
    process.stderr.write('AccessPolicy.authenticate + authorize, in process:\n');
    const micro = await microbenchmarks(dir, microMs);

    // 2. Two servers: one without keys, one with 100 keys (two of them used here).
    const plain: KeyFileEntry = { id: 'bench', key: generateKey() };
    const limited: KeyFileEntry = {
      id: 'bench-quota',
      key: generateKey(),
      quota: { requests_per_second: 1_000_000, concurrent_requests: 1000 },
    };
    const file = path.join(dir, 'keys.yaml');
    await writeFile(file, keyFile(100, [plain, limited]).text, { mode: 0o600 });
    const [open, keyed] = await Promise.all([
      startServer([], cpuCores),
      startServer(['--api-keys-file', file], cpuCores),
    ]);
    servers.push(open, keyed);
    const targets: Target[] = [
      { name: 'none', port: open.port, headers: {} },
      { name: 'key', port: keyed.port, headers: { authorization: `Bearer ${plain.key}` } },
      { name: 'key+quota', port: keyed.port, headers: { authorization: `Bearer ${limited.key}` } },
    ];
    const request = jsonRequest([sampleTensor('INPUT0', 'INT32', [1, 16]), sampleTensor('INPUT1', 'INT32', [1, 16])]);
    for (const t of targets) Object.assign(t.headers, request.headers);

    // The keyed server refuses a call without the key, and (c) goes through the quota.
    const check = new KServeClient(HOST, keyed.port);
    try {
      const refused = await check.request('POST', `/v2/models/${MODEL}/infer`, request.headers, request.body);
      if (refused.status !== 401) throw new Error(`the keyed server answered ${refused.status} without a key`);
      const quota = await check.request('POST', `/v2/models/${MODEL}/infer`, targets[2]?.headers, request.body);
      if (quota.status !== 200 || quota.headers['x-ratelimit-limit'] === undefined)
        throw new Error(`(c) is not rate-limited: HTTP ${quota.status}, headers ${JSON.stringify(quota.headers)}`);
    } finally {
      check.close();
    }

    // 3. Rounds: every case once per round, the order rotated, so a slow spell is shared.
    const results: HttpResult[] = [];
    for (const concurrency of CONCURRENCIES) {
      const samples = new Map<CaseName, Samples>(
        targets.map((t) => [t.name, { latenciesNs: [], roundP50Us: [], count: 0, seconds: 0 }]),
      );
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < targets.length; i++) {
          const target = targets[(i + round) % targets.length];
          const into = target === undefined ? undefined : samples.get(target.name);
          if (target === undefined || into === undefined) continue;
          await window(target, concurrency, request.body, warmupMs, windowMs, into);
        }
        process.stderr.write(`  concurrency ${concurrency}: round ${round + 1}/${rounds} done\n`);
      }
      const empty = (): Samples => ({ latenciesNs: [], roundP50Us: [], count: 0, seconds: 1 });
      const noneSamples = samples.get('none') ?? empty();
      const none = summarize('none', concurrency, noneSamples);
      results.push(none);
      for (const name of ['key', 'key+quota'] as const) {
        const own = samples.get(name) ?? empty();
        const s = summarize(name, concurrency, own);
        const deltas = own.roundP50Us.map((p, i) => p - (noneSamples.roundP50Us[i] ?? Number.NaN));
        results.push({
          ...s,
          vsNone: {
            p50Us: s.p50Us - none.p50Us,
            p50RangeUs: [Math.min(...deltas), Math.max(...deltas)],
            meanUs: s.meanUs - none.meanUs,
            perRequestUs: 1e6 / s.throughput - 1e6 / none.throughput,
            p50Ratio: s.p50Us / none.p50Us,
            meanRatio: s.meanUs / none.meanUs,
            throughputRatio: s.throughput / none.throughput,
          },
        });
      }
    }

    const seconds = (performance.now() - started) / 1000;
    const result = {
      benchmark: 'auth-overhead',
      generatedAt: new Date().toISOString(),
      machine,
      method: {
        model: MODEL,
        request: `v2 infer, JSON, ${request.body.length} B`,
        client: 'node:http, one keep-alive connection per concurrent request, in the benchmark process',
        servers:
          `bin/inferd.js serve --cpu-cores ${cpuCores} --log-level warn, child processes: one without keys, ` +
          'one with --api-keys-file of 100 keys',
        rounds,
        windowMs,
        warmupMs,
        microMs,
        seconds,
      },
      http: results,
      inProcess: micro,
    };
    const outFile = path.resolve(values.out);
    await mkdir(path.dirname(outFile), { recursive: true });
    await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);

    const httpRows = results.map((r) => [
      String(r.concurrency),
      r.label,
      cell(r.p50Us, 1),
      cell(r.meanUs, 1),
      cell(r.throughput, 0),
      r.vsNone === undefined ? '' : cell(r.vsNone.p50Us, 1, true),
      r.vsNone === undefined
        ? ''
        : `${cell(r.vsNone.p50RangeUs[0], 0, true)}..${cell(r.vsNone.p50RangeUs[1], 0, true)}`,
      r.vsNone === undefined ? '' : cell(r.vsNone.meanUs, 1, true),
      r.vsNone === undefined ? '' : cell(r.vsNone.perRequestUs, 1, true),
      r.vsNone === undefined ? '' : cell(r.vsNone.p50Ratio, 3),
      r.vsNone === undefined ? '' : cell(r.vsNone.throughputRatio, 3),
    ]);
    const noKeys = micro.find((m) => m.keys === 0)?.nsPerOp ?? 0;
    const microRows = micro.map((m) => [
      m.label,
      cell(m.nsPerOp, 0),
      m.keys === 0 ? '' : cell(m.nsPerOp - noKeys, 0, true),
    ]);
    const out = [
      '',
      `## Auth overhead (${MODEL}, v2 infer JSON over keep-alive HTTP/1.1)`,
      '',
      `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; ` +
        `Node ${machine.node}, inferd ${machine.inferd}.`,
      `Method: ${rounds} rounds; each round measures every case for ${windowMs} ms after ${warmupMs} ms of ` +
        'warm-up, in rotated order; figures merge the rounds. Δ is versus (a); rounds Δp50 is the range of the per-round differences (the noise); Δ/req is 1/throughput − 1/throughput(a).',
      '',
      table(
        [
          'conc',
          'case',
          'p50 µs',
          'mean µs',
          'req/s',
          'Δp50 µs',
          'rounds Δp50',
          'Δmean µs',
          'Δ/req µs',
          'p50 ×',
          'req/s ×',
        ],
        httpRows,
        2,
      ),
      '',
      'AccessPolicy.authenticate + authorize (one inference call), in process:',
      '',
      table(['case', 'ns/op', 'Δ vs no keys'], microRows, 1),
      '',
      `Total ${seconds.toFixed(1)} s. Results written to ${path.relative(process.cwd(), outFile) || outFile}.`,
    ];
    console.log(out.join('\n'));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
