// The OpenAI-compatible API under load, `vllm bench serve` style: streamed /v1/completions on the
// demo decoder kjv-tiny at a fixed concurrency (1, 8, 32), measured at the client — TTFT, TPOT =
// (e2e − TTFT) / (tokens − 1), ITL = gaps between streamed chunks, output tokens/s. Compared in the
// same run with the same engine driven directly (no HTTP, JSON or SSE), so the ratio is what the
// API edge costs. Server and client share this process (and its cores).
// Run: node --import tsx bench/openai-serve.ts (--help).

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TextGenerationEngine } from '../src/generation/engine-types.js';
import { requireKind } from '../src/model-kinds/serving-kinds.js';
import { startServer, type RunningServer } from '../src/server.js';
import { makeRepository, removeRepository } from '../test/helpers/test-server.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';
import { percentileOfMs } from './lib/latency-stats.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODEL_DIR = path.join(REPO_ROOT, 'examples', 'models', 'kjv-tiny');

const USAGE = `usage: node --import tsx bench/openai-serve.ts [options]
  --output-tokens <n>  tokens generated per request (EOS ignored; default 64)
  --concurrency <list> comma-separated levels (default 1,8,32)
  --repeats <n>        rounds over every case, interleaved; each case reports its best round (default 2)
  --out <file>         JSON results (default bench/results/openai-serve.json)`;

interface Sample {
  ttftMs: number;
  e2eMs: number;
  tokens: number;
  itlMs: number[];
}

interface CaseResult {
  readonly path: 'engine' | 'http';
  readonly concurrency: number;
  readonly requests: number;
  readonly outputTokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
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
    sampling: {
      maxTokens: tokens,
      minTokens: 0,
      temperature: 0,
      topK: 0,
      topP: 1,
      minP: 0,
      repetitionPenalty: 1,
      frequencyPenalty: 0,
      presencePenalty: 0,
      logitBias: new Map(),
      seed: undefined,
      stop: [],
      stopTokenIds: [],
      ignoreEos: true,
      logprobs: undefined,
    },
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

/** One streamed /v1/completions request, timed at the client as `vllm bench serve` does. */
async function httpRequest(url: string, prompt: readonly number[], tokens: number): Promise<Sample> {
  const start = process.hrtime.bigint();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'kjv-tiny',
      prompt,
      max_tokens: tokens,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status !== 200 || res.body === null) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const sample: Sample = { ttftMs: NaN, e2eMs: 0, tokens: 0, itlMs: [] };
  const decoder = new TextDecoder();
  let buffered = '';
  let last = start;
  for await (const bytes of res.body) {
    buffered += decoder.decode(bytes as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(6, end); // after "data: "
      buffered = buffered.slice(end + 2);
      if (event === '[DONE]') continue;
      const chunk = JSON.parse(event) as {
        choices: { text: string }[];
        usage?: { completion_tokens: number } | null;
      };
      if (chunk.usage != null) sample.tokens = chunk.usage.completion_tokens;
      if ((chunk.choices[0]?.text ?? '') === '') continue;
      const now = process.hrtime.bigint();
      if (Number.isNaN(sample.ttftMs)) sample.ttftMs = msSince(start);
      else sample.itlMs.push(Number(now - last) / 1e6);
      last = now;
    }
  }
  sample.e2eMs = msSince(start);
  return sample;
}

