// Speculative decoding on kjv-tiny, in process: output tokens/s with prompt-lookup (ngram) drafts
// and with a draft model, each against the same engine without speculation, at concurrency 1, 8
// and 32, on two workloads: `quote` (a chat that asks to repeat a passage it gives: the output
// repeats the prompt, where lookup pays) and `free` (the fixture's short prompts, sampled at the
// model's default temperature 0.8 and top_p 0.95: little to look up). The draft model is kjv-tiny
// itself, so every greedy draft is accepted and a draft step costs as much as a target step: on
// this model it shows the acceptance ceiling and the cost of drafting, not a small draft's gain.
// `ngram, off from 4 running` sets disable_by_batch_size 4. Prints ratios to the same run's
// baseline with the acceptance rate (accepted / drafted tokens) and the tokens a drafted step gave,
// in wall-clock tokens/s and in tokens per CPU-second of the process (the decoder runs inline with
// one thread, so CPU time is the work done; on a shared machine it varies far less than wall
// time). Each case keeps its best round by CPU time.
// Run: npm run bench:speculative (--help).

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import type { SamplingParams, TextTokenizer } from '../src/generation/engine-types.js';
import { DraftModelDrafter } from '../src/generation/draft-model-drafter.js';
import { GenerationEngine } from '../src/generation/generation-engine.js';
import { PromptLookupDrafter } from '../src/generation/prompt-lookup.js';
import type { SpeculativeOptions } from '../src/generation/speculative.js';
import { loadTokenizer } from '../src/generation/tokenizer.js';
import { Metrics } from '../src/observability/metrics.js';
import { InlineDecoder } from '../src/runtime/decoder-inline.js';
import type { SessionOptionsWire } from '../src/runtime/worker-messages.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODEL_DIR = path.join(REPO_ROOT, 'examples', 'models', 'kjv-tiny', '1');
const MODEL = path.join(MODEL_DIR, 'model.onnx');

const USAGE = `usage: node --import tsx bench/speculative.ts [options]
  --output-tokens <n>  tokens generated per request (EOS ignored; default 64)
  --k <n>              num_speculative_tokens (default 4)
  --concurrency <list> comma-separated levels (default 1,8,32)
  --repeats <n>        rounds over every case, interleaved; each case keeps its best round (default 3)
  --out <file>         JSON results (default bench/results/speculative.json)`;

type Mode = 'off' | 'ngram' | 'ngram, off from 4 running' | 'draft model';
type Workload = 'quote' | 'free';

interface CaseResult {
  readonly workload: Workload;
  readonly mode: Mode;
  readonly concurrency: number;
  readonly tokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  /** Tokens per second of the process's CPU time: steadier than wall time on a shared machine. */
  readonly tokensPerCpuSecond: number;
  readonly drafts: number;
  readonly draftTokens: number;
  readonly acceptedTokens: number;
}

const OPTIONS: SessionOptionsWire = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
};

function sampling(workload: Workload, maxTokens: number, seed: number): SamplingParams {
  return {
    maxTokens,
    minTokens: 0,
    temperature: workload === 'quote' ? 0 : 0.8,
    topK: 0,
    topP: workload === 'quote' ? 1 : 0.95,
    minP: 0,
    repetitionPenalty: 1,
    frequencyPenalty: 0,
    presencePenalty: 0,
    logitBias: new Map(),
    seed,
    stop: [],
    stopTokenIds: [],
    ignoreEos: true,
    logprobs: undefined,
  };
}

async function counterValue(c: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await c.get()).values.reduce((s, v) => s + v.value, 0);
}

