// Which endpoints a batch may target, and how a line's `url` must agree with its batch's
// `endpoint`. OpenAI runs one endpoint per batch; inferd's v2 rule:
//   - endpoint "/v2/infer": each line may call any v2 infer URL
//     (/v2/models/{m}/infer or /v2/models/{m}/versions/{v}/infer), so one batch can span models;
//   - endpoint "/v2/models/{m}[/versions/{v}]/infer": each line's url must be exactly that URL.
// OpenAI's "/v1/chat/completions", "/v1/completions" and "/v1/embeddings" work as OpenAI's: each
// line's url must be the endpoint, and the model is named in each line's body.

import { badRequest } from './batch-api-error.js';

export const ANY_V2_INFER = '/v2/infer';

/** OpenAI's batch endpoints inferd serves; the OpenAI edge runs their lines (BatchApiOptions.runOpenAI). */
export const OPENAI_BATCH_URLS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const;
export type OpenAIBatchUrl = (typeof OPENAI_BATCH_URLS)[number];

export function isOpenAIBatchUrl(url: string): url is OpenAIBatchUrl {
  return (OPENAI_BATCH_URLS as readonly string[]).includes(url);
}

/** OpenAI batch endpoints inferd does not serve. */
const NOT_YET_SERVED = ['/v1/responses'];

export interface InferTarget {
  readonly model: string;
  readonly version: string | undefined;
}

const INFER_URL = /^\/v2\/models\/([^/?#]+)(?:\/versions\/([^/?#]+))?\/infer$/;

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The model and version a v2 infer URL names, or undefined when it is not one. */
export function parseInferUrl(url: string): InferTarget | undefined {
  const m = INFER_URL.exec(url);
  if (m === null || m[1] === undefined) return undefined;
  const model = decodeSegment(m[1]);
  const version = m[2] === undefined ? undefined : decodeSegment(m[2]);
  if (model === undefined || (m[2] !== undefined && version === undefined)) return undefined;
  return { model, version };
}

/** Checks a batch's `endpoint` when the batch is created. */
export function checkEndpoint(endpoint: unknown): string {
  if (typeof endpoint !== 'string' || endpoint === '') {
    throw badRequest('"endpoint" is required: "/v2/infer" or a v2 infer URL', 'endpoint', 'missing_required_parameter');
  }
  if (endpoint === ANY_V2_INFER || parseInferUrl(endpoint) !== undefined || isOpenAIBatchUrl(endpoint)) {
    return endpoint;
  }
  if (NOT_YET_SERVED.includes(endpoint)) {
    throw badRequest(
      `endpoint '${endpoint}' is not served by this server; batches can target "/v1/chat/completions", ` +
        `"/v1/completions", "/v1/embeddings", "/v2/infer" or a v2 infer URL such as "/v2/models/{model}/infer"`,
      'endpoint',
      'unsupported_endpoint',
    );
  }
  throw badRequest(
    `unknown endpoint '${endpoint}'; batches can target "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v2/infer" (any v2 infer URL per line) or one v2 infer URL such as "/v2/models/{model}/infer"`,
    'endpoint',
    'invalid_endpoint',
  );
}

/** Why a line's url does not fit the batch's endpoint, or undefined when it does. */
export function urlMismatch(endpoint: string, url: string): string | undefined {
  if (endpoint === ANY_V2_INFER) {
    return parseInferUrl(url) === undefined
      ? `url '${url}' is not a v2 infer URL (/v2/models/{model}[/versions/{version}]/infer)`
      : undefined;
  }
  return url === endpoint ? undefined : `url '${url}' differs from the batch's endpoint '${endpoint}'`;
}
