// The OpenAI-compatible API under load, `vllm bench serve` style: /v1/completions on the demo
// decoder kjv-tiny at a fixed concurrency (1, 8, 32), streamed and whole, measured at the client —
// TTFT, TPOT = (e2e − TTFT) / (tokens − 1), ITL = gaps between streamed chunks, output tokens/s.
// Compared in the same run, round by round, with the same engine driven directly in the server's
// process (no HTTP, JSON or SSE), so the ratio is what the API edge costs. The HTTP client runs in
// a process of its own by default (`--client same` puts it in the server's process, where its SSE
// parsing spends the server's CPU); both share the machine's cores either way, so the server
// process's CPU time per token is compared too.
// Run: node --import tsx bench/openai-serve.ts (--help).

import { fork, spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TextGenerationEngine } from '../src/generation/engine-types.js';
import { requireKind } from '../src/model-kinds/serving-kinds.js';
import { startServer, type RunningServer } from '../src/server.js';
import { makeRepository, removeRepository } from '../test/helpers/test-server.js';
import { benchSampling } from './lib/engine-runs.js';
import { describeMachine } from './lib/machine.js';
import { runClientCase, type ClientCase, type ClientResult, type Sample } from './lib/openai-client.js';
import { markdownTable } from './lib/overhead-report.js';
import { percentileOfMs } from './lib/latency-stats.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODEL_DIR = path.join(REPO_ROOT, 'examples', 'models', 'kjv-tiny');

const USAGE = `usage: node --import tsx bench/openai-serve.ts [options]
  --output-tokens <n>  tokens generated per request (EOS ignored; default 64)
  --concurrency <list> comma-separated levels (default 1,8,32)
  --modes <list>       stream, whole or both (default stream,whole)
  --paths <list>       engine, http or both (default engine,http; one alone is for profiling)
  --client <where>     process: the HTTP client in a process of its own (default); same: in this one
  --stream-interval <n> tokens per streamed event (the server's --stream-interval; default 1)
  --threads <n>        onnxruntime intra-op threads, the same for both paths (default 1, as bench:generation)
  --repeats <n>        rounds over every case, interleaved; each case reports its best round (default 3)
  --out <file>         JSON results (default bench/results/openai-serve.json)`;

type Mode = 'stream' | 'whole';
type PathKind = 'engine' | 'http';

interface CaseResult {
  readonly path: PathKind;
  readonly mode: Mode;
  readonly concurrency: number;
  readonly requests: number;
  readonly outputTokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  /** Output tokens per CPU-second of the server's process (user + system, every thread). */
  readonly tokensPerCpuSecond: number;
  readonly ttftP50Ms: number;
  readonly ttftP99Ms: number;
  readonly tpotP50Ms: number;
  readonly itlP50Ms: number;
  readonly itlP99Ms: number;
}

const msSince = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;

/** One request straight on the engine: the chunks as the edge would see them. */
async function engineRequest(engine: TextGenerationEngine, prompt: readonly number[], tokens: number): Promise<Sample> {
  const start = process.hrtime.bigint();
  const stream = engine.generate({
    requestId: 'bench',
    promptTokenIds: prompt,
    arrivalNs: start,
    sampling: benchSampling({ maxTokens: tokens, temperature: 0, ignoreEos: true }),
  });
  const sample: Sample = { ttftMs: NaN, e2eMs: 0, tokens: 0, itlMs: [] };
  let last = start;
  for await (const chunk of stream) {
    const now = process.hrtime.bigint();
    if (Number.isNaN(sample.ttftMs)) sample.ttftMs = msSince(start);
    else sample.itlMs.push(Number(now - last) / 1e6);
    last = now;
    sample.tokens += chunk.tokenIds.length;
  }
  sample.e2eMs = msSince(start);
  return sample;
}

