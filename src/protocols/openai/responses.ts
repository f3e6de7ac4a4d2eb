// POST /v1/responses and the stored responses' routes. A response runs as a chat completion: the
// conversation (the previous response's, then this input) and `instructions` become chat messages,
// `max_output_tokens`, `text.format` and function `tools` become the chat request's
// `max_completion_tokens`, `response_format` and `tools`, and the chat path's answer (or its
// streamed chunks, through response-events.ts) becomes the Response. So structured output and
// tool calls work here exactly as they do for chat completions.

import { InferdError, isInferdError } from '../../errors/index.js';
import { prepareChat, chatCompletion, streamChat, type ChatPlan } from './chat-completions.js';
import { nowSeconds } from './completion-objects.js';
import type { Chosen, ModelSource } from './engine-lookup.js';
import type { RunContext } from './generation-runner.js';
import { invalidField } from './openai-error.js';
import { ResponseEventWriter, type EventStream } from './response-events.js';
import {
  itemId,
  responseFromChat,
  type ConversationItem,
  type FunctionTool,
  type InputItem,
  type ResponseObject,
  type TextFormat,
  type ToolChoice,
} from './response-objects.js';
import type { ResponseStore, StoredResponse } from './response-store.js';
import {
  parseInputItemsQuery,
  parseResponseCreate,
  type InputItemBody,
  type ResponseCreateBody,
} from './responses-request.js';

export interface ResponsePlan {
  readonly chat: ChatPlan;
  /** The response in progress: no output, no usage yet. */
  readonly head: ResponseObject;
  readonly owner: string;
  readonly inputItems: readonly InputItem[];
  /** The conversation the model saw (the previous response's, then this input; no instructions). */
  readonly conversation: readonly ConversationItem[];
}

function notFound(id: string, param: string | null, what: 'Response' | 'Previous response'): InferdError {
  return new InferdError('INF_ERR_NOT_FOUND', `${what} with id '${id}' not found.`, {
    param,
    apiCode: what === 'Response' ? 'not_found' : 'previous_response_not_found',
  });
}

function partsText(content: string | readonly { readonly text: string }[]): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

/** The request's input as stored items: a string is one user message; each item gets an id. */
function inputItems(input: ResponseCreateBody['input']): InputItem[] {
  if (typeof input === 'string') {
    return [
      {
        id: itemId('msg'),
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: input }],
      },
    ];
  }
  return input.map((item: InputItemBody): InputItem => {
    switch (item.type) {
      case 'function_call':
        return {
          id: item.id ?? itemId('fc'),
          type: 'function_call',
          status: 'completed',
          call_id: item.call_id,
          name: item.name,
          arguments: item.arguments,
        };
      case 'function_call_output':
        return {
          id: item.id ?? itemId('fc'),
          type: 'function_call_output',
          status: 'completed',
          call_id: item.call_id,
          output: partsText(item.output),
        };
      default: {
        const partType: 'output_text' | 'input_text' = item.role === 'assistant' ? 'output_text' : 'input_text';
        const content =
          typeof item.content === 'string'
            ? [{ type: partType, text: item.content }]
            : item.content.map((p) => ({ type: p.type, text: p.text }));
        return { id: item.id ?? itemId('msg'), type: 'message', role: item.role, status: 'completed', content };
      }
    }
  });
}

/** A chat message as chat completions take it (tool calls and tool results in OpenAI's chat shape). */
interface ChatMessageBody {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/** The conversation as chat messages: consecutive function calls are one assistant message's tool calls. */
export function chatMessages(
  instructions: string | null,
  conversation: readonly ConversationItem[],
): ChatMessageBody[] {
  const messages: ChatMessageBody[] = [];
  if (instructions !== null && instructions !== '') messages.push({ role: 'system', content: instructions });
  for (const item of conversation) {
    if (item.type === 'message') {
      messages.push({ role: item.role, content: partsText(item.content) });
    } else if (item.type === 'function_call') {
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: item.arguments },
      };
      const last = messages.at(-1);
      if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output });
    }
  }
  return messages;
}

function textFormat(body: ResponseCreateBody): TextFormat {
  const format = body.text?.format;
  if (format === undefined || format.type !== 'json_schema') return format ?? { type: 'text' };
  return {
    type: 'json_schema',
    name: format.name,
    schema: format.schema,
    strict: format.strict ?? false,
    ...(format.description === undefined ? {} : { description: format.description }),
  };
}

