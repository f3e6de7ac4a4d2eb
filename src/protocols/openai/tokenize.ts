// vLLM's POST /tokenize and POST /detokenize: a prompt (or chat messages rendered with the model's
// template) to token ids and back, with the model's context length, for clients that count tokens
// before they send a request.

import { tokenizingEngine, type ModelSource } from './engine-lookup.js';
import { invalidField } from './openai-error.js';
import { parseBody } from './parse-body.js';
import { templateMessages } from './prompts.js';
import { detokenizeSchema, tokenizeSchema } from './request-schemas.js';
import { checkTokenIds } from './sampling.js';

export interface TokenizeResponse {
  count: number;
  max_model_len: number;
  tokens: number[];
  token_strs: string[] | null;
}

export function tokenize(repository: ModelSource, rawBody: unknown): TokenizeResponse {
  const body = parseBody(tokenizeSchema, rawBody);
  const hasPrompt = body.prompt != null;
  const hasMessages = body.messages != null;
  if (hasPrompt === hasMessages) {
    throw invalidField(
      hasPrompt ? 'messages' : 'prompt',
      'Give either "prompt" (a string) or "messages" (a chat), not both.',
    );
  }
  const engine = tokenizingEngine(repository, body.model);
  const tokenizer = engine.tokenizer;
  let tokens: number[];
  if (body.messages != null) {
    let text: string;
    try {
      text = tokenizer.applyChatTemplate(templateMessages(body.messages));
    } catch (err) {
      throw invalidField(
        'messages',
        `The model's chat template could not render these messages: ${(err as Error).message}`,
      );
    }
    // The template writes the special tokens itself (vLLM's default for chat is false as well).
    tokens = tokenizer.encode(text, { addSpecialTokens: body.add_special_tokens ?? false });
  } else {
    tokens = tokenizer.encode(body.prompt ?? '', { addSpecialTokens: body.add_special_tokens ?? true });
  }
  return {
    count: tokens.length,
    max_model_len: engine.contextLength,
    tokens,
    token_strs: body.return_token_strs === true ? tokens.map((t) => tokenizer.decode([t])) : null,
  };
}

export function detokenize(repository: ModelSource, rawBody: unknown): { prompt: string } {
  const body = parseBody(detokenizeSchema, rawBody);
  const engine = tokenizingEngine(repository, body.model);
  checkTokenIds(body.tokens, engine.tokenizer.vocabSize, 'tokens');
  // vLLM answers an empty list with an empty prompt (the tokenizer library throws on it).
  return { prompt: body.tokens.length === 0 ? '' : engine.tokenizer.decode(body.tokens) };
}
