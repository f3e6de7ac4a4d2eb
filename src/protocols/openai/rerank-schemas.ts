// The request bodies of the rerank and score endpoints, in the three shapes clients send:
// - Jina / Cohere as vLLM serves them (POST /v1/rerank, /rerank): {model, query, documents, top_n,
//   return_documents};
// - Hugging Face TEI (POST /rerank with `texts` instead of `documents`): {query, texts, truncate,
//   raw_scores, return_text}; inferd serves several models, so `model` is required here too;
// - vLLM's score API (POST /v1/score, /score): {model, text_1, text_2}, each a string or a list.

import { z } from 'zod';

/** Cohere's limit on documents per request; vLLM and TEI take what fits the batch. */
export const MAX_RERANK_DOCUMENTS = 1000;

const model = z.string({ error: 'must be a string naming a model' }).min(1);
const text = z.string({ error: 'must be a string' });
const bool = z.boolean({ error: 'must be a boolean' }).nullish();
const listBounds = <T extends z.ZodType>(item: T, what: string) =>
  z
    .array(item, { error: `must be a list of ${what}` })
    .min(1, { error: 'must hold at least one document' })
    .max(MAX_RERANK_DOCUMENTS, { error: `must hold at most ${MAX_RERANK_DOCUMENTS} documents` });
const documents = listBounds(
  z.union([text, z.object({ text }, { error: 'must be a string or {text}' })], {
    error: 'must be a string or a {text} object',
  }),
  'strings or {text} objects',
);
/** vLLM's truncate_prompt_tokens: -1 = the model's limit, else keep at most this many tokens. */
const truncatePromptTokens = z
  .number({ error: 'must be -1 (the model limit) or an integer of at least 1' })
  .int({ error: 'must be -1 (the model limit) or an integer of at least 1' })
  .gte(-1)
  .refine((n) => n !== 0, { error: 'must be -1 (the model limit) or an integer of at least 1' })
  .nullish();

export const rerankSchema = z.object({
  model,
  query: text,
  documents,
  top_n: z
    .number({ error: 'must be an integer of at least 0 (0 = every document)' })
    .int({ error: 'must be an integer of at least 0 (0 = every document)' })
    .gte(0)
    .nullish(),
  return_documents: bool,
  truncate_prompt_tokens: truncatePromptTokens,
  user: text.nullish(),
});
export type RerankBody = z.infer<typeof rerankSchema>;

export const teiRerankSchema = z.object({
  model,
  query: text,
  texts: listBounds(text, 'strings'),
  truncate: bool,
  truncation_direction: z
    .enum(['right', 'Right'], { error: 'must be "right" (documents are cut at their end)' })
    .nullish(),
  raw_scores: bool,
  return_text: bool,
});
export type TeiRerankBody = z.infer<typeof teiRerankSchema>;

const oneOrMany = z.union([text, z.array(text, { error: 'must be a string or a list of strings' }).min(1)], {
  error: 'must be a string or a non-empty list of strings',
});

export const scoreSchema = z.object({
  model,
  text_1: oneOrMany,
  text_2: oneOrMany,
  truncate_prompt_tokens: truncatePromptTokens,
  user: text.nullish(),
});
export type ScoreBody = z.infer<typeof scoreSchema>;
