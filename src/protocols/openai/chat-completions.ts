// POST /v1/chat/completions: validation (the schema, then the checks across fields and those that
// need the model), then the choices run on the engine and come back as one `chat.completion` or as
// `chat.completion.chunk` events (role first per choice, content deltas, finish_reason, usage).
// With tools, the template renders them, a structural tag constrains the output when the model
// must call, and the text is split into content and `tool_calls` (tool-calls.ts).

import type {
  FinishReason,
  GenerationResult,
  GenerationStream,
  TextGenerationEngine,
  TokenLogprob,
} from '../../generation/engine-types.js';
import {
  chatChunk,
  chatContentChunks,
  chatLogprobs,
  completionId,
  nowSeconds,
  type ChatChunkChoice,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ResponseHead,
} from './completion-objects.js';
import { chatModel, type Chosen, type ModelSource } from './engine-lookup.js';
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
import { chatPromptIds } from './prompts.js';
import { chatCompletionSchema, type ChatCompletionBody } from './request-schemas.js';
import { completionBudget, samplingParams } from './sampling.js';
import type { ChunkSink } from './sse-stream.js';
import {
  chatFunctionTools,
  planToolUse,
  splitToolCalls,
  templateTools,
  toolCallFormat,
  toolConstraint,
  ToolCallDeltas,
  type ChatMessageDelta,
  type ToolUse,
} from './tool-calls.js';

export interface ChatPlan {
  readonly engine: TextGenerationEngine;
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly logprobs: boolean;
  /** The request's tools; undefined without them. */
  readonly tools: ToolUse | undefined;
  readonly choices: readonly ChoicePlan[];
  /** response_format / guided_* / structured_outputs, compiled before the sequences start. */
  readonly constraint?: RequestedConstraint | undefined;
}

/** Checks between fields that the schema cannot express; each names its field. */
function checkFields(body: ChatCompletionBody): void {
  if (body.stream_options != null && body.stream !== true) {
    throw invalidField('stream_options', 'Stream options can only be defined when `stream=true`.');
  }
  if (body.top_logprobs != null && body.logprobs !== true) {
    throw invalidField('top_logprobs', 'When using `top_logprobs`, `logprobs` must be set to true.');
  }
  // The deprecated function-calling fields answer differently (message.function_call); tools replace them.
  if (body.functions != null || body.function_call != null) {
    throw invalidField(
      body.functions != null ? 'functions' : 'function_call',
      "'functions' and 'function_call' are deprecated and not supported here: send each function as a tool ({\"type\": \"function\", \"function\": {...}}) in 'tools', and 'tool_choice' instead of 'function_call'.",
      'unsupported_parameter',
    );
  }
}

/** The request's tools with the model's call format; undefined without tools. */
function chatToolUse(body: ChatCompletionBody, toolCallParser: string): ToolUse | undefined {
  const choice = body.tool_choice ?? undefined;
  return planToolUse(
    body.tools == null ? undefined : chatFunctionTools(body.tools),
    typeof choice === 'object' ? { name: choice.function.name } : choice,
    body.parallel_tool_calls ?? undefined,
    toolCallFormat(toolCallParser),
  );
}

/** The output constraint of a request with tools: the calls' (with the text's where it may answer in text). */
function withTools(tools: ToolUse | undefined, text: RequestedConstraint | undefined): RequestedConstraint | undefined {
  if (tools === undefined) return text;
  const constraint = toolConstraint(tools, text?.constraint);
  if (constraint === undefined) return undefined;
  return { constraint, param: constraint === text?.constraint ? text.param : 'tools' };
}

export function prepareChat(repository: ModelSource, rawBody: unknown, chosen?: Chosen): ChatPlan {
  const body = parseBody(chatCompletionSchema, rawBody);
  checkFields(body);
  const { engine, toolCallParser } = chatModel(repository, body.model, {
    key: body.user ?? undefined,
    ...(chosen === undefined ? {} : { chosen }),
  });
  const tools = chatToolUse(body, toolCallParser);
  const promptIds = chatPromptIds(
    engine.tokenizer,
    body.messages,
    tools === undefined ? undefined : { tools: templateTools(tools.tools) },
  );
  const requested = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const maxTokens = completionBudget(
    engine.contextLength,
    promptIds.length,
    requested,
    'messages',
    engine.defaults.maxTokens,
  );
  const logprobs = body.logprobs === true ? (body.top_logprobs ?? 0) : undefined;
  const constraint = withTools(tools, requestedConstraint(body));
  const sampling = { ...samplingParams(body, engine, { maxTokens, logprobs }), constraint: constraint?.constraint };
  return {
    constraint,
    engine,
    model: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    logprobs: logprobs !== undefined,
    tools,
    choices: planChoices([{ text: '', tokenIds: promptIds }], body.n ?? 1, sampling),
  };
}

