// POST /v1/completions: prompts in OpenAI's four forms, n choices per prompt (numbered
// prompt-major), `echo`, completions-style logprobs with text offsets, and `text_completion`
// objects whole or streamed.

import type { TextGenerationEngine } from '../../generation/engine-types.js';
import {
  completionChunk,
  completionId,
  completionLogprobs,
  completionTextChunks,
  nowSeconds,
  type ResponseHead,
  type TextCompletion,
} from './completion-objects.js';
import { textGenerationEngine, type Chosen, type ModelSource } from './engine-lookup.js';
import {
  collect,
  planChoices,
  requestUsage,
  startChoices,
  type ChoicePlan,
  type RunContext,
} from './generation-runner.js';
import { invalidField } from './openai-error.js';
import { parseBody } from './parse-body.js';
import { prepareConstraint, requestedConstraint, type RequestedConstraint } from './structured-output.js';
import { tokenizePrompts } from './prompts.js';
import { completionSchema, type CompletionBody } from './request-schemas.js';
import { completionBudget, samplingParams } from './sampling.js';
import type { SseStream } from './sse-stream.js';

/** OpenAI's default for /v1/completions. */
export const DEFAULT_COMPLETION_TOKENS = 16;

export interface CompletionPlan {
  readonly engine: TextGenerationEngine;
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly echo: boolean;
  readonly logprobs: boolean;
  readonly choices: readonly ChoicePlan[];
  /** response_format / guided_* / structured_outputs, compiled before the sequences start. */
  readonly constraint?: RequestedConstraint | undefined;
}

function checkFields(body: CompletionBody): void {
  if (body.stream_options != null && body.stream !== true) {
    throw invalidField('stream_options', 'Stream options can only be defined when `stream=true`.');
  }
  if (body.suffix != null && body.suffix !== '') {
    throw invalidField(
      'suffix',
      'suffix is not supported: this server does not fill in the middle.',
      'unsupported_parameter',
    );
  }
  if (body.best_of != null && body.best_of !== (body.n ?? 1)) {
    throw invalidField(
      'best_of',
      `best_of (${body.best_of}) must equal n (${body.n ?? 1}): this server returns every sequence it generates.`,
      'unsupported_value',
    );
  }
  if (body.echo === true && body.logprobs != null) {
    throw invalidField(
      'logprobs',
      'logprobs cannot be combined with echo: this server does not score prompt tokens.',
      'unsupported_value',
    );
  }
}

export function prepareCompletion(repository: ModelSource, rawBody: unknown, chosen?: Chosen): CompletionPlan {
  const body = parseBody(completionSchema, rawBody);
  checkFields(body);
  const engine = textGenerationEngine(repository, body.model, 'completions', {
    key: body.user ?? undefined,
    ...(chosen === undefined ? {} : { chosen }),
  });
  const echo = body.echo === true;
  const prompts = tokenizePrompts(engine.tokenizer, body.prompt, 'prompt', { decodeIds: echo });
  const requested = body.max_tokens ?? DEFAULT_COMPLETION_TOKENS;
  // Every prompt must fit; the budget is the same for each (the one requested).
  let maxTokens = requested;
  for (const p of prompts) maxTokens = completionBudget(engine.contextLength, p.tokenIds.length, requested, 'prompt');
  const logprobs = body.logprobs ?? undefined;
  const constraint = requestedConstraint(body);
  const sampling = { ...samplingParams(body, engine, { maxTokens, logprobs }), constraint: constraint?.constraint };
  return {
    constraint,
    engine,
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    echo,
    logprobs: logprobs !== undefined,
    choices: planChoices(prompts, body.n ?? 1, sampling),
  };
}

export async function completion(plan: CompletionPlan, context: RunContext): Promise<TextCompletion> {
  const head = { id: completionId('cmpl'), created: nowSeconds(), model: plan.model };
  await prepareConstraint(plan.engine, plan.constraint);
  const running = startChoices(plan.engine, plan.choices, context);
  const collected = await Promise.all(running.streams.map(collect)).catch((err: unknown) => {
    running.cancel();
    throw err;
  });
  return {
    id: head.id,
    object: 'text_completion',
    created: head.created,
    model: head.model,
    choices: collected.map((c, index) => {
      const prefix = plan.echo ? (plan.choices[index]?.prompt.text ?? '') : '';
      return {
        index,
        text: prefix + c.text,
        logprobs: plan.logprobs
          ? completionLogprobs(c.logprobs, (i) => prefix.length + (c.logprobOffsets[i] ?? c.text.length))
          : null,
        finish_reason: c.result.finishReason,
      };
    }),
    usage: requestUsage(
      plan.choices,
      collected.map((c) => c.result),
    ),
    system_fingerprint: null,
  };
}

/**
 * Streams the choices as `text_completion` chunks, `tokensPerEvent` tokens of a choice's text to a
 * chunk (`--stream-interval`; with logprobs, one engine chunk each).
 */
export async function streamCompletion(
  plan: CompletionPlan,
  context: RunContext,
  sse: SseStream,
  tokensPerEvent = 1,
): Promise<void> {
  const head: ResponseHead = { id: completionId('cmpl'), created: nowSeconds(), model: plan.model };
  await prepareConstraint(plan.engine, plan.constraint);
  const running = startChoices(plan.engine, plan.choices, context);
  sse.open();
  const withUsage = plan.includeUsage;
  const textChunk = completionTextChunks(head, withUsage);
  try {
    const results = await Promise.all(
      running.streams.map(async (stream, index) => {
        let offset = 0;
        if (plan.echo) {
          const text = plan.choices[index]?.prompt.text ?? '';
          offset = text.length;
          await sse.send(completionChunk(head, [{ index, text, logprobs: null, finish_reason: null }], withUsage));
        }
        let held = '';
        let heldTokens = 0;
        for await (const chunk of stream) {
          if (chunk.text === '' && chunk.logprobs === undefined) continue;
          // The chunk's tokens start where the text sent so far ends.
          const start = offset;
          offset += chunk.text.length;
          if (!plan.logprobs) {
            held += chunk.text;
            heldTokens += Math.max(1, chunk.tokenIds.length);
            if (heldTokens < tokensPerEvent) continue;
            const text = held;
            held = '';
            heldTokens = 0;
            await sse.sendJson(textChunk(index, text));
            continue;
          }
          const logprobs = completionLogprobs(chunk.logprobs ?? [], () => start);
          await sse.send(
            completionChunk(head, [{ index, text: chunk.text, logprobs, finish_reason: null }], withUsage),
          );
        }
        if (heldTokens > 0) await sse.sendJson(textChunk(index, held));
        const result = await stream.result;
        await sse.send(
          completionChunk(head, [{ index, text: '', logprobs: null, finish_reason: result.finishReason }], withUsage),
        );
        return result;
      }),
    );
    if (withUsage) {
      await sse.send({ ...completionChunk(head, [], false), usage: requestUsage(plan.choices, results) });
    }
    sse.end();
  } catch (err) {
    running.cancel();
    sse.fail(err);
  }
}
