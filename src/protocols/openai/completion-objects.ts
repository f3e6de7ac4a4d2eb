// The response objects of the OpenAI API reference, built from engine output: `chat.completion`,
// `text_completion`, `chat.completion.chunk`, usage, and logprobs in chat's
// `{content: [{token, logprob, bytes, top_logprobs}]}` and completions'
// `{tokens, token_logprobs, top_logprobs, text_offset}` shapes.

import { randomUUID } from 'node:crypto';
import type { TokenLogprob } from '../../generation/engine-types.js';
import type { ChatMessageDelta, ChatToolCall } from './tool-calls.js';

export function completionId(kind: 'chatcmpl' | 'cmpl'): string {
  return `${kind}-${randomUUID().replaceAll('-', '')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usage(promptTokens: number, completionTokens: number, cachedTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

/** JSON has no -Infinity; vLLM reports impossible tokens as -9999. */
function finite(logprob: number): number {
  return Number.isFinite(logprob) ? logprob : -9999;
}

function bytes(token: string): number[] {
  return [...Buffer.from(token, 'utf8')];
}

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function chatLogprobs(logprobs: readonly TokenLogprob[]): { content: ChatTokenLogprob[]; refusal: null } {
  return {
    content: logprobs.map((lp) => ({
      token: lp.token,
      logprob: finite(lp.logprob),
      bytes: bytes(lp.token),
      top_logprobs: lp.top.map((t) => ({ token: t.token, logprob: finite(t.logprob), bytes: bytes(t.token) })),
    })),
    refusal: null,
  };
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

/**
 * Completions' logprobs. `offsetOf(i)` is where token i starts in the choice's text, as vLLM
 * counts it: the length of the text released before the token (after an echoed prompt), not the
 * sum of the token pieces, which overshoots past a special token (its piece, e.g. `</s>`, is not
 * in the text) or a token whose bytes complete a character only with the next. The top_logprobs
 * map holds the sampled token and its alternatives, as vLLM fills it.
 */
export function completionLogprobs(
  logprobs: readonly TokenLogprob[],
  offsetOf: (index: number) => number,
): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const [i, lp] of logprobs.entries()) {
    out.tokens.push(lp.token);
    out.token_logprobs.push(finite(lp.logprob));
    const top: Record<string, number> = {};
    for (const t of lp.top) top[t.token] = finite(t.logprob);
    top[lp.token] ??= finite(lp.logprob);
    out.top_logprobs.push(top);
    out.text_offset.push(offsetOf(i));
  }
  return out;
}

export interface ChatChoice {
  index: number;
  /** content is null when the message is only tool calls. */
  message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: ChatToolCall[] };
  logprobs: ReturnType<typeof chatLogprobs> | null;
  finish_reason: string;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage: Usage;
  system_fingerprint: null;
}

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogprobs | null;
  finish_reason: string | null;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage: Usage | null;
  system_fingerprint: null;
}

export interface ChatChunkChoice {
  index: number;
  delta: { role?: 'assistant'; content?: string } | ChatMessageDelta;
  logprobs: ReturnType<typeof chatLogprobs> | null;
  finish_reason: string | null;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChatChunkChoice[];
  system_fingerprint: null;
  usage?: Usage | null;
}

/** The common head of every object of one response (one id and `created` for all chunks). */
export interface ResponseHead {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

export function chatChunk(head: ResponseHead, choices: ChatChunkChoice[], includeUsage: boolean): ChatCompletionChunk {
  const chunk: ChatCompletionChunk = {
    id: head.id,
    object: 'chat.completion.chunk',
    created: head.created,
    model: head.model,
    choices,
    system_fingerprint: null,
  };
  if (includeUsage) chunk.usage = null;
  return chunk;
}

export function completionChunk(
  head: ResponseHead,
  choices: CompletionChoice[],
  includeUsage: boolean,
): TextCompletion {
  const chunk: TextCompletion = {
    id: head.id,
    object: 'text_completion',
    created: head.created,
    model: head.model,
    choices,
    usage: null,
    system_fingerprint: null,
  };
  if (!includeUsage) delete (chunk as Partial<TextCompletion>).usage;
  return chunk;
}

/**
 * The JSON of a chunk whose one choice is built per call, from the chunk's constant parts
 * serialized once per response: byte for byte what `JSON.stringify` gives for the whole object,
 * at the cost of stringifying the choice's own values (a token's text) only.
 */
function chunkTemplate(empty: object): { prefix: string; suffix: string } {
  const json = JSON.stringify(empty);
  // The generated id and the escaped model name cannot hold this unescaped.
  const at = json.indexOf('"choices":[]');
  if (at < 0) throw new Error('a chunk without "choices"');
  const open = at + '"choices":['.length;
  return { prefix: json.slice(0, open), suffix: json.slice(open) };
}

/** A `text_completion` chunk's JSON with one choice's text, no logprobs and no finish reason. */
export function completionTextChunks(
  head: ResponseHead,
  includeUsage: boolean,
): (index: number, text: string) => string {
  const { prefix, suffix } = chunkTemplate(completionChunk(head, [], includeUsage));
  return (index, text) =>
    `${prefix}{"index":${index},"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":null}${suffix}`;
}

/** A `chat.completion.chunk`'s JSON with one choice's content delta, no logprobs and no finish reason. */
export function chatContentChunks(
  head: ResponseHead,
  includeUsage: boolean,
): (index: number, content: string) => string {
  const { prefix, suffix } = chunkTemplate(chatChunk(head, [], includeUsage));
  return (index, content) =>
    `${prefix}{"index":${index},"delta":{"content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":null}${suffix}`;
}
