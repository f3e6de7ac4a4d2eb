// Prompts to token ids: chat messages through the model's chat template (then tokenized without
// adding special tokens again, as vLLM does: the template writes them), completions' prompts in
// each of OpenAI's four forms, and the same forms for embedding inputs.

import type { ChatMessage, TextTokenizer } from '../../generation/engine-types.js';
import { checkTokenIds } from './sampling.js';
import { invalidField } from './openai-error.js';

export interface RequestMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant';
  readonly content: string | readonly { readonly type: 'text'; readonly text: string }[];
}

export interface TokenizedPrompt {
  /** The prompt as text (for echo): the string given, or the ids decoded. */
  readonly text: string;
  readonly tokenIds: readonly number[];
}

/** Messages as the chat template takes them: text parts joined, "developer" read as "system". */
export function templateMessages(messages: readonly RequestMessage[]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

export function chatPromptIds(tokenizer: TextTokenizer, messages: readonly RequestMessage[]): number[] {
  let text: string;
  try {
    text = tokenizer.applyChatTemplate(templateMessages(messages));
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