/** text.format as chat's response_format (the same OutputConstraint follows from it). */
function responseFormat(format: TextFormat): Record<string, unknown> {
  if (format.type !== 'json_schema') return { type: format.type };
  const { type, ...jsonSchema } = format;
  return { type, json_schema: jsonSchema };
}

function functionTools(body: ResponseCreateBody): FunctionTool[] {
  // Function tools of the Responses API are strict unless they say otherwise.
  return (body.tools ?? []).map((t) => ({
    type: 'function',
    name: t.name,
    description: t.description ?? null,
    parameters: t.parameters ?? null,
    strict: t.strict ?? true,
  }));
}

function toolChoice(body: ResponseCreateBody): ToolChoice {
  return body.tool_choice ?? 'auto';
}

/** Names a chat field's error by the Responses field the client sent. */
const PARAMS: Readonly<Record<string, string>> = {
  messages: 'input',
  max_completion_tokens: 'max_output_tokens',
  response_format: 'text.format',
  functions: 'tools',
};

function renamed(err: unknown): unknown {
  if (!isInferdError(err) || err.param === null) return err;
  const root = /^[a-z_]+/.exec(err.param)?.[0] ?? '';
  const base = PARAMS[root];
  if (base === undefined) return err;
  // response_format.json_schema.schema is text.format.schema here.
  const param = root === 'response_format' ? base + err.param.slice(root.length).replace(/^\.json_schema/, '') : base;
  // The context-length message speaks of chat's messages; here they are the input.
  const named = err.message.replaceAll(`'${err.param}'`, `'${param}'`);
  const message =
    param === 'input' ? named.replaceAll('the messages', 'the input').replaceAll('input messages', 'input') : named;
  return new InferdError(err.code, message, {
    param,
    apiCode: err.apiCode,
    ...(err.headers === undefined ? {} : { headers: { ...err.headers } }),
  });
}

function isContextOverflow(err: unknown): boolean {
  return isInferdError(err) && err.apiCode === 'context_length_exceeded';
}

/** Drops the oldest item (and tool results left without their call) for truncation "auto". */
function dropOldest(conversation: readonly ConversationItem[]): ConversationItem[] {
  let start = 1;
  while (start < conversation.length && conversation[start]?.type === 'function_call_output') start++;
  return conversation.slice(start);
}

/** Each function_call_output answers a function_call earlier in the conversation, as OpenAI requires. */
function checkCallOutputs(conversation: readonly ConversationItem[], items: readonly InputItem[]): void {
  const calls = new Set<string>();
  for (const item of conversation) {
    if (item.type === 'function_call') calls.add(item.call_id);
    else if (item.type === 'function_call_output' && !calls.has(item.call_id)) {
      const index = items.indexOf(item);
      throw invalidField(
        index < 0 ? 'input' : `input[${index}].call_id`,
        `No tool call found for function call output with call_id ${item.call_id}: send the function_call item before its output, or continue from the response that made the call with previous_response_id.`,
        'invalid_value',
      );
    }
  }
}

