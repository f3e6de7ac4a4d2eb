// Prompts to token ids: chat messages through the model's chat template (then tokenized without
// adding special tokens again, as vLLM does: the template writes them), completions' prompts in
// each of OpenAI's four forms, and the same forms for embedding inputs.

import type { ChatMessage, ChatTemplateOptions, TextTokenizer } from '../../generation/engine-types.js';
import { checkTokenIds } from './sampling.js';
import { invalidField } from './openai-error.js';

export interface RequestMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  /** Null or absent only in an assistant message with tool calls (the schema checks it). */
  readonly content?: string | readonly { readonly type: 'text'; readonly text: string }[] | null | undefined;
  readonly tool_calls?:
    | readonly { readonly id: string; readonly function: { readonly name: string; readonly arguments: string } }[]
    | null
    | undefined;
  readonly tool_call_id?: string | null | undefined;
}

export interface TokenizedPrompt {
  /** The prompt as text (for echo): the string given, or the ids decoded. */
  readonly text: string;
  readonly tokenIds: readonly number[];
}

/**
 * Messages as the chat template takes them: text parts joined, "developer" read as "system", the
 * arguments of earlier tool calls parsed from their JSON (templates write them out as objects, as
 * vLLM hands them over).
 */
export function templateMessages(messages: readonly RequestMessage[]): ChatMessage[] {
  return messages.map((m, i) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: m.content == null ? '' : typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
    ...(m.tool_calls == null
      ? {}
      : {
          toolCalls: m.tool_calls.map((c, j) => ({
            id: c.id,
            name: c.function.name,
            arguments: callArguments(c.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`),
          })),
        }),
    ...(m.tool_call_id == null ? {} : { toolCallId: m.tool_call_id }),
  }));
}

function callArguments(json: string, param: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw invalidField(param, `Invalid value for '${param}': must be a string of JSON (${(err as Error).message}).`);
  }
}

export function chatPromptIds(
  tokenizer: TextTokenizer,
  messages: readonly RequestMessage[],
  options?: ChatTemplateOptions,
): number[] {
  const rendered = templateMessages(messages);
  let text: string;
  try {
    text = tokenizer.applyChatTemplate(rendered, options);
  } catch (err) {
    throw invalidField(
      'messages',
      `The model's chat template could not render these messages: ${(err as Error).message}`,
    );
  }
  return tokenizer.encode(text, { addSpecialTokens: false });
}

/** A string, strings, token ids or token id lists, as a list of prompts. */
export type PromptInput = string | readonly string[] | readonly number[] | readonly (readonly number[])[];

function isIdList(input: PromptInput): input is readonly number[] {
  return input.length > 0 && typeof input[0] === 'number';
}

/** Each prompt's token ids; `param` names the field in errors ("prompt" or "input"). */
export function tokenizePrompts(
  tokenizer: TextTokenizer,
  input: PromptInput,
  param: string,
  options: { readonly decodeIds: boolean } = { decodeIds: false },
): TokenizedPrompt[] {
  const items: (string | readonly number[])[] =
    typeof input === 'string' ? [input] : isIdList(input) ? [input] : [...(input as readonly (string | number[])[])];
  return items.map((item, i) => {
    const where = items.length === 1 ? param : `${param}[${i}]`;
    if (typeof item === 'string') {
      const tokenIds = tokenizer.encode(item);
      if (item === '' || tokenIds.length === 0)
        throw invalidField(where, `Invalid value for '${where}': must not be empty.`);
      return { text: item, tokenIds };
    }
    checkTokenIds(item, tokenizer.vocabSize, where);
    return { text: options.decodeIds ? tokenizer.decode(item) : '', tokenIds: item };
  });
}