/** The engine case: `requests` requests, `concurrency` at a time, as the HTTP client issues them. */
async function runEngineCase(engine: TextGenerationEngine, c: ClientCase): Promise<ClientResult> {
  const samples: Sample[] = [];
  let issued = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (issued < c.requests) {
      const prompt = c.prompts[issued++ % c.prompts.length] as readonly number[];
      const sample = await engineRequest(engine, prompt, c.outputTokens);
      // A whole answer's first token arrives with its last.
      if (!c.stream) sample.ttftMs = sample.e2eMs;
      samples.push(sample);
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  return { samples, seconds: msSince(start) / 1000 };
}

/** The HTTP client in a process of its own: one case at a time over IPC. */
class ClientProcess {
  private readonly child: ChildProcess;
  constructor() {
    this.child = fork(path.join(import.meta.dirname, 'lib', 'openai-client.ts'), ['--child'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }
  run(c: ClientCase): Promise<ClientResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the client process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: { result?: ClientResult; error?: string }) => {
        this.child.off('exit', onExit);
        if (m.result !== undefined) resolve(m.result);
        else reject(new Error(m.error ?? 'the client process failed'));
      });
      this.child.send(c);
    });
  }
  close(): void {
    this.child.kill();
  }
}

function summarize(kind: PathKind, c: ClientCase, run: ClientResult, cpuSeconds: number): CaseResult {
  const { samples, seconds } = run;
  const tokens = samples.reduce((a, s) => a + s.tokens, 0);
  const ttfts = samples.map((s) => s.ttftMs);
  const itls = samples.flatMap((s) => s.itlMs);
  return {
    path: kind,
    mode: c.stream ? 'stream' : 'whole',
    concurrency: c.concurrency,
    requests: c.requests,
    outputTokens: c.outputTokens,
    seconds,
    tokensPerSecond: tokens / seconds,
    tokensPerCpuSecond: tokens / cpuSeconds,
    ttftP50Ms: percentileOfMs(ttfts, 50),
    ttftP99Ms: percentileOfMs(ttfts, 99),
    tpotP50Ms: percentileOfMs(
      samples.map((s) => (s.e2eMs - s.ttftMs) / Math.max(1, s.tokens - 1)),
      50,
    ),
    itlP50Ms: percentileOfMs(itls, 50),
    itlP99Ms: percentileOfMs(itls, 99),
  };
}

/** Seconds of CPU the process spent (every thread, user and system) while `run` ran. */
async function withCpu<T>(run: () => Promise<T>): Promise<[T, number]> {
  const before = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(before);
  return [value, (used.user + used.system) / 1e6];
}

async function kjvRepository(maxRunning: number, threads: number): Promise<string> {
  const files = [];
  for (const f of await readdir(path.join(MODEL_DIR, '1'))) {
    files.push({ path: `kjv-tiny/1/${f}`, bytes: await readFile(path.join(MODEL_DIR, '1', f)) });
  }
  const config = (await readFile(path.join(MODEL_DIR, 'config.yaml'), 'utf8')).replace(
    /^optimization:\n/m,
    `optimization:\n  intra_op_threads: ${threads}\n`,
  );
  if (!config.includes(`intra_op_threads: ${threads}`))
    throw new Error('kjv-tiny config.yaml has no optimization block');
  // The prefix cache is off: every round after the first would hit it, flattering TTFT.
  const extra = `\ntext_generation:\n  max_running_sequences: ${maxRunning}\n  max_waiting_sequences: 1024\n  prefix_cache_blocks: 0\n`;
  files.push({ path: 'kjv-tiny/config.yaml', bytes: config + extra });
  return makeRepository(files);
}

/**
 * What one streamed token's socket write costs on this machine, the part of the edge no code can
 * remove: a chunk-sized frame written to a loopback connection whose reader is another process,
 * with `gapUs` of busy main thread between writes (as an engine step), median of `n` writes, in
 * µs. It is the system call and the reader's wake-up, which a token's chunk pays once per stream.
 */
async function socketWriteMicros(n: number, gapUs: number): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const reader = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').connect(${port}, '127.0.0.1'); s.on('data', () => {}); s.on('error', () => {});`,
    ],
    { stdio: 'ignore' },
  );
  const socket = await accepted;
  socket.setNoDelay(true);
  const frame = Buffer.alloc(250, 'x');
  const micros: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const until = process.hrtime.bigint() + BigInt(gapUs * 1000);
      while (process.hrtime.bigint() < until); // the engine's step
      const t = process.hrtime.bigint();
      socket.write(frame);
      micros.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    socket.destroy();
    reader.kill();
    server.close();
  }
  return percentileOfMs(micros, 50);
}

