// What a required tool call costs on kjv-tiny: tokens per second of the engine writing one call
// under the structural tag that tool_choice "required" builds (xgrammar's mask at every token)
// against free text of the same length, the same prompts and sampling, at concurrency 1 and 8, in
// one process and one run; and the Hermes parser's own cost, streaming the generated calls token by
// token. Printed as ratios of tokens per second of wall time and of CPU time (the steadier figure on
// a shared machine); JSON results in bench/results/tool-calls.json.
// Run: npm run bench:tool-calls (--help).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { OutputConstraint, SamplingParams } from '../src/generation/engine-types.js';
import type { GenerationEngine } from '../src/generation/generation-engine.js';
import { hermesToolCalls } from '../src/protocols/openai/hermes-tool-calls.js';
import { planToolUse, toolConstraint } from '../src/protocols/openai/tool-calls.js';
import { benchSampling, loadKjvEngine, runRequests, type EngineRun } from './lib/engine-runs.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

const USAGE = `usage: node --import tsx bench/tool-calls.ts [options]
  --requests <n>  requests per case and concurrency (default 32)
  --repeats <n>   interleaved rounds; each case reports its best (default 3)
  --out <file>    JSON results (default bench/results/tool-calls.json)`;

const USE = planToolUse(
  [
    {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string', enum: ['Paris', 'Rome', 'Jerusalem'] },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
    },
  ],
  'required',
  false,
  hermesToolCalls,
);
const CALL = USE === undefined ? undefined : toolConstraint(USE);
const PROMPTS = ['Weather in Rome?', 'And God said', 'Is it cold in Jerusalem?', 'The LORD is my shepherd'];

function sampling(maxTokens: number, constraint: OutputConstraint | undefined, seed: number): SamplingParams {
  // Free text runs its whole budget, as long as the calls are (min_tokens keeps the end-of-turn
  // token from being sampled; ignore_eos would let the model write it, and text past its turn).
  return benchSampling({ maxTokens, seed, constraint, minTokens: constraint === undefined ? maxTokens : 0 });
}

/** `requests` sequences at `concurrency` over the prompts, each with its own seed. */
function measure(
  engine: GenerationEngine,
  concurrency: number,
  requests: number,
  maxTokens: number,
  constraint: OutputConstraint | undefined,
): Promise<EngineRun> {
  return runRequests(engine, {
    concurrency,
    requests,
    prompts: PROMPTS,
    sampling: (i) => sampling(maxTokens, constraint, i + 1),
  });
}

/** The streaming parser's cost per engine chunk (about one token), over texts the engine wrote. */
function parserCostUs(texts: EngineRun['pieces']): { us: number; calls: number } {
  let best = Infinity;
  let calls = 0;
  for (let round = 0; round < 20; round++) {
    let chunks = 0;
    calls = 0;
    const start = process.hrtime.bigint();
    for (const pieces of texts) {
      const stream = hermesToolCalls.stream();
      for (const piece of pieces) {
        for (const e of stream.push(piece)) if (e.type === 'call') calls++;
        chunks++;
      }
      stream.finish();
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / chunks);
  }
  return { us: best, calls };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '32' },
      repeats: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'tool-calls.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (CALL === undefined) throw new Error('the benchmark tool gave no constraint');
  const requests = Number(values.requests);
  const repeats = Number(values.repeats);
  const engine = await loadKjvEngine();
  try {
    // Warm-up, and the length of a call, which free text then matches.
    await measure(engine, 1, 2, 8, undefined);
    const probe = await measure(engine, 1, 8, 120, CALL);
    const maxTokens = Math.round(probe.tokens / 8);
    const rows: string[][] = [];
    const results: Record<string, unknown>[] = [];
    let callTexts: EngineRun['pieces'] = [];
    for (const concurrency of [1, 8]) {
      const free = { wall: 0, cpu: 0 };
      const call = { wall: 0, cpu: 0 };
      for (let r = 0; r < repeats; r++) {
        const f = await measure(engine, concurrency, requests, maxTokens, undefined);
        const c = await measure(engine, concurrency, requests, 120, CALL);
        callTexts = c.pieces;
        free.wall = Math.max(free.wall, f.tokensPerSecond);
        free.cpu = Math.max(free.cpu, f.tokensPerCpuSecond);
        call.wall = Math.max(call.wall, c.tokensPerSecond);
        call.cpu = Math.max(call.cpu, c.tokensPerCpuSecond);
      }
      rows.push([
        String(concurrency),
        free.wall.toFixed(0),
        call.wall.toFixed(0),
        `${(call.wall / free.wall).toFixed(2)}x`,
        free.cpu.toFixed(0),
        call.cpu.toFixed(0),
        `${(call.cpu / free.cpu).toFixed(2)}x`,
      ]);
      results.push({ concurrency, free, call, wallRatio: call.wall / free.wall, cpuRatio: call.cpu / free.cpu });
    }
    console.log(
      markdownTable(
        [
          'concurrency',
          'free tok/s',
          'call tok/s',
          'call / free',
          'free tok/CPU-s',
          'call tok/CPU-s',
          'call / free (CPU)',
        ],
        rows,
        1,
      ),
    );
    const parser = parserCostUs(callTexts);
    const freeCpu = (results[0]?.['free'] as { cpu: number }).cpu;
    console.log(`\nA call is ${maxTokens} tokens; ${requests} requests per case, best of ${repeats} rounds.`);
    console.log(
      `The Hermes stream parser: ${parser.us.toFixed(2)} µs per streamed piece (${parser.calls} calls read), ` +
        `${((parser.us * freeCpu) / 1e4).toFixed(2)}% of a free-text token's CPU time at concurrency 1.`,
    );
    await mkdir(path.dirname(values.out), { recursive: true });
    await writeFile(
      values.out,
      JSON.stringify(
        { machine: describeMachine(REPO_ROOT), maxTokens, requests, repeats, results, parserUs: parser.us },
        null,
        2,
      ),
    );
  } finally {
    await engine.close();
  }
}

await main();
