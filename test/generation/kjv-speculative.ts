// Engines on kjv-tiny with speculative decoding, and drafters for tests: prompt lookup, kjv-tiny
// as its own draft model (which must propose exactly the greedy tokens), and a drafter that is
// always wrong (every draft token rejected), each counting what it was asked.

import path from 'node:path';
import { DraftModelDrafter } from '../../src/generation/draft-model-drafter.js';
import type { EngineLimits, GenerationEngine } from '../../src/generation/generation-engine.js';
import { ConstraintCompiler } from '../../src/generation/grammar.js';
import { grammarVocabulary } from '../../src/generation/grammar-vocabulary.js';
import { loadTokenizer } from '../../src/generation/tokenizer.js';
import { GenerationEngine as Engine } from '../../src/generation/generation-engine.js';
import { PromptLookupDrafter } from '../../src/generation/prompt-lookup.js';
import type { DraftRequest, Drafter } from '../../src/generation/speculative.js';
import type { Metrics } from '../../src/observability/metrics.js';
import { InlineDecoder } from '../../src/runtime/decoder-inline.js';
import { DecoderSession } from '../../src/runtime/decoder-session.js';
import { idTokenizer, KJV_MODEL } from './kjv-engine.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

export type DrafterKind = 'ngram' | 'draft-model' | 'always-wrong';

/** Delegates to a drafter and records every request it was given. */
export class CountingDrafter implements Drafter {
  readonly asked: DraftRequest[] = [];
  /** What `probe` read at each proposal (a test points it at the engine's running count). */
  readonly probed: number[] = [];
  probe: () => number = () => 0;
  constructor(private readonly inner: Drafter) {}
  propose(requests: readonly DraftRequest[]): Promise<number[][]> {
    this.asked.push(...requests);
    this.probed.push(this.probe());
    return this.inner.propose(requests);
  }
  keep(seq: number, length: number): void {
    this.inner.keep(seq, length);
  }
  release(seq: number): void {
    this.inner.release(seq);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Proposes tokens the model never follows with: a rotation of the greedy choice is unlikely to match it. */
class AlwaysWrongDrafter implements Drafter {
  propose(requests: readonly DraftRequest[]): Promise<number[][]> {
    return Promise.resolve(requests.map((r) => Array.from({ length: r.k }, (_, i) => 1000 + i)));
  }
  keep(): void {}
  release(): void {}
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export async function makeDrafter(kind: DrafterKind): Promise<Drafter> {
  if (kind === 'ngram') return new PromptLookupDrafter(1, 3);
  if (kind === 'always-wrong') return new AlwaysWrongDrafter();
  return new DraftModelDrafter((await InlineDecoder.load(KJV_MODEL, OPTIONS)).session);
}

export interface SpecEngineOptions {
  readonly drafter?: Drafter;
  readonly numSpeculativeTokens?: number;
  readonly disableByBatchSize?: number;
  readonly limits?: Partial<EngineLimits>;
  readonly metrics?: Metrics;
}

/** A kjv-tiny engine (decoder in its worker) with speculation when a drafter is given. */
export async function specEngine(o: SpecEngineOptions = {}): Promise<GenerationEngine> {
  const { session } = await DecoderSession.load('kjv-tiny/1', KJV_MODEL, OPTIONS);
  const tok = await loadTokenizer(path.dirname(KJV_MODEL));
  return new Engine({
    grammar: new ConstraintCompiler({
      vocabulary: grammarVocabulary(tok.tokenizerJson),
      vocabSize: tok.vocabSize,
      stopTokenIds: tok.eosTokenIds,
    }),
    modelName: 'kjv-tiny',
    contextLength: 256,
    vocabSize: 1536,
    tokenizer: idTokenizer,
    defaults: {},
    decoder: session,
    ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
    ...(o.drafter === undefined
      ? {}
      : {
          speculative: {
            drafter: o.drafter,
            numSpeculativeTokens: o.numSpeculativeTokens ?? 4,
            disableByBatchSize: o.disableByBatchSize ?? Infinity,
          },
        }),
    limits: {
      maxRunningSequences: 16,
      maxWaitingSequences: 64,
      prefillChunkTokens: 256,
      prefixCacheBlocks: 0,
      prefixBlockTokens: 4,
      ...o.limits,
    },
  });
}

/** Prompts for invariant tests: the fixture's, and windows of their greedy continuations. */
export function manyPrompts(cases: readonly { prompt_token_ids: number[]; greedy_token_ids: number[] }[]): number[][] {
  const out: number[][] = [];
  for (const c of cases) {
    out.push(c.prompt_token_ids);
    const all = [...c.prompt_token_ids, ...c.greedy_token_ids];
    for (let start = 1; start + 6 <= all.length; start += 7) out.push([0, ...all.slice(start, start + 6)]);
  }
  return out;
}
