// Tokens/s of the engine on kjv-tiny under a JSON schema (xgrammar's token mask computed and applied
// at every token) against free text, the same prompts, the same number of tokens and the same
// sampling, at concurrency 1 and 8, in one process and one run. The schema is one long string
// field, so both cases generate their full token budget. Printed as ratios (goal: ≥ 0.90), with
// the per-token cost of the mask (from the two rates, and measured alone); JSON results in bench/results/structured.json.
// Run: npm run bench:structured (--help).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { OutputConstraint, SamplingParams } from '../src/generation/engine-types.js';
import type { GenerationEngine } from '../src/generation/generation-engine.js';
import { ConstraintCompiler, grammarVocabulary } from '../src/generation/grammar.js';
import { loadTextGenerationEngine } from '../src/generation/load-engine.js';
import { applyTokenMask } from '../src/generation/token-mask.js';
import type { HfTokenizer } from '../src/generation/tokenizer.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODEL_DIR = path.join(REPO_ROOT, 'examples', 'models', 'kjv-tiny', '1');

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
  return {
    maxTokens,
    minTokens: 0,
    temperature: 0.8,
    topK: 0,
    topP: 1,
    minP: 0,
    repetitionPenalty: 1,
    frequencyPenalty: 0,
    presencePenalty: 0,
    logitBias: new Map(),
    seed,
    stop: [],
    stopTokenIds: [],
    // Free text runs its whole budget; the constrained case is held to it by its open string.
    ignoreEos: constraint === undefined,
    logprobs: undefined,
    ...(constraint === undefined ? {} : { constraint }),
  };
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

/** Runs `requests` sequences at `concurrency`; returns generated tokens per second. */
async function measure(
  engine: GenerationEngine,
  concurrency: number,
  requests: number,
  maxTokens: number,
  constraint: OutputConstraint | undefined,
): Promise<{ tokensPerSecond: number; tokens: number }> {
  let next = 0;
  let tokens = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < requests) {
      const i = next++;
      const prompt = engine.tokenizer.encode(PROMPTS[i % PROMPTS.length] as string);
      const stream = engine.generate({
        requestId: `bench-${i}`,
        promptTokenIds: prompt,
        sampling: sampling(maxTokens, constraint, i + 1),
        arrivalNs: process.hrtime.bigint(),
      });
      for await (const chunk of stream) void chunk;
      tokens += (await stream.result).completionTokens;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { tokensPerSecond: tokens / seconds, tokens };
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
  const engine = await loadTextGenerationEngine({
    modelName: 'kjv-tiny',
    dir: MODEL_DIR,
    config: undefined,
    session: { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] },
    inline: true,
  });
  try {
    // Warm-up: the decoder, and the grammar runtime with the schema compiled (as every request
    // after the first finds it in the cache).
    await measure(engine, 1, 2, 8, undefined);
    await measure(engine, 1, 2, 8, SCHEMA);
    const rows: string[][] = [];
    const results: Record<string, unknown>[] = [];
    for (const concurrency of [1, 8]) {
      let free = 0;
      let json = 0;
      for (let r = 0; r < repeats; r++) {
        free = Math.max(free, (await measure(engine, concurrency, requests, maxTokens, undefined)).tokensPerSecond);
        json = Math.max(json, (await measure(engine, concurrency, requests, maxTokens, SCHEMA)).tokensPerSecond);
      }
      const overheadUs = (1 / json - 1 / free) * 1e6;
      rows.push([
        String(concurrency),
        free.toFixed(0),
        json.toFixed(0),
        `${(json / free).toFixed(2)}x`,
        overheadUs.toFixed(0),
      ]);
      results.push({
        concurrency,
        freeTokensPerSecond: free,
        jsonTokensPerSecond: json,
        ratio: json / free,
        overheadUs,
      });
    }
    console.log(
      markdownTable(
        ['concurrency', 'free text tok/s', 'JSON schema tok/s', 'JSON / free', 'mask cost per token (µs)'],
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