async function runCase(
  kind: CaseResult['path'],
  one: (prompt: readonly number[]) => Promise<Sample>,
  prompts: readonly (readonly number[])[],
  concurrency: number,
  requests: number,
  outputTokens: number,
): Promise<CaseResult> {
  const samples: Sample[] = [];
  let issued = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (issued < requests) {
      const prompt = prompts[issued++ % prompts.length] as readonly number[];
      samples.push(await one(prompt));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = msSince(start) / 1000;
  const tokens = samples.reduce((a, s) => a + s.tokens, 0);
  return {
    path: kind,
    concurrency,
    requests,
    outputTokens,
    seconds,
    tokensPerSecond: tokens / seconds,
    ttftP50Ms: percentileOfMs(
      samples.map((s) => s.ttftMs),
      50,
    ),
    ttftP99Ms: percentileOfMs(
      samples.map((s) => s.ttftMs),
      99,
    ),
    tpotP50Ms: percentileOfMs(
      samples.map((s) => (s.e2eMs - s.ttftMs) / Math.max(1, s.tokens - 1)),
      50,
    ),
    itlP50Ms: percentileOfMs(
      samples.flatMap((s) => s.itlMs),
      50,
    ),
    itlP99Ms: percentileOfMs(
      samples.flatMap((s) => s.itlMs),
      99,
    ),
  };
}

async function kjvRepository(maxRunning: number): Promise<string> {
  const files = [];
  for (const f of await readdir(path.join(MODEL_DIR, '1'))) {
    files.push({ path: `kjv-tiny/1/${f}`, bytes: await readFile(path.join(MODEL_DIR, '1', f)) });
  }
  const config = await readFile(path.join(MODEL_DIR, 'config.yaml'), 'utf8');
  // The prefix cache is off: every round after the first would hit it, flattering TTFT.
  const extra = `\ntext_generation:\n  max_running_sequences: ${maxRunning}\n  max_waiting_sequences: 1024\n  prefix_cache_blocks: 0\n`;
  files.push({ path: 'kjv-tiny/config.yaml', bytes: config + extra });
  return makeRepository(files);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'output-tokens': { type: 'string', default: '64' },
      concurrency: { type: 'string', default: '1,8,32' },
      repeats: { type: 'string', default: '2' },
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
  const repeats = Number(values.repeats);
  const maxLevel = Math.max(...levels);

  const repo = await kjvRepository(maxLevel);
  let server: RunningServer | undefined;
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
    const results: CaseResult[] = [];
    for (const concurrency of levels) {
      const requests = Math.max(8, 2 * concurrency);
      const best = new Map<CaseResult['path'], CaseResult>();
      await runCase('http', (p) => httpRequest(url, p, outputTokens), prompts, concurrency, concurrency, outputTokens);
      for (let r = 0; r < repeats; r++) {
        for (const kind of ['engine', 'http'] as const) {
          const one =
            kind === 'engine'
              ? (p: readonly number[]) => engineRequest(engine, p, outputTokens)
              : (p: readonly number[]) => httpRequest(url, p, outputTokens);
          const res = await runCase(kind, one, prompts, concurrency, requests, outputTokens);
          const prev = best.get(kind);
          if (prev === undefined || res.tokensPerSecond > prev.tokensPerSecond) best.set(kind, res);
        }
      }
      results.push(...best.values());
    }

    const f = (v: number): string => v.toFixed(2);
    const rows = results.map((c) => [
      String(c.concurrency),
      c.path === 'engine' ? 'engine (in process)' : 'HTTP /v1/completions (SSE)',
      String(c.requests),
      c.tokensPerSecond.toFixed(0),
      f(c.ttftP50Ms),
      f(c.ttftP99Ms),
      f(c.tpotP50Ms),
      f(c.itlP50Ms),
      f(c.itlP99Ms),
    ]);
    console.log(`kjv-tiny, ${outputTokens} output tokens per request, greedy, EOS ignored, prefix cache off\n`);
    console.log(
      markdownTable(
        ['conc.', 'path', 'requests', 'tok/s', 'TTFT p50 ms', 'TTFT p99 ms', 'TPOT p50 ms', 'ITL p50 ms', 'ITL p99 ms'],
        rows,
        2,
      ),
    );
    console.log('');
    const ratios = levels.map((c) => {
      const e = results.find((r) => r.concurrency === c && r.path === 'engine');
      const h = results.find((r) => r.concurrency === c && r.path === 'http');
      return [
        String(c),
        `${f((h?.tokensPerSecond ?? NaN) / (e?.tokensPerSecond ?? NaN))}×`,
        `+${f((h?.ttftP50Ms ?? NaN) - (e?.ttftP50Ms ?? NaN))} ms`,
        `+${f((h?.tpotP50Ms ?? NaN) - (e?.tpotP50Ms ?? NaN))} ms`,
      ];
    });
    console.log(markdownTable(['conc.', 'HTTP / engine tok/s', 'TTFT p50 added', 'TPOT p50 added'], ratios, 1));
    await mkdir(path.dirname(values.out), { recursive: true });
    await writeFile(
      values.out,
      JSON.stringify({ machine: describeMachine(REPO_ROOT), outputTokens, results }, null, 2) + '\n',
    );
    console.log(`\nresults: ${path.relative(process.cwd(), values.out)}`);
  } finally {
    await server?.close();
    await removeRepository(repo);
  }
}

await main();
