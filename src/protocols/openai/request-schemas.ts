// The request bodies of the OpenAI-compatible endpoints as zod schemas, with one message per field
// that says what the field accepts (the OpenAI API reference's ranges; vLLM's extras). Checks that
// need the model (token ids against the vocabulary, the context length) run later, in sampling.ts.

import { z } from 'zod';
import { structuredOutputFields } from './structured-output.js';
import { checkMessageFields, messageToolCall, toolChoice, toolDefinition } from './tool-schemas.js';

const nullish = <T extends z.ZodType>(schema: T) => schema.nullish();

const number = (what: string, min: number, max: number) =>
  nullish(
    z
      .number({ error: `must be ${what}` })
      .gte(min)
      .lte(max),
  );
const integer = (what: string, min: number, max: number) =>
  nullish(
    z
      .number({ error: `must be ${what}` })
      .int()
      .gte(min)
      .lte(max),
  );
const boolean = nullish(z.boolean({ error: 'must be a boolean' }));

const TOKEN_IDS_MESSAGE = 'must be a list of token ids (integers of at least 0)';
const TOKEN_ID = z
  .number({ error: TOKEN_IDS_MESSAGE })
  .int()
  .gte(0)
  .lte(2 ** 31 - 1);

/** Fields the chat and completions endpoints share (OpenAI's, then vLLM's widely used extras). */
const samplingFields = {
  model: z.string({ error: 'must be a string naming a model' }).min(1),
  max_tokens: integer('an integer of at least 1', 1, Number.MAX_SAFE_INTEGER),
  temperature: number('a number between 0 and 2', 0, 2),
  top_p: nullish(z.number({ error: 'must be a number greater than 0 and at most 1' }).gt(0).lte(1)),
  n: integer('an integer between 1 and 128', 1, 128),
  stop: nullish(
    z.union([z.string(), z.array(z.string()).max(4)], { error: 'must be a string or a list of at most 4 strings' }),
  ),
  seed: integer('an integer', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  frequency_penalty: number('a number between -2 and 2', -2, 2),
  presence_penalty: number('a number between -2 and 2', -2, 2),
  logit_bias: nullish(
    z.record(
      z.string().regex(/^(0|[1-9][0-9]{0,9})$/),
      z.number({ error: 'must map token ids (integer strings) to numbers between -100 and 100' }).gte(-100).lte(100),
      { error: 'must map token ids (integer strings) to numbers between -100 and 100' },
    ),
  ),
  stream: boolean,
  stream_options: nullish(
    z.object({ include_usage: boolean }, { error: 'must be an object such as {"include_usage": true}' }),
  ),
  user: nullish(z.string({ error: 'must be a string' })),
  // Extras (vLLM, TGI, llama.cpp).
  top_k: integer('an integer: -1 or 0 for off, else at least 1', -1, 2 ** 31 - 1),
  min_p: number('a number between 0 and 1', 0, 1),
  repetition_penalty: nullish(z.number({ error: 'must be a number greater than 0 and at most 2' }).gt(0).lte(2)),
  min_tokens: integer('an integer of at least 0', 0, Number.MAX_SAFE_INTEGER),
  ignore_eos: boolean,
  stop_token_ids: nullish(z.array(TOKEN_ID, { error: TOKEN_IDS_MESSAGE })),
  ...structuredOutputFields,
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const content = z.union([z.string(), z.array(textPart)], {
  error:
    'must be a string or a list of text parts ({"type": "text", "text": "..."}); images and audio are not supported',
});

const message = z
  .object(
    {
      role: z.enum(['system', 'developer', 'user', 'assistant', 'tool'], {
        error: 'must be one of "system", "developer", "user", "assistant" or "tool"',
      }),
      // Required except in an assistant message that carries tool calls (checked below).
      content: content.nullish(),
      name: nullish(z.string({ error: 'must be a string' })),
      tool_calls: nullish(z.array(messageToolCall, { error: 'must be a list of tool calls' })),
      tool_call_id: nullish(z.string({ error: 'must be a string' })),
    },
    { error: 'must be an object with "role" and "content"' },
  )
  .superRefine(checkMessageFields);
export const chatCompletionSchema = z.object({
  ...samplingFields,
  messages: z.array(message, { error: 'must be a non-empty list of messages' }).min(1),
  max_completion_tokens: integer('an integer of at least 1', 1, Number.MAX_SAFE_INTEGER),
  logprobs: boolean,
  top_logprobs: integer('an integer between 0 and 20', 0, 20),
  tools: nullish(z.array(toolDefinition, { error: 'must be a list of tools' })),
  tool_choice: nullish(toolChoice),
  parallel_tool_calls: boolean,
  functions: nullish(z.array(z.unknown(), { error: 'must be a list' })),
  function_call: nullish(z.unknown()),
});
export type ChatCompletionBody = z.infer<typeof chatCompletionSchema>;

const tokenIds = z.array(TOKEN_ID).min(1);

/** A prompt as OpenAI takes it: a string, strings, token ids, or lists of token ids. */
const promptInput = (what: string) =>
  z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)], {
    error: `must be a string, a list of strings, a list of token ids or a list of token id lists (${what})`,
  });

export const completionSchema = z.object({
  ...samplingFields,
  prompt: promptInput('none empty'),
  echo: boolean,
  logprobs: integer('an integer between 0 and 5', 0, 5),
  suffix: nullish(z.string({ error: 'must be a string' })),
  best_of: integer('an integer between 1 and 128', 1, 128),
});
export type CompletionBody = z.infer<typeof completionSchema>;

export const embeddingSchema = z.object({
  model: samplingFields.model,
  input: promptInput('none empty'),
  encoding_format: nullish(z.enum(['float', 'base64'], { error: 'must be "float" or "base64"' })),
  dimensions: integer('an integer of at least 1', 1, Number.MAX_SAFE_INTEGER),
  user: samplingFields.user,
});
export type EmbeddingBody = z.infer<typeof embeddingSchema>;

/** vLLM's POST /tokenize: a prompt, or chat messages rendered with the model's template. */
export const tokenizeSchema = z.object({
  model: samplingFields.model,
  prompt: nullish(z.string({ error: 'must be a string' })),
  messages: nullish(z.array(message, { error: 'must be a non-empty list of messages' }).min(1)),
  add_special_tokens: boolean,
  return_token_strs: boolean,
});
export type TokenizeBody = z.infer<typeof tokenizeSchema>;

export const detokenizeSchema = z.object({
  model: samplingFields.model,
  tokens: z.array(TOKEN_ID, { error: TOKEN_IDS_MESSAGE }),
});
export type DetokenizeBody = z.infer<typeof detokenizeSchema>;