async function runCase(
  workload: Workload,
  mode: Mode,
  concurrency: number,
  tokenizer: TextTokenizer,
  prompts: readonly (readonly number[])[],
  outputTokens: number,
  k: number,
): Promise<CaseResult> {
  const metrics = new Metrics();
  const { session } = await InlineDecoder.load(MODEL, OPTIONS);
  let speculative: SpeculativeOptions | undefined;
  if (mode === 'ngram')
    speculative = { drafter: new PromptLookupDrafter(2, 4), numSpeculativeTokens: k, disableByBatchSize: Infinity };
  if (mode === 'ngram, off from 4 running')
    speculative = { drafter: new PromptLookupDrafter(2, 4), numSpeculativeTokens: k, disableByBatchSize: 4 };
  if (mode === 'draft model') {
    const draft = (await InlineDecoder.load(MODEL, OPTIONS)).session;
    speculative = { drafter: new DraftModelDrafter(draft), numSpeculativeTokens: k, disableByBatchSize: Infinity };
  }
  const engine = new GenerationEngine({
    modelName: 'kjv-tiny',
    contextLength: 256,
    vocabSize: 1536,
    tokenizer,
    defaults: {},
    decoder: session,
    metrics,
    ...(speculative === undefined ? {} : { speculative }),
    limits: {
      maxRunningSequences: 32,
      maxWaitingSequences: 1024,
      prefillChunkTokens: 256,
      prefixCacheBlocks: 0,
      prefixBlockTokens: 16,
    },
  });
  const requests = Math.max(8, 2 * concurrency);
  let issued = 0;
  let tokens = 0;
  const client = async (): Promise<void> => {
    while (issued < requests) {
      const i = issued++;
      const stream = engine.generate({
        requestId: String(i),
        promptTokenIds: prompts[i % prompts.length] as readonly number[],
        sampling: sampling(workload, outputTokens, i + 1),
        arrivalNs: process.hrtime.bigint(),
      });
      for await (const c of stream) tokens += c.tokenIds.length;
    }
  };
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await engine.close();
  return {
    workload,
    mode,
    concurrency,
    tokens,
    seconds,
    tokensPerSecond: tokens / seconds,
    tokensPerCpuSecond: tokens / cpuSeconds,
    drafts: await counterValue(metrics.specDrafts),
    draftTokens: await counterValue(metrics.specDraftTokens),
    acceptedTokens: await counterValue(metrics.specAcceptedTokens),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'output-tokens': { type: 'string', default: '64' },
      k: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '1,8,32' },
      repeats: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'speculative.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const outputTokens = Number(values['output-tokens']);
  const k = Number(values.k);
  const levels = values.concurrency.split(',').map(Number);
  const tokenizer = await loadTokenizer(MODEL_DIR);
  const verses = [
    'In the beginning God created the heaven and the earth.',
    'And God said, Let there be light: and there was light.',
    'The LORD is my shepherd; I shall not want.',
    'Blessed are the meek: for they shall inherit the earth.',
    'For God so loved the world, that he gave his only begotten Son.',
    'And the LORD spake unto Moses, saying, Speak unto the children of Israel.',
  ];
  const quote = verses.map((v) =>
    tokenizer.encode(
      tokenizer.applyChatTemplate([{ role: 'user', content: `Repeat this passage word for word: ${v} ${v}` }]) +
        v.slice(0, 12),
    ),
  );
  const fixture = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'llm', 'kjv-tiny-greedy.json'), 'utf8'),
  ) as {
    prompts: { prompt_token_ids: number[] }[];
  };
  const free = fixture.prompts.map((p) => p.prompt_token_ids);
  const best = new Map<string, CaseResult>();
  const modes: Mode[] = ['off', 'ngram', 'ngram, off from 4 running', 'draft model'];
  const workloads: Workload[] = ['quote', 'free'];
  // Warm-up: the first runs of a session pay for allocations.
  await runCase('quote', 'ngram', 1, tokenizer, quote, 16, k);
  for (let round = 0; round < Number(values.repeats); round++) {
    for (const w of workloads)
      for (const c of levels)
        for (const m of modes) {
          const r = await runCase(w, m, c, tokenizer, w === 'quote' ? quote : free, outputTokens, k);
          const key = `${w}/${m}/${c}`;
          const prev = best.get(key);
          if (prev === undefined || r.tokensPerCpuSecond > prev.tokensPerCpuSecond) best.set(key, r);
          console.error(`${key}: ${r.tokensPerSecond.toFixed(0)} tok/s, ${r.tokensPerCpuSecond.toFixed(0)} tok/CPU-s`);
        }
  }
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const rows: string[][] = [];
  for (const w of workloads)
    for (const c of levels) {
      const off = best.get(`${w}/off/${c}`);
      for (const m of modes) {
        const r = best.get(`${w}/${m}/${c}`);
        if (r === undefined || off === undefined) continue;
        rows.push([
          w,
          String(c),
          m,
          f(r.tokensPerSecond, 0),
          f(r.tokensPerSecond / off.tokensPerSecond),
          f(r.tokensPerCpuSecond, 0),
          f(r.tokensPerCpuSecond / off.tokensPerCpuSecond),
          r.drafts === 0 ? '—' : `${f((100 * r.acceptedTokens) / r.draftTokens, 1)}%`,
          r.drafts === 0 ? '—' : f((r.acceptedTokens + r.drafts) / r.drafts),
        ]);
      }
    }
  console.log(
    markdownTable(
      [
        'workload',
        'concurrency',
        'speculation',
        'output tok/s',
        '× off',
        'tok / CPU-s',
        '× off (CPU)',
        'acceptance',
        'tokens / drafted step',
      ],
      rows,
      3,
    ),
  );
  await mkdir(path.dirname(values.out), { recursive: true });
  await writeFile(
    values.out,
    `${JSON.stringify({ outputTokens, k, machine: describeMachine(REPO_ROOT), loadAverage: os.loadavg(), results: [...best.values()] }, null, 2)}\n`,
  );
}

await main();