export async function chatCompletion(plan: ChatPlan, context: RunContext): Promise<ChatCompletion> {
  const head = { id: completionId('chatcmpl'), created: nowSeconds(), model: plan.model };
  await prepareConstraint(plan.engine, plan.constraint);
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
    choices: collected.map((c, index) => {
      const { content, toolCalls } = splitToolCalls(plan.tools, c.text);
      return {
        index,
        message: {
          role: 'assistant',
          content,
          refusal: null,
          ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
        },
        logprobs: plan.logprobs ? chatLogprobs(c.logprobs) : null,
        finish_reason: finishReason(c.result.finishReason, toolCalls.length),
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
 * Streams the choices as chunks; the sequences are queued before the headers go out, so a refusal
 * is still a status. A sink that takes JSON gets `tokensPerEvent` tokens of content per chunk
 * (`--stream-interval`); with logprobs or tools, and to a translating sink, each engine chunk is one.
 */
export async function streamChat(
  plan: ChatPlan,
  context: RunContext,
  sse: ChunkSink<ChatCompletionChunk>,
  tokensPerEvent = 1,
): Promise<void> {
  const head: ResponseHead = { id: completionId('chatcmpl'), created: nowSeconds(), model: plan.model };
  await prepareConstraint(plan.engine, plan.constraint);
  const running = startChoices(plan.engine, plan.choices, context);
  const streams = running.streams;
  sse.open();
  const withUsage = plan.includeUsage;
  const contentChunk = chatContentChunks(head, withUsage);
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
        if (plan.tools !== undefined && plan.tools.choice !== 'none') {
          return streamToolChoice(plan, stream, index, (choice) => sse.send(chatChunk(head, [choice], withUsage)));
        }
        const sendJson = plan.logprobs ? undefined : sse.sendJson?.bind(sse);
        let held = '';
        let heldTokens = 0;
        for await (const chunk of stream) {
          if (chunk.text === '' && chunk.logprobs === undefined) continue;
          if (sendJson !== undefined) {
            held += chunk.text;
            heldTokens += Math.max(1, chunk.tokenIds.length);
            if (heldTokens < tokensPerEvent) continue;
            const content = held;
            held = '';
            heldTokens = 0;
            await sendJson(contentChunk(index, content));
            continue;
          }
          const logprobs = plan.logprobs ? chatLogprobs(chunk.logprobs ?? []) : null;
          await sse.send(
            chatChunk(head, [{ index, delta: { content: chunk.text }, logprobs, finish_reason: null }], withUsage),
          );
        }
        if (sendJson !== undefined && heldTokens > 0) await sendJson(contentChunk(index, held));
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

/** OpenAI's finish_reason: "tool_calls" when the model stopped after calling. */
function finishReason(reason: FinishReason, calls: number): string {
  return calls > 0 && reason === 'stop' ? 'tool_calls' : reason;
}

/**
 * One choice streamed with tool calls: content deltas, then each call's id and name, then its
 * arguments in pieces (OpenAI's `delta.tool_calls`). Markup that may open a call is held back, so
 * it never reaches the client as content; a chunk's logprobs go with the next delta sent.
 */
async function streamToolChoice(
  plan: ChatPlan,
  stream: GenerationStream,
  index: number,
  send: (choice: ChatChunkChoice) => Promise<void>,
): Promise<GenerationResult> {
  const deltas = new ToolCallDeltas(plan.tools);
  let held: TokenLogprob[] = [];
  const sendAll = async (pieces: readonly ChatMessageDelta[]): Promise<void> => {
    for (const delta of pieces) {
      const logprobs = plan.logprobs ? chatLogprobs(held) : null;
      held = [];
      await send({ index, delta, logprobs, finish_reason: null });
    }
  };
  for await (const chunk of stream) {
    if (chunk.logprobs !== undefined) held.push(...chunk.logprobs);
    await sendAll(deltas.push(chunk.text));
  }
  const result = await stream.result;
  await sendAll(deltas.finish());
  await send({
    index,
    delta: {},
    logprobs: plan.logprobs && held.length > 0 ? chatLogprobs(held) : null,
    finish_reason: finishReason(result.finishReason, deltas.callCount),
  });
  return result;
}
