// POST /v1/chat/completions: validation (the schema, then the checks across fields and those that
// need the model), then the choices run on the engine and come back as one `chat.completion` or as
// `chat.completion.chunk` events (role first per choice, content deltas, finish_reason, usage).

import type { TextGenerationEngine } from '../../generation/engine-types.js';
import {
  chatChunk,
  chatLogprobs,
  completionId,
  nowSeconds,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ResponseHead,
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
import { chatPromptIds } from './prompts.js';
import { chatCompletionSchema, type ChatCompletionBody } from './request-schemas.js';
import { completionBudget, samplingParams } from './sampling.js';
import type { ChunkSink } from './sse-stream.js';

export interface ChatPlan {
  readonly engine: TextGenerationEngine;
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly logprobs: boolean;
  readonly choices: readonly ChoicePlan[];
}

/** Checks between fields that the schema cannot express; each names its field. */
function checkFields(body: ChatCompletionBody): void {
  if (body.stream_options != null && body.stream !== true) {
    throw invalidField('stream_options', 'Stream options can only be defined when `stream=true`.');
  }
  if (body.top_logprobs != null && body.logprobs !== true) {
    throw invalidField('top_logprobs', 'When using `top_logprobs`, `logprobs` must be set to true.');
  }
  const format = body.response_format?.type;
  if (format !== undefined && format !== 'text') {
    throw invalidField(
      'response_format',
      `response_format '${format}' is not supported: this server generates free text only; use {"type": "text"} or leave it out.`,
      'unsupported_value',
    );
  }
  if ((body.tools?.length ?? 0) > 0 || (body.functions?.length ?? 0) > 0) {
    throw invalidField(
      body.tools != null ? 'tools' : 'functions',
      'Tool and function calling are not supported by this server.',
      'unsupported_parameter',
    );
  }
  if (body.tool_choice != null && body.tool_choice !== 'none' && body.tool_choice !== 'auto') {
    throw invalidField(
      'tool_choice',
      'Tool and function calling are not supported by this server.',
      'unsupported_parameter',
    );
  }
}

export function prepareChat(repository: ModelSource, rawBody: unknown, chosen?: Chosen): ChatPlan {
  const body = parseBody(chatCompletionSchema, rawBody);
  checkFields(body);
  const engine = textGenerationEngine(repository, body.model, 'chat completions', {
    key: body.user ?? undefined,
    ...(chosen === undefined ? {} : { chosen }),
  });
  const promptIds = chatPromptIds(engine.tokenizer, body.messages);
  const requested = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const maxTokens = completionBudget(
    engine.contextLength,
    promptIds.length,
    requested,
    'messages',
    engine.defaults.maxTokens,
  );
  const logprobs = body.logprobs === true ? (body.top_logprobs ?? 0) : undefined;
  const sampling = samplingParams(body, engine, { maxTokens, logprobs });
  return {
    engine,
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    logprobs: logprobs !== undefined,
    choices: planChoices([{ text: '', tokenIds: promptIds }], body.n ?? 1, sampling),
  };
}

export async function chatCompletion(plan: ChatPlan, context: RunContext): Promise<ChatCompletion> {
  const head = { id: completionId('chatcmpl'), created: nowSeconds(), model: plan.model };
  const running = startChoices(plan.engine, plan.choices, context);
  const collected = await Promise.all(running.streams.map(collect)).catch((err: unknown) => {
    running.cancel();
    throw err;
  });
  return {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: collected.map((c, index) => ({
      index,
      message: { role: 'assistant', content: c.text, refusal: null },
      logprobs: plan.logprobs ? chatLogprobs(c.logprobs) : null,
      finish_reason: c.result.finishReason,
    })),
    usage: requestUsage(
      plan.choices,
      collected.map((c) => c.result),
    ),
    system_fingerprint: null,
  };
}

/** Streams the choices as chunks; the sequences are queued before the headers go out, so a refusal is still a status. */
export async function streamChat(
  plan: ChatPlan,
  context: RunContext,
  sse: ChunkSink<ChatCompletionChunk>,
): Promise<void> {
  const head: ResponseHead = { id: completionId('chatcmpl'), created: nowSeconds(), model: plan.model };
  const running = startChoices(plan.engine, plan.choices, context);
  const streams = running.streams;
  sse.open();
  const withUsage = plan.includeUsage;
  try {
    for (let index = 0; index < streams.length; index++) {
      await sse.send(
        chatChunk(
          head,
          [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
          withUsage,
        ),
      );
    }
    const results = await Promise.all(
      streams.map(async (stream, index) => {
        for await (const chunk of stream) {
          if (chunk.text === '' && chunk.logprobs === undefined) continue;
          const logprobs = plan.logprobs ? chatLogprobs(chunk.logprobs ?? []) : null;
          await sse.send(
            chatChunk(head, [{ index, delta: { content: chunk.text }, logprobs, finish_reason: null }], withUsage),
          );
        }
        const result = await stream.result;
        await sse.send(
          chatChunk(head, [{ index, delta: {}, logprobs: null, finish_reason: result.finishReason }], withUsage),
        );
        return result;
      }),
    );
    if (withUsage) await sse.send({ ...chatChunk(head, [], false), usage: requestUsage(plan.choices, results) });
    sse.end();
  } catch (err) {
    running.cancel();
    sse.fail(err);
  }
}
