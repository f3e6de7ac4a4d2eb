// The objects of OpenAI's Responses API (https://platform.openai.com/docs/api-reference/responses):
// the Response, its output items (assistant messages of `output_text` parts, `function_call`s),
// the input items a stored response lists, usage, and the Response built from a chat completion,
// which is how /v1/responses runs (responses.ts translates the request onto the chat path).

import { randomBytes } from 'node:crypto';
import type { ChatCompletion, Usage } from './completion-objects.js';

/** `resp_…`, `msg_…`, `fc_…`, `call_…`: OpenAI's prefixes, 48 hex digits as its ids carry. */
export function itemId(prefix: 'resp' | 'msg' | 'fc' | 'call'): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}

export interface MessageItem {
  id: string;
  type: 'message';
  status: ItemStatus;
  role: 'assistant';
  content: OutputText[];
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageItem | FunctionCallItem;

export type InputRole = 'user' | 'system' | 'developer' | 'assistant';

/** An input item as a stored response lists it: every item gets an id and a status. */
export type InputItem =
  | {
      id: string;
      type: 'message';
      role: InputRole;
      status: 'completed';
      content: { type: 'input_text' | 'output_text'; text: string }[];
    }
  | { id: string; type: 'function_call'; status: 'completed'; call_id: string; name: string; arguments: string }
  | { id: string; type: 'function_call_output'; status: 'completed'; call_id: string; output: string };

/** What a conversation is made of: the items sent in and the items generated. */
export type ConversationItem = InputItem | OutputItem;

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Record<string, unknown>;
      strict: boolean;
      description?: string;
    };

export interface FunctionTool {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; name: string };

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: false;
  error: { code: 'server_error' | 'rate_limit_exceeded' | 'invalid_prompt'; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  max_tool_calls: null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: null; summary: null };
  service_tier: 'default';
  store: boolean;
  temperature: number;
  text: { format: TextFormat };
  tool_choice: ToolChoice;
  tools: FunctionTool[];
  top_p: number;
  truncation: 'auto' | 'disabled';
  usage: ResponseUsage | null;
  user: string | null;
  metadata: Record<string, string>;
}

export function responseUsage(usage: Usage): ResponseUsage {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details.cached_tokens },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.total_tokens,
  };
}

export function outputText(text: string): OutputText {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/**
 * The final state of a response: `length` leaves it incomplete (OpenAI's `max_output_tokens`
 * reason) and so are the items generated when it stopped; every other finish completes it.
 */
export function settle(
  head: ResponseObject,
  output: OutputItem[],
  finishReason: string | null,
  usage: ResponseUsage | null,
): ResponseObject {
  const cut = finishReason === 'length';
  const status: ItemStatus = cut ? 'incomplete' : 'completed';
  return {
    ...head,
    status,
    incomplete_details: cut ? { reason: 'max_output_tokens' } : null,
    output: output.map((item) => ({ ...item, status })),
    usage,
  };
}

/** The Response for a chat completion of one choice: its text as a message, its tool calls as function_call items. */
export function responseFromChat(head: ResponseObject, completion: ChatCompletion): ResponseObject {
  const choice = completion.choices[0];
  const output: OutputItem[] = [];
  const text = choice?.message.content ?? '';
  const calls = choice?.message.tool_calls ?? [];
  if (text !== '' || calls.length === 0) {
    output.push({
      id: itemId('msg'),
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [outputText(text)],
    });
  }
  for (const call of calls) {
    output.push({
      id: itemId('fc'),
      type: 'function_call',
      status: 'completed',
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    });
  }
  return settle(head, output, choice?.finish_reason ?? null, responseUsage(completion.usage));
}
