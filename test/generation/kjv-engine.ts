// An engine on the demo decoder examples/models/kjv-tiny, and the PyTorch greedy fixtures, for
// engine tests. The tokenizer decodes each id as `<id>`, so stop strings can name token sequences.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GenerationRequest, SamplingParams, TextTokenizer } from '../../src/generation/engine-types.js';
import { GenerationEngine, type DecoderBackend, type EngineLimits } from '../../src/generation/generation-engine.js';
import type { Metrics } from '../../src/observability/metrics.js';
import { DecoderSession } from '../../src/runtime/decoder-session.js';
import { samplingParams } from './test-sampling.js';

export const KJV_MODEL = path.resolve('examples/models/kjv-tiny/1/model.onnx');

export interface GreedyCase {
  readonly prompt_token_ids: number[];
  readonly greedy_token_ids: number[];
}

export const greedyFixture = JSON.parse(readFileSync('test/fixtures/llm/kjv-tiny-greedy.json', 'utf8')) as {
  max_tokens: number;
  eos_token_id: number;
  prompts: GreedyCase[];
};

export const idTokenizer: TextTokenizer = {
  encode: () => [],
  decode: (ids) => ids.map((i) => `<${i}>`).join(''),
  applyChatTemplate: () => '',
  eosTokenIds: [greedyFixture.eos_token_id],
  vocabSize: 1536,
};

/** `decoder` may wrap the session the engine steps (tests that interfere with it). */
export async function kjvEngine(
  limits: Partial<EngineLimits> = {},
  metrics?: Metrics,
  decoder: (session: DecoderSession) => DecoderBackend = (session) => session,
): Promise<GenerationEngine> {
  const { session } = await DecoderSession.load('kjv-tiny/1', KJV_MODEL, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  return new GenerationEngine({
    modelName: 'kjv-tiny',
    contextLength: 256,
    vocabSize: 1536,
    tokenizer: idTokenizer,
    defaults: {},
    decoder: decoder(session),
    ...(metrics === undefined ? {} : { metrics }),
    limits: {
      maxRunningSequences: 8,
      maxWaitingSequences: 8,
      prefillChunkTokens: 256,
      prefixCacheBlocks: 0,
      prefixBlockTokens: 4,
      ...limits,
    },
  });
}

export function request(
  prompt: readonly number[],
  sampling: Partial<SamplingParams> = {},
  signal?: AbortSignal,
): GenerationRequest {
  return {
    requestId: 'test',
    promptTokenIds: prompt,
    sampling: samplingParams({ maxTokens: greedyFixture.max_tokens, ...sampling }),
    arrivalNs: process.hrtime.bigint(),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** Runs a sequence to the end: its token ids, text and result. */
export async function collect(
  engine: GenerationEngine,
  req: GenerationRequest,
): Promise<{ ids: number[]; text: string; result: Awaited<ReturnType<GenerationEngine['generate']>['result']> }> {
  const stream = engine.generate(req);
  const ids: number[] = [];
  let text = '';
  for await (const c of stream) {
    ids.push(...c.tokenIds);
    text += c.text;
  }
  return { ids, text, result: await stream.result };
}
