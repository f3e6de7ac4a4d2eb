// One OpenAI request run without a socket, for callers that hold the body already (a batch line):
// the same validation, engines and response objects as the routes, answered as the status and JSON
// body the route would send. Refusals that say nothing about the request itself (a full queue, a
// model loading) and cancellation are thrown instead, so the caller can try again later.

import { errorBody, InferdError, isTransient, toInferdError } from '../../errors/index.js';
import { chatCompletion, prepareChat } from './chat-completions.js';
import { completion, prepareCompletion } from './completions.js';
import { embeddings, prepareEmbeddings } from './embeddings.js';
import type { ModelSource } from './engine-lookup.js';
import { invalidField } from './openai-error.js';

/** The endpoints a body can be sent to without a socket (OpenAI's batch endpoints inferd serves). */
export const OPENAI_REQUEST_URLS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const;
export type OpenAIRequestUrl = (typeof OPENAI_REQUEST_URLS)[number];

export function isOpenAIRequestUrl(url: string): url is OpenAIRequestUrl {
  return (OPENAI_REQUEST_URLS as readonly string[]).includes(url);
}

export interface OpenAIResponse {
  readonly statusCode: number;
  readonly bodyJson: string;
}

/** Thrown to the caller rather than answered: a refusal of the moment (errors/retry-policy.ts) or a cancellation. */
function isRefusal(err: InferdError): boolean {
  return isTransient(err) || err.code === 'INF_ERR_CANCELLED';
}

async function respond(
  source: ModelSource,
  url: OpenAIRequestUrl,
  body: unknown,
  context: { readonly requestId: string; readonly signal: AbortSignal },
): Promise<unknown> {
  const timed = { ...context, arrivalNs: process.hrtime.bigint() };
  switch (url) {
    case '/v1/chat/completions': {
      const plan = prepareChat(source, body);
      if (plan.stream) throw invalidField('stream', 'stream is not supported here: the response is one JSON body.');
      return chatCompletion(plan, timed);
    }
    case '/v1/completions': {
      const plan = prepareCompletion(source, body);
      if (plan.stream) throw invalidField('stream', 'stream is not supported here: the response is one JSON body.');
      return completion(plan, timed);
    }
    case '/v1/embeddings':
      return embeddings(prepareEmbeddings(source, body), context);
  }
}

/**
 * Runs `body` as POSTing it to `url` would. Resolves with the response (success or an error that
 * belongs to the request: 400, 404, 500); rejects with the InferdError for a refusal (429, 503) or
 * a cancellation through `signal`.
 */
export async function runOpenAIRequest(
  source: ModelSource,
  url: OpenAIRequestUrl,
  body: unknown,
  context: { readonly requestId: string; readonly signal: AbortSignal },
): Promise<OpenAIResponse> {
  try {
    const response = await respond(source, url, body, context);
    if (context.signal.aborted) throw new InferdError('INF_ERR_CANCELLED', 'the request was cancelled');
    return { statusCode: 200, bodyJson: JSON.stringify(response) };
  } catch (error) {
    const err = toInferdError(error, context.requestId);
    if (isRefusal(err)) throw err;
    return { statusCode: err.httpStatus, bodyJson: errorBody(err, 'openai', context.requestId) };
  }
}