export function prepareResponse(
  repository: ModelSource,
  store: ResponseStore,
  owner: string,
  rawBody: unknown,
  chosen?: Chosen,
): ResponsePlan {
  const body = parseResponseCreate(rawBody);
  let previous: StoredResponse | undefined;
  if (body.previous_response_id != null) {
    previous = store.get(body.previous_response_id, owner);
    if (previous === undefined) throw notFound(body.previous_response_id, 'previous_response_id', 'Previous response');
  }
  const items = inputItems(body.input);
  let conversation: ConversationItem[] = [...(previous?.conversation ?? []), ...items];
  checkCallOutputs(conversation, items);
  const format = textFormat(body);
  const tools = functionTools(body);
  const instructions = body.instructions ?? null;
  const chatBody = (): Record<string, unknown> => ({
    model: body.model,
    messages: chatMessages(instructions, conversation),
    stream: body.stream === true,
    ...(body.stream === true ? { stream_options: { include_usage: true } } : {}),
    ...(body.max_output_tokens == null ? {} : { max_completion_tokens: body.max_output_tokens }),
    ...(body.temperature == null ? {} : { temperature: body.temperature }),
    ...(body.top_p == null ? {} : { top_p: body.top_p }),
    ...(body.user == null ? {} : { user: body.user }),
    ...(format.type === 'text' ? {} : { response_format: responseFormat(format) }),
    ...(tools.length === 0
      ? {}
      : {
          tools: tools.map(({ type, ...fn }) => ({ type, function: fn })),
          tool_choice:
            typeof body.tool_choice === 'object' && body.tool_choice !== null
              ? { type: 'function', function: { name: body.tool_choice.name } }
              : toolChoice(body),
        }),
    ...(body.parallel_tool_calls == null ? {} : { parallel_tool_calls: body.parallel_tool_calls }),
  });
  let chat: ChatPlan;
  for (;;) {
    try {
      chat = prepareChat(repository, chatBody(), chosen);
      break;
    } catch (err) {
      // truncation "auto": OpenAI drops items from the start of the conversation until it fits.
      if (body.truncation === 'auto' && isContextOverflow(err) && conversation.length > 1) {
        conversation = dropOldest(conversation);
        continue;
      }
      throw renamed(err);
    }
  }
  const sampling = chat.choices[0]?.sampling;
  const head: ResponseObject = {
    id: itemId('resp'),
    object: 'response',
    created_at: nowSeconds(),
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: body.model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: sampling?.temperature ?? 1,
    text: { format },
    tool_choice: toolChoice(body),
    tools,
    top_p: sampling?.topP ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
  return { chat, head, owner, inputItems: items, conversation };
}

/** Keeps a finished response when it asked to be stored (and chains can then continue from it). */
export function keep(store: ResponseStore, plan: ResponsePlan, response: ResponseObject): void {
  if (!plan.head.store || response.status === 'failed') return;
  store.put({
    owner: plan.owner,
    response,
    inputItems: plan.inputItems,
    conversation: [...plan.conversation, ...response.output],
  });
}

export async function createResponse(plan: ResponsePlan, context: RunContext): Promise<ResponseObject> {
  try {
    return responseFromChat(plan.head, await chatCompletion(plan.chat, context));
  } catch (err) {
    // A constraint the grammar engine refuses is found when it compiles, before generation.
    throw renamed(err);
  }
}

/**
 * Streams the response's events; the sequence is queued before the headers go out, so a refusal is
 * still a status. Resolves with the response as it ended (undefined when the client went away first).
 */
export async function streamResponse(
  plan: ResponsePlan,
  context: RunContext,
  events: EventStream,
  report: (error: unknown) => InferdError,
): Promise<ResponseObject | undefined> {
  const writer = new ResponseEventWriter(events, plan.head, report);
  try {
    await streamChat({ ...plan.chat, includeUsage: true }, context, writer);
  } catch (err) {
    // Thrown before the stream opened (a constraint refused as it compiles): still a status.
    throw renamed(err);
  }
  return writer.ended();
}

export function retrieveResponse(store: ResponseStore, owner: string, id: string): ResponseObject {
  const entry = store.get(id, owner);
  if (entry === undefined) throw notFound(id, null, 'Response');
  return entry.response;
}

export function deleteResponse(
  store: ResponseStore,
  owner: string,
  id: string,
): { id: string; object: 'response.deleted'; deleted: true } {
  if (!store.delete(id, owner)) throw notFound(id, null, 'Response');
  return { id, object: 'response.deleted', deleted: true };
}

export interface InputItemList {
  object: 'list';
  data: InputItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** GET /v1/responses/{id}/input_items: the request's input items, newest first unless `order=asc`. */
export function listInputItems(store: ResponseStore, owner: string, id: string, query: unknown): InputItemList {
  const q = parseInputItemsQuery(query);
  const entry = store.get(id, owner);
  if (entry === undefined) throw notFound(id, null, 'Response');
  const ordered = q.order === 'asc' ? [...entry.inputItems] : [...entry.inputItems].reverse();
  let start = 0;
  if (q.after !== undefined) {
    const at = ordered.findIndex((item) => item.id === q.after);
    if (at < 0)
      throw new InferdError('INF_ERR_INVALID_ARGUMENT', `No input item with id '${q.after}' in response '${id}'.`, {
        param: 'after',
        apiCode: 'invalid_value',
      });
    start = at + 1;
  }
  const limit = q.limit ?? 20;
  const data = ordered.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}
