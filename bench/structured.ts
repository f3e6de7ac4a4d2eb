// Tokens/s of the engine on kjv-tiny under a JSON schema (xgrammar's token mask computed and applied
// at every token) against free text, the same prompts, the same number of tokens and the same
// sampling, at concurrency 1 and 8, in one process and one run. The schema is one long string
// field, so both cases generate their full token budget. Printed as ratios (goal: ≥ 0.90) of
// tokens per second of wall time and per second of CPU time (the steadier figure on a shared
// machine), with the per-token cost of the mask (from the two rates, and measured alone); JSON results in bench/results/structured.json.
// Run: npm run bench:structured (--help).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { OutputConstraint, SamplingParams } from '../src/generation/engine-types.js';
import type { GenerationEngine } from '../src/generation/generation-engine.js';
import { ConstraintCompiler } from '../src/generation/grammar.js';
import { grammarVocabulary } from '../src/generation/grammar-vocabulary.js';
import { applyTokenMask } from '../src/generation/token-mask.js';
import type { HfTokenizer } from '../src/generation/tokenizer.js';
import { benchSampling, loadKjvEngine, runRequests, type EngineRun } from './lib/engine-runs.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

const USAGE = `usage: node --import tsx bench/structured.ts [options]
  --output-tokens <n>  tokens per request (default 64)
  --requests <n>       requests per case and concurrency (default 32)
  --repeats <n>        interleaved rounds; each case reports its best (default 3)
  --out <file>         JSON results (default bench/results/structured.json)`;

const SCHEMA: OutputConstraint = {
  kind: 'json',
  schema: { type: 'object', properties: { verse: { type: 'string' } }, required: ['verse'] },
};
const PROMPTS = ['In the beginning', 'And God said', 'Who begat Enos?', 'The LORD is my shepherd'];

function sampling(maxTokens: number, constraint: OutputConstraint | undefined, seed: number): SamplingParams {
  // Free text runs its whole budget; the constrained case is held to it by its open string.
  return benchSampling({ maxTokens, seed, constraint, ignoreEos: constraint === undefined });
}

/**
 * The mask's own cost per token: a matcher walks a JSON text of the schema token by token,
 * computing the bitmask and applying it to a row of logits at each one.
 */
async function maskCostUs(engine: GenerationEngine, vocabSize: number): Promise<number> {
  const compiler = new ConstraintCompiler({
    vocabulary: grammarVocabulary((engine.tokenizer as HfTokenizer).tokenizerJson),
    vocabSize,
    stopTokenIds: engine.tokenizer.eosTokenIds,
  });
  const ids = engine.tokenizer.encode(
    JSON.stringify({ verse: 'And God said, Let there be light: and there was light.' }).replace(':', ': '),
    { addSpecialTokens: false },
  );
  const logits = new Float32Array(vocabSize);
  let best = Infinity;
  try {
    for (let round = 0; round < 20; round++) {
      const matcher = await compiler.matcher(SCHEMA);
      const start = process.hrtime.bigint();
      for (const id of ids) {
        applyTokenMask(logits, await matcher.mask());
        if (!matcher.accept(id)) throw new Error(`the schema refused token ${id}`);
      }
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / ids.length);
      matcher.dispose();
    }
  } finally {
    await compiler.close();
  }
  return best;
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'output-tokens': { type: 'string', default: '64' },
      requests: { type: 'string', default: '32' },
      repeats: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'structured.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const maxTokens = Number(values['output-tokens']);
  const requests = Number(values.requests);
  const repeats = Number(values.repeats);
  const engine = await loadKjvEngine();
  try {
    // Warm-up: the decoder, and the grammar runtime with the schema compiled (as every request
    // after the first finds it in the cache).
    await measure(engine, 1, 2, 8, undefined);
    await measure(engine, 1, 2, 8, SCHEMA);
    const rows: string[][] = [];
    const results: Record<string, unknown>[] = [];
    for (const concurrency of [1, 8]) {
      const free = { wall: 0, cpu: 0 };
      const json = { wall: 0, cpu: 0 };
      for (let r = 0; r < repeats; r++) {
        for (const [best, constraint] of [
          [free, undefined],
          [json, SCHEMA],
        ] as const) {
          const m = await measure(engine, concurrency, requests, maxTokens, constraint);
          best.wall = Math.max(best.wall, m.tokensPerSecond);
          best.cpu = Math.max(best.cpu, m.tokensPerCpuSecond);
        }
      }
      const overheadUs = (1 / json.cpu - 1 / free.cpu) * 1e6;
      rows.push([
        String(concurrency),
        free.wall.toFixed(0),
        json.wall.toFixed(0),
        `${(json.wall / free.wall).toFixed(2)}x`,
        free.cpu.toFixed(0),
        json.cpu.toFixed(0),
        `${(json.cpu / free.cpu).toFixed(2)}x`,
        overheadUs.toFixed(0),
      ]);
      results.push({
        concurrency,
        free,
        json,
        wallRatio: json.wall / free.wall,
        cpuRatio: json.cpu / free.cpu,
        overheadUs,
      });
    }
    console.log(
      markdownTable(
        [
          'concurrency',
          'free tok/s',
          'JSON tok/s',
          'JSON / free',
          'free tok/CPU-s',
          'JSON tok/CPU-s',
          'JSON / free (CPU)',
          'CPU µs added per token',
        ],
        rows,
        1,
      ),
    );
    const maskUs = await maskCostUs(engine, engine.tokenizer.vocabSize);
    console.log(`\n${maxTokens} tokens per request, ${requests} requests per case, best of ${repeats} rounds.`);
    console.log(
      `The mask alone (bitmask from xgrammar + applied to ${engine.tokenizer.vocabSize} logits): ${maskUs.toFixed(1)} µs per token.`,
    );
    await mkdir(path.dirname(values.out), { recursive: true });
    await writeFile(
      values.out,
      JSON.stringify({ machine: describeMachine(REPO_ROOT), maxTokens, requests, repeats, results, maskUs }, null, 2),
    );
  } finally {
    await engine.close();
  }
}

await main();