/** The median of the per-round ratios (each round's HTTP case against the engine case run beside it). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'output-tokens': { type: 'string', default: '64' },
      concurrency: { type: 'string', default: '1,8,32' },
      modes: { type: 'string', default: 'stream,whole' },
      paths: { type: 'string', default: 'engine,http' },
      client: { type: 'string', default: 'process' },
      threads: { type: 'string', default: '1' },
      'stream-interval': { type: 'string', default: '1' },
      repeats: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'openai-serve.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const outputTokens = Number(values['output-tokens']);
  const levels = values.concurrency.split(',').map(Number);
  const modes = values.modes.split(',') as Mode[];
  const paths = values.paths.split(',') as PathKind[];
  const repeats = Number(values.repeats);
  const maxLevel = Math.max(...levels);
  if (values.client !== 'process' && values.client !== 'same') throw new Error('--client is process or same');

  const threads = Number(values.threads);
  const streamInterval = Number(values['stream-interval']);
  const repo = await kjvRepository(maxLevel, threads);
  let server: RunningServer | undefined;
  const client = values.client === 'process' ? new ClientProcess() : undefined;
  try {
    server = await startServer({
      modelRepository: repo,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: null,
      metricsPort: null,
      logLevel: 'warn',
      modelControlMode: 'explicit',
      loadModels: ['kjv-tiny'],
      streamInterval,
    });
    const engine = requireKind(server.repository.resolve('kjv-tiny'), 'completions').textGeneration;
    // Eight verses as prompts, tokenized with the model's tokenizer (a few dozen tokens each).
    const verses = [
      'In the beginning God created the heaven and the earth.',
      'And the earth was without form, and void; and darkness was upon the face of the deep.',
      'And God said, Let there be light: and there was light.',
      'And God saw the light, that it was good: and God divided the light from the darkness.',
      'The LORD is my shepherd; I shall not want.',
      'Blessed are the meek: for they shall inherit the earth.',
      'For God so loved the world, that he gave his only begotten Son.',
      'Jesus wept.',
    ];
    const prompts = verses.map((v) => engine.tokenizer.encode(v));
    const url = server.url;
    const runHttp = (c: ClientCase): Promise<ClientResult> => (client ? client.run(c) : runClientCase(c));
    const results: CaseResult[] = [];
    const roundRatios = new Map<string, { wall: number[]; cpu: number[] }>();
    for (const concurrency of levels) {
      const requests = Math.max(8, 2 * concurrency);
      for (const mode of modes) {
        const base: ClientCase = { url, prompts, concurrency, requests, outputTokens, stream: mode === 'stream' };
        // One warm-up round per path (sockets, and the JIT a long-running server has warm), not counted.
        if (paths.includes('engine')) await runEngineCase(engine, base);
        if (paths.includes('http')) await runHttp(base);
        const best = new Map<PathKind, CaseResult>();
        const ratios = { wall: [] as number[], cpu: [] as number[] };
        for (let r = 0; r < repeats; r++) {
          const round = new Map<PathKind, CaseResult>();
          for (const kind of paths) {
            const [run, cpu] = await withCpu(() => (kind === 'engine' ? runEngineCase(engine, base) : runHttp(base)));
            const res = summarize(kind, base, run, cpu);
            round.set(kind, res);
            const prev = best.get(kind);
            if (prev === undefined || res.tokensPerSecond > prev.tokensPerSecond) best.set(kind, res);
          }
          const e = round.get('engine');
          const h = round.get('http');
          if (e !== undefined && h !== undefined) {
            ratios.wall.push(h.tokensPerSecond / e.tokensPerSecond);
            ratios.cpu.push(h.tokensPerCpuSecond / e.tokensPerCpuSecond);
          }
        }
        roundRatios.set(`${concurrency} ${mode}`, ratios);
        results.push(...best.values());
      }
    }

    const writeUs = await socketWriteMicros(2000, 250);
    const f = (v: number): string => v.toFixed(2);
    const rows = results.map((c) => [
      String(c.concurrency),
      c.mode,
      c.path === 'engine' ? 'engine (in process)' : 'HTTP /v1/completions',
      String(c.requests),
      c.tokensPerSecond.toFixed(0),
      c.tokensPerCpuSecond.toFixed(0),
      f(c.ttftP50Ms),
      f(c.ttftP99Ms),
      c.mode === 'stream' ? f(c.tpotP50Ms) : '–',
      c.mode === 'stream' ? f(c.itlP50Ms) : '–',
      c.mode === 'stream' ? f(c.itlP99Ms) : '–',
    ]);
    console.log(
      `kjv-tiny, ${outputTokens} output tokens per request, greedy, EOS ignored, prefix cache off, ` +
        `${threads} intra-op thread(s), ${streamInterval} token(s) per streamed event; ` +
        `HTTP client in ${client ? 'its own process' : 'the server process'}; best of ${repeats} interleaved rounds ` +
        `(TTFT of a whole answer is its end-to-end time)\n`,
    );
    console.log(
      markdownTable(
        [
          'conc.',
          'mode',
          'path',
          'requests',
          'tok/s',
          'tok/CPU-s',
          'TTFT p50 ms',
          'TTFT p99 ms',
          'TPOT p50 ms',
          'ITL p50 ms',
          'ITL p99 ms',
        ],
        rows,
        3,
      ),
    );
    console.log('');
    const ratioRows: string[][] = [];
    const ratioJson: {
      concurrency: number;
      mode: Mode;
      wallRatio: number;
      cpuRatio: number;
      bestRatio: number;
      cpuAddedPerTokenUs: number;
      writeCeiling: number;
    }[] = [];
    for (const c of levels) {
      for (const mode of modes) {
        const e = results.find((r) => r.concurrency === c && r.mode === mode && r.path === 'engine');
        const h = results.find((r) => r.concurrency === c && r.mode === mode && r.path === 'http');
        if (e === undefined || h === undefined) continue;
        const rounds = roundRatios.get(`${c} ${mode}`);
        const wallRatio = median(rounds?.wall ?? []);
        const cpuRatio = median(rounds?.cpu ?? []);
        const bestRatio = h.tokensPerSecond / e.tokensPerSecond;
        // The server's CPU the edge adds per token: HTTP's CPU-seconds per token less the engine's.
        const cpuAddedPerTokenUs = 1e6 * (1 / h.tokensPerCpuSecond - 1 / e.tokensPerCpuSecond);
        // The best the edge can do when each token costs the engine's CPU plus one socket write
        // (streamed) or a share of one (whole: one write per answer).
        const engineUs = 1e6 / e.tokensPerCpuSecond;
        const writesPerToken = mode === 'stream' ? 1 / streamInterval : 1 / outputTokens;
        const writeCeiling = engineUs / (engineUs + writesPerToken * writeUs);
        ratioJson.push({ concurrency: c, mode, wallRatio, cpuRatio, bestRatio, cpuAddedPerTokenUs, writeCeiling });
        const sign = (v: number): string => `${v >= 0 ? '+' : ''}${f(v)} ms`;
        ratioRows.push([
          String(c),
          mode,
          `${f(bestRatio)}×`,
          `${f(wallRatio)}×`,
          `${f(cpuRatio)}×`,
          cpuAddedPerTokenUs.toFixed(0),
          `${f(writeCeiling)}×`,
          sign(h.ttftP50Ms - e.ttftP50Ms),
          mode === 'stream' ? sign(h.tpotP50Ms - e.tpotP50Ms) : '–',
        ]);
      }
    }
    console.log(
      `one socket write (250 B to a reader in another process, 250 µs of work between writes): ${writeUs.toFixed(1)} µs, median of 2000\n`,
    );
    if (ratioRows.length > 0) {
      console.log(
        markdownTable(
          [
            'conc.',
            'mode',
            'HTTP ÷ engine tok/s (best)',
            'per round (median)',
            'tok/CPU-s (median)',
            'server CPU µs added per token',
            'ceiling: engine CPU + writes',
            'TTFT p50 added',
            'TPOT p50 added',
          ],
          ratioRows,
          2,
        ),
      );
    }
    await mkdir(path.dirname(values.out), { recursive: true });
    const client_ = client ? 'process' : 'same';
    await writeFile(
      values.out,
      JSON.stringify(
        {
          machine: describeMachine(REPO_ROOT),
          outputTokens,
          threads,
          streamInterval,
          client: client_,
          socketWriteUs: writeUs,
          results,
          ratios: ratioJson,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`\nresults: ${path.relative(process.cwd(), values.out)}`);
  } finally {
    client?.close();
    await server?.close();
    await removeRepository(repo);
  }
}

await main();
