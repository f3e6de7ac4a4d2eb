// What the engine benchmarks on kjv-tiny share (structured output, tool calls): the engine loaded
// in this process on the inline decoder, and a run of requests at a concurrency, measured in
// generated tokens per second of wall time and of the process's CPU time (which other load on a
// shared machine does not inflate).

import path from 'node:path';
import type { OutputConstraint, SamplingParams } from '../../src/generation/engine-types.js';
import type { GenerationEngine } from '../../src/generation/generation-engine.js';
import { loadTextGenerationEngine } from '../../src/generation/load-engine.js';

const MODEL_DIR = path.resolve(import.meta.dirname, '../../examples/models/kjv-tiny/1');

/** kjv-tiny with one intra-op thread and the decoder inline (no worker hop in the figures). */
export function loadKjvEngine(): Promise<GenerationEngine> {
  return loadTextGenerationEngine({
    modelName: 'kjv-tiny',
    dir: MODEL_DIR,
    config: undefined,
    session: { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] },
    inline: true,
  });
}

/**
 * A benchmark request's sampling: temperature 0.8 unless given (0 = greedy), every other knob off,
 * the seed given. The caller says how free text is held to its budget (`minTokens` or `ignoreEos`)
 * and, for the constrained case, the constraint.
 */
export function benchSampling(o: {
  readonly maxTokens: number;
  readonly seed?: number;
  readonly temperature?: number;
  readonly constraint?: OutputConstraint | undefined;
  readonly minTokens?: number;
  readonly ignoreEos?: boolean;
}): SamplingParams {
  return {
    maxTokens: o.maxTokens,
    minTokens: o.minTokens ?? 0,
    temperature: o.temperature ?? 0.8,
    topK: 0,
    topP: 1,
    minP: 0,
    repetitionPenalty: 1,
    frequencyPenalty: 0,
    presencePenalty: 0,
    logitBias: new Map(),
    seed: o.seed,
    stop: [],
    stopTokenIds: [],
    ignoreEos: o.ignoreEos ?? false,
    logprobs: undefined,
    ...(o.constraint === undefined ? {} : { constraint: o.constraint }),
  };
}

export interface EngineRun {
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly tokensPerCpuSecond: number;
  /** Each request's text as the engine streamed it, piece by piece. */
  readonly pieces: readonly (readonly string[])[];
}

/** Runs `requests` sequences, `concurrency` at a time; request i is `prompts[i % n]` with `sampling(i)`. */
export async function runRequests(
  engine: GenerationEngine,
  o: {
    readonly concurrency: number;
    readonly requests: number;
    readonly prompts: readonly string[];
    readonly sampling: (i: number) => SamplingParams;
  },
): Promise<EngineRun> {
  let next = 0;
  let tokens = 0;
  const pieces: string[][] = [];
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < o.requests) {
      const i = next++;
      const stream = engine.generate({
        requestId: `bench-${i}`,
        promptTokenIds: engine.tokenizer.encode(o.prompts[i % o.prompts.length] as string),
        sampling: o.sampling(i),
        arrivalNs: process.hrtime.bigint(),
      });
      const text: string[] = [];
      for await (const chunk of stream) text.push(chunk.text);
      pieces.push(text);
      // Awaited first: `tokens += await …` would read `tokens` before the wait and lose the
      // counts other workers added meanwhile.
      const { completionTokens } = await stream.result;
      tokens += completionTokens;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    tokens,
    tokensPerSecond: tokens / seconds,
    tokensPerCpuSecond: tokens / ((used.user + used.system) / 1e6),
    pieces,
  };
}
