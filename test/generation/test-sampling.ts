// Sampling params for generation tests: every option off (greedy), overridable per test.

import type { SamplingParams } from '../../src/generation/engine-types.js';

export function samplingParams(overrides: Partial<SamplingParams> = {}): SamplingParams {
  return {
    maxTokens: 16,
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
    ignoreEos: false,
    logprobs: undefined,
    ...overrides,
  };
}
