// Runs the sequences of one chat or completions request on the engine: one per choice (n per
// prompt), all cancelled together when the client goes away or a later one is refused (a full
// queue refuses the request as a whole), then either collected whole or handed out chunk by chunk.

import type {
  GenerationResult,
  GenerationStream,
  SamplingParams,
  TextGenerationEngine,
  TokenLogprob,
} from '../../generation/engine-types.js';
import type { TokenBudget } from '../../security/quota-gate.js';
import { usage, type Usage } from './completion-objects.js';
import type { TokenizedPrompt } from './prompts.js';
import { forChoice } from './sampling.js';

/** One choice to generate: which prompt, and its sampling. */
export interface ChoicePlan {
  readonly promptIndex: number;
  readonly prompt: TokenizedPrompt;
  readonly sampling: SamplingParams;
}

/** n choices per prompt, indexed prompt-major as OpenAI numbers them. */
export function planChoices(prompts: readonly TokenizedPrompt[], n: number, sampling: SamplingParams): ChoicePlan[] {
  const plans: ChoicePlan[] = [];
  prompts.forEach((prompt, promptIndex) => {
    for (let j = 0; j < n; j++) plans.push({ promptIndex, prompt, sampling: forChoice(sampling, j) });
  });
  return plans;
}

export interface RunContext {
  readonly requestId: string;
  /** Fires when the client goes away. */
  readonly signal: AbortSignal;
  readonly arrivalNs: bigint;
  /** The caller's token quota: prompt tokens reserved before queueing, completion tokens charged after. */
  readonly tokens?: TokenBudget | undefined;
}

export interface RunningChoices {
  readonly streams: GenerationStream[];
  /** Aborts every choice still running (after a failure part way). */
  cancel(): void;
}

/** Queues every choice; if the engine refuses one, the ones already queued are cancelled. */
export function startChoices(
  engine: TextGenerationEngine,
  plans: readonly ChoicePlan[],
  context: RunContext,
): RunningChoices {
  // Each prompt counts once, however many choices it has.
  const prompts = new Map(plans.map((p) => [p.promptIndex, p.prompt.tokenIds.length]));
  context.tokens?.reserve([...prompts.values()].reduce((a, b) => a + b, 0));
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  if (context.signal.aborted) abort.abort();
  else context.signal.addEventListener('abort', onAbort, { once: true });
  const streams: GenerationStream[] = [];
  try {
    for (const [i, plan] of plans.entries()) {
      streams.push(
        engine.generate({
          requestId: plans.length === 1 ? context.requestId : `${context.requestId}-${i}`,
          promptTokenIds: plan.prompt.tokenIds,
          sampling: plan.sampling,
          signal: abort.signal,
          arrivalNs: context.arrivalNs,
        }),
      );
    }
  } catch (err) {
    abort.abort();
    context.signal.removeEventListener('abort', onAbort);
    for (const s of streams) s.result.catch(() => undefined);
    throw err;
  }
  void Promise.allSettled(streams.map((s) => s.result)).then((settled) => {
    context.signal.removeEventListener('abort', onAbort);
    let generated = 0;
    for (const s of settled) if (s.status === 'fulfilled') generated += s.value.completionTokens;
    context.tokens?.charge(generated);
  });
  return { streams, cancel: () => abort.abort() };
}

export interface CollectedChoice {
  readonly text: string;
  readonly tokenIds: number[];
  readonly logprobs: TokenLogprob[];
  /**
   * Where each logprob's token starts in `text`: the length of the text released before it (a
   * token whose text the detokenizer holds back, or a special token, adds nothing of its own).
   */
  readonly logprobOffsets: number[];
  readonly result: GenerationResult;
}

export async function collect(stream: GenerationStream): Promise<CollectedChoice> {
  let text = '';
  const tokenIds: number[] = [];
  const logprobs: TokenLogprob[] = [];
  const logprobOffsets: number[] = [];
  for await (const chunk of stream) {
    if (chunk.logprobs !== undefined) {
      logprobs.push(...chunk.logprobs);
      for (let i = 0; i < chunk.logprobs.length; i++) logprobOffsets.push(text.length);
    }
    text += chunk.text;
    tokenIds.push(...chunk.tokenIds);
  }
  return { text, tokenIds, logprobs, logprobOffsets, result: await stream.result };
}

/** Usage of a request: each prompt counted once (not once per choice), every completion token counted. */
export function requestUsage(plans: readonly ChoicePlan[], results: readonly GenerationResult[]): Usage {
  const promptTokens = new Map<number, number>();
  const cached = new Map<number, number>();
  let completionTokens = 0;
  results.forEach((r, i) => {
    const p = plans[i]?.promptIndex ?? 0;
    promptTokens.set(p, r.promptTokens);
    cached.set(p, Math.max(cached.get(p) ?? 0, r.cachedTokens));
    completionTokens += r.completionTokens;
  });
  const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  return usage(sum(promptTokens), completionTokens, sum(cached));
}
