// Turns the validated sampling fields of a chat or completions request into the engine's
// SamplingParams, applying the model's generation_config.json defaults where the client gave none,
// and runs the checks that need the model: token ids inside the vocabulary, min_tokens within
// max_tokens, and prompt + completion within the context length (vLLM's and OpenAI's message).

import type { SamplingParams, TextGenerationEngine } from '../../generation/engine-types.js';
import { invalidField } from './openai-error.js';

/** The sampling fields both endpoints share, as the schemas parsed them. */
export interface SamplingFields {
  readonly temperature?: number | null | undefined;
  readonly top_p?: number | null | undefined;
  readonly stop?: string | string[] | null | undefined;
  readonly seed?: number | null | undefined;
  readonly frequency_penalty?: number | null | undefined;
  readonly presence_penalty?: number | null | undefined;
  readonly logit_bias?: Record<string, number> | null | undefined;
  readonly top_k?: number | null | undefined;
  readonly min_p?: number | null | undefined;
  readonly repetition_penalty?: number | null | undefined;
  readonly min_tokens?: number | null | undefined;
  readonly ignore_eos?: boolean | null | undefined;
  readonly stop_token_ids?: number[] | null | undefined;
}

/** What the prompt is called in the context-length message. */
export type PromptKind = 'messages' | 'prompt';

/**
 * The completion's token budget: the requested one when prompt + it fits the context, else a 400
 * with OpenAI's message; with none requested, what the context leaves (at least one token), at most
 * `defaultMax`.
 */
export function completionBudget(
  contextLength: number,
  promptTokens: number,
  requested: number | undefined,
  kind: PromptKind,
  defaultMax = Infinity,
): number {
  const param = kind;
  if (requested === undefined) {
    if (promptTokens >= contextLength) {
      throw invalidField(
        param,
        `This model's maximum context length is ${contextLength} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input ${kind}.`,
        'context_length_exceeded',
      );
    }
    // As vLLM: generation_config.json's max_new_tokens caps what the context leaves.
    return Math.min(contextLength - promptTokens, defaultMax);
  }
  if (promptTokens + requested > contextLength) {
    throw invalidField(
      param,
      `This model's maximum context length is ${contextLength} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the ${kind}, ${requested} in the completion). Please reduce the length of the ${kind} or completion.`,
      'context_length_exceeded',
    );
  }
  return requested;
}

/** Throws a 400 naming `param` when an id is outside the model's vocabulary. */
export function checkTokenIds(ids: readonly number[], vocabSize: number, param: string): void {
  for (const id of ids) {
    if (id >= vocabSize) {
      throw invalidField(
        param,
        `Invalid value for '${param}': token id ${id} is out of range for this model's vocabulary of ${vocabSize} tokens.`,
        'invalid_value',
      );
    }
  }
}

function logitBias(bias: Record<string, number> | null | undefined, vocabSize: number): Map<number, number> {
  const out = new Map<number, number>();
  if (bias === null || bias === undefined) return out;
  for (const [key, value] of Object.entries(bias)) {
    const id = Number(key);
    checkTokenIds([id], vocabSize, 'logit_bias');
    out.set(id, value);
  }
  return out;
}

function given<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

/** The engine's SamplingParams for one sequence; `seedOffset` makes the n choices of a seeded request differ. */
export function samplingParams(
  fields: SamplingFields,
  engine: TextGenerationEngine,
  options: { readonly maxTokens: number; readonly logprobs: number | undefined },
): SamplingParams {
  const d = engine.defaults;
  const vocabSize = engine.tokenizer.vocabSize;
  const minTokens = given(fields.min_tokens) ?? 0;
  if (minTokens > options.maxTokens) {
    throw invalidField(
      'min_tokens',
      `Invalid value for 'min_tokens': ${minTokens} is more than the completion's max_tokens of ${options.maxTokens}.`,
      'invalid_value',
    );
  }
  const stopTokenIds = given(fields.stop_token_ids) ?? [];
  checkTokenIds(stopTokenIds, vocabSize, 'stop_token_ids');
  const stop = given(fields.stop);
  const topK = given(fields.top_k) ?? d.topK ?? 0;
  return {
    maxTokens: options.maxTokens,
    minTokens,
    temperature: given(fields.temperature) ?? d.temperature ?? 1,
    topK: topK < 0 ? 0 : topK,
    topP: given(fields.top_p) ?? d.topP ?? 1,
    minP: given(fields.min_p) ?? d.minP ?? 0,
    repetitionPenalty: given(fields.repetition_penalty) ?? d.repetitionPenalty ?? 1,
    frequencyPenalty: given(fields.frequency_penalty) ?? 0,
    presencePenalty: given(fields.presence_penalty) ?? 0,
    logitBias: logitBias(fields.logit_bias, vocabSize),
    seed: given(fields.seed),
    // Empty stop strings would end every sequence at once; OpenAI ignores them.
    stop: (stop === undefined ? [] : typeof stop === 'string' ? [stop] : stop).filter((s) => s !== ''),
    stopTokenIds,
    ignoreEos: given(fields.ignore_eos) ?? false,
    logprobs: options.logprobs,
  };
}

/** The params of choice `index` of n: a seeded request gives each choice its own seed (as vLLM). */
export function forChoice(params: SamplingParams, index: number): SamplingParams {
  return index === 0 || params.seed === undefined ? params : { ...params, seed: params.seed + index };
}
