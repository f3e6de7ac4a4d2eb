// Rerank and score with a cross-encoder (`task: rerank` models), in the shapes clients send:
// - POST /v1/rerank and /rerank (Jina / Cohere, as vLLM serves them) → {id, model, usage,
//   results: [{index, relevance_score, document: {text}}]}, best first, the top_n of them;
// - POST /rerank with `texts` (Hugging Face TEI) → [{index, score, text?}], best first;
// - POST /v1/score and /score (vLLM) → {id, object: "list", created, model, data: [{index, object:
//   "score", score}], usage}, in pair order.
// Every pair is tokenized and checked against the model's length before anything is queued; the
// pairs of a request (and of concurrent requests) are batched by the model's dynamic batcher.

import { randomUUID } from 'node:crypto';
import type { RerankEngine } from '../../generation/engine-types.js';
import { nowSeconds } from './completion-objects.js';
import { rerankEngine, type Chosen, type ModelSource } from './engine-lookup.js';
import { invalidField } from './openai-error.js';
import { parseBody, parseJsonObject } from './parse-body.js';
import { rerankSchema, scoreSchema, teiRerankSchema } from './rerank-schemas.js';

type Pair = { readonly ids: readonly number[]; readonly typeIds: readonly number[] };

/** What every shape queues: the model's engine and the tokenized pairs. */
export interface ScoringPlan {
  readonly engine: RerankEngine;
  readonly model: string;
  readonly pairs: readonly Pair[];
  readonly promptTokens: number;
  /** TEI's raw_scores: the logits whatever the model's activation. */
  readonly raw: boolean;
  /** Builds the answer from one score per pair, in pair order. */
  readonly answer: (scores: readonly number[]) => unknown;
}

/** Pair i: the query (or text_1) and the document (or text_2) it is scored with, and the field naming it. */
interface PairText {
  readonly first: string;
  readonly second: string;
  readonly field: string;
}

/**
 * Tokenizes every pair; one longer than `limit` (the model's max_tokens, or a smaller
 * truncate_prompt_tokens) is cut at its end, keeping the closing special token, when `truncate`,
 * else refused with a 400 naming its field.
 */
function encodePairs(engine: RerankEngine, texts: readonly PairText[], truncate: number | boolean | undefined): Pair[] {
  const limit =
    typeof truncate === 'number' && truncate > 0 ? Math.min(truncate, engine.contextLength) : engine.contextLength;
  const cut = truncate !== undefined && truncate !== false;
  return texts.map(({ first, second, field }) => {
    const pair = engine.encodePair(first, second);
    if (pair.ids.length <= limit) return pair;
    if (!cut)
      throw invalidField(
        field,
        `This model's maximum context length is ${limit} tokens. However, the query and ${field} are ${pair.ids.length} tokens long together. Shorten the document, or ask for truncation.`,
        'context_length_exceeded',
      );
    const keep = (list: readonly number[]) =>
      limit >= 2 ? [...list.slice(0, limit - 1), list[list.length - 1] ?? 0] : list.slice(0, limit);
    return { ids: keep(pair.ids), typeIds: keep(pair.typeIds) };
  });
}

function plan(
  engine: RerankEngine,
  model: string,
  texts: readonly PairText[],
  truncate: number | boolean | undefined,
  raw: boolean,
  answer: (scores: readonly number[], promptTokens: number) => unknown,
): ScoringPlan {
  const pairs = encodePairs(engine, texts, truncate);
  const promptTokens = pairs.reduce((n, p) => n + p.ids.length, 0);
  return { engine, model, pairs, promptTokens, raw, answer: (scores) => answer(scores, promptTokens) };
}

function answerId(kind: 'rerank' | 'score'): string {
  return `${kind}-${randomUUID().replaceAll('-', '')}`;
}

/** Indices ordered by score, best first (ties keep their order). */
function ranked(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0));
}

/** POST /v1/rerank and /rerank: Jina and Cohere's body, or TEI's when it has `texts` instead of `documents`. */
export function prepareRerank(repository: ModelSource, rawBody: unknown, chosen?: Chosen): ScoringPlan {
  const json = parseJsonObject(rawBody);
  if (!('documents' in json) && 'texts' in json) return prepareTeiRerank(repository, json, chosen);
  const body = parseBody(rerankSchema, json);
  const engine = rerankEngine(repository, body.model, { key: body.user ?? undefined, ...(chosen && { chosen }) });
  const documents = body.documents.map((d) => (typeof d === 'string' ? d : d.text));
  const topN = body.top_n == null || body.top_n === 0 ? documents.length : Math.min(body.top_n, documents.length);
  const withDocuments = body.return_documents ?? true;
  const texts = documents.map((d, i) => ({ first: body.query, second: d, field: `documents[${i}]` }));
  return plan(engine, body.model, texts, body.truncate_prompt_tokens ?? undefined, false, (scores, promptTokens) => ({
    id: answerId('rerank'),
    model: body.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    results: ranked(scores)
      .slice(0, topN)
      .map((index) => ({
        index,
        relevance_score: scores[index] ?? 0,
        ...(withDocuments ? { document: { text: documents[index] ?? '' } } : {}),
      })),
  }));
}

function prepareTeiRerank(repository: ModelSource, json: Record<string, unknown>, chosen?: Chosen): ScoringPlan {
  const body = parseBody(teiRerankSchema, json);
  const engine = rerankEngine(repository, body.model, chosen && { chosen });
  const texts = body.texts.map((t, i) => ({ first: body.query, second: t, field: `texts[${i}]` }));
  return plan(engine, body.model, texts, body.truncate ?? false, body.raw_scores ?? false, (scores) =>
    ranked(scores).map((index) => ({
      index,
      score: scores[index] ?? 0,
      ...(body.return_text === true ? { text: body.texts[index] ?? '' } : {}),
    })),
  );
}

/**
 * POST /v1/score and /score: text_1 against each text_2 (a single text_1, or a list of one, is
 * paired with every text_2; two lists are paired in order and must be as long), as vLLM does.
 */
export function prepareScore(repository: ModelSource, rawBody: unknown, chosen?: Chosen): ScoringPlan {
  const body = parseBody(scoreSchema, rawBody);
  const engine = rerankEngine(repository, body.model, { key: body.user ?? undefined, ...(chosen && { chosen }) });
  const first = typeof body.text_1 === 'string' ? [body.text_1] : body.text_1;
  const second = typeof body.text_2 === 'string' ? [body.text_2] : body.text_2;
  if (first.length > 1 && first.length !== second.length)
    throw invalidField(
      'text_2',
      `Invalid value for 'text_2': it holds ${second.length} texts and text_1 holds ${first.length}; give one text_1 to score against every text_2, or lists of the same length to score in pairs.`,
    );
  const texts = second.map((t, i) => ({
    first: first[first.length === 1 ? 0 : i] ?? '',
    second: t,
    field: typeof body.text_2 === 'string' ? 'text_2' : `text_2[${i}]`,
  }));
  return plan(engine, body.model, texts, body.truncate_prompt_tokens ?? undefined, false, (scores, promptTokens) => ({
    id: answerId('score'),
    object: 'list',
    created: nowSeconds(),
    model: body.model,
    data: scores.map((score, index) => ({ index, object: 'score', score })),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0 },
  }));
}

/** Scores the plan's pairs through the model's scheduler and builds its answer. */
export async function runScoring(
  plan: ScoringPlan,
  context: { readonly requestId: string; readonly signal: AbortSignal },
): Promise<unknown> {
  const scores = await plan.engine.score(plan.pairs, { ...context, raw: plan.raw });
  return plan.answer(scores);
}
