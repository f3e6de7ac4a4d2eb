// POST /v1/embeddings: inputs as a string, strings, token ids or token id lists, tokenized and
// checked against the context length here (before anything is queued), embedded through the
// model's EmbeddingEngine (its dynamic batcher), answered as OpenAI's `list` of `embedding`
// objects in float or base64 (little-endian float32, what the openai clients decode).

import type { EmbeddingEngine } from '../../generation/engine-types.js';
import { embeddingEngine, type Chosen, type ModelSource } from './engine-lookup.js';
import { invalidField } from './openai-error.js';
import { parseBody } from './parse-body.js';
import { tokenizePrompts } from './prompts.js';
import { embeddingSchema } from './request-schemas.js';

/** OpenAI's limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

export interface EmbeddingPlan {
  readonly engine: EmbeddingEngine;
  readonly model: string;
  readonly base64: boolean;
  readonly inputs: readonly (readonly number[])[];
}

export interface EmbeddingList {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export function prepareEmbeddings(repository: ModelSource, rawBody: unknown, chosen?: Chosen): EmbeddingPlan {
  const body = parseBody(embeddingSchema, rawBody);
  const engine = embeddingEngine(repository, body.model, {
    key: body.user ?? undefined,
    ...(chosen === undefined ? {} : { chosen }),
  });
  if (body.dimensions != null && body.dimensions !== engine.dimensions) {
    throw invalidField(
      'dimensions',
      `Invalid value for 'dimensions': this model's embeddings have ${engine.dimensions} dimensions and cannot be shortened to ${body.dimensions}; leave 'dimensions' out or set it to ${engine.dimensions}.`,
      'unsupported_value',
    );
  }
  // Counted before anything is tokenized (a list of token ids is one input).
  const count = typeof body.input === 'string' || typeof body.input[0] === 'number' ? 1 : body.input.length;
  if (count > MAX_EMBEDDING_INPUTS) {
    throw invalidField('input', `Invalid value for 'input': at most ${MAX_EMBEDDING_INPUTS} inputs per request.`);
  }
  const prompts = tokenizePrompts(engine.tokenizer, body.input, 'input');
  prompts.forEach((p, i) => {
    if (p.tokenIds.length > engine.contextLength) {
      throw invalidField(
        prompts.length === 1 ? 'input' : `input[${i}]`,
        `This model's maximum context length is ${engine.contextLength} tokens. However, you requested ${p.tokenIds.length} tokens in the input for embedding generation. Please reduce the length of the input.`,
        'context_length_exceeded',
      );
    }
  });
  return {
    engine,
    model: body.model,
    base64: body.encoding_format === 'base64',
    inputs: prompts.map((p) => p.tokenIds),
  };
}

function base64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

export async function embeddings(
  plan: EmbeddingPlan,
  context: { readonly requestId: string; readonly signal: AbortSignal },
): Promise<EmbeddingList> {
  const { embeddings: vectors, promptTokens } = await plan.engine.embed(plan.inputs, context);
  return {
    object: 'list',
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: plan.base64 ? base64(v) : Array.from(v),
    })),
    model: plan.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
