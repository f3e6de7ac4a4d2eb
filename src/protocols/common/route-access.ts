// The access declaration of every HTTP route: its API group (src/security/scopes.ts) and, for
// inference, where the model name is. A route registered without a declaration here (or in its
// own `config.access`) stops the server from starting, so a route added later cannot be reachable
// without a decision; test/security/route-table.test.ts walks the live table too.

import type { RouteGroup } from '../../security/scopes.js';

export interface RouteAccess {
  readonly group: RouteGroup;
  /** For inference: the model is the `:model` path parameter, or the JSON body's `model` field. */
  readonly model?: 'params' | 'body';
}

const health: RouteAccess = { group: 'health' };
const metadata: RouteAccess = { group: 'metadata' };
const modelConfig: RouteAccess = { group: 'model-config' };
const statistics: RouteAccess = { group: 'statistics' };
const inferByPath: RouteAccess = { group: 'inference', model: 'params' };
const inferByBody: RouteAccess = { group: 'inference', model: 'body' };
const repository: RouteAccess = { group: 'model-repository' };
const batch: RouteAccess = { group: 'batch' };
const logging: RouteAccess = { group: 'logging' };

/** `METHOD url` (fastify's route pattern) → access. HEAD routes take their GET's. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  // probes (protocols/common/http-app.ts) and the KServe v2 health, server and model metadata
  'GET /health': health,
  'GET /ready': health,
  'GET /v2/health/live': health,
  'GET /v2/health/ready': health,
  'GET /v2/models/:model/ready': health,
  'GET /v2/models/:model/versions/:version/ready': health,
  'GET /': metadata,
  'GET /version': metadata,
  'GET /v2': metadata,
  'GET /v2/models': metadata,
  'GET /v2/models/:model': metadata,
  'GET /v2/models/:model/versions/:version': metadata,
  'GET /v2/models/:model/config': modelConfig,
  'GET /v2/models/:model/versions/:version/config': modelConfig,
  'GET /v2/models/stats': statistics,
  // Triton's log settings API (protocols/kserve-http/routes-logging.ts)
  'GET /v2/logging': logging,
  'POST /v2/logging': logging,
  // Triton's trace settings API (protocols/kserve-http/routes-trace.ts), guarded as the log settings
  'GET /v2/trace/setting': logging,
  'POST /v2/trace/setting': logging,
  'GET /v2/models/:model/trace/setting': logging,
  'POST /v2/models/:model/trace/setting': logging,
  'GET /v2/models/:model/stats': statistics,
  'GET /v2/models/:model/versions/:version/stats': statistics,
  'GET /v2/usage': statistics,
  'GET /metrics': { group: 'metrics' },
  // experiments (protocols/kserve-http/routes-experiments.ts): reading them is statistics, changing them administration
  'GET /v2/experiments': statistics,
  'GET /v2/experiments/:name': statistics,
  'PUT /v2/experiments/:name': repository,
  'DELETE /v2/experiments/:name': repository,
  // delayed labels (protocols/kserve-http/routes-feedback.ts): whoever may infer may label
  'POST /v2/feedback': { group: 'inference' },
  'GET /v2/models/:model/accuracy': statistics,
  'GET /v2/models/:model/drift': statistics,
  'GET /v2/models/:model/versions/:version/drift': statistics,
  'GET /v2/models/:model/versions/:version/accuracy': statistics,
  // the repository API
  'POST /v2/repository/index': repository,
  'POST /v2/repository/models/:model/load': repository,
  'POST /v2/repository/models/:model/unload': repository,
  // inference: REST, the WebSocket stream, the OpenAI API, vLLM's tokenizer routes
  'POST /v2/models/:model/infer': inferByPath,
  'POST /v2/models/:model/versions/:version/infer': inferByPath,
  'GET /v2/models/:model/infer/stream': inferByPath,
  'GET /v2/models/:model/versions/:version/infer/stream': inferByPath,
  'GET /v1/models': metadata,
  'GET /v1/models/:id': metadata,
  'POST /v1/chat/completions': inferByBody,
  'POST /v1/completions': inferByBody,
  'POST /v1/embeddings': inferByBody,
  // stored responses belong to the caller that created them (protocols/openai/response-store.ts)
  'POST /v1/responses': inferByBody,
  'GET /v1/responses/:id': { group: 'inference' },
  'DELETE /v1/responses/:id': { group: 'inference' },
  'GET /v1/responses/:id/input_items': { group: 'inference' },
  'POST /tokenize': inferByBody,
  'POST /v1/rerank': inferByBody,
  'POST /rerank': inferByBody,
  'POST /v1/score': inferByBody,
  'POST /score': inferByBody,
  'POST /detokenize': inferByBody,
  // the Files and Batch API
  'POST /v1/files': batch,
  'GET /v1/files': batch,
  'GET /v1/files/:id': batch,
  'GET /v1/files/:id/content': batch,
  'DELETE /v1/files/:id': batch,
  'POST /v1/batches': batch,
  'GET /v1/batches': batch,
  'GET /v1/batches/:id': batch,
  'POST /v1/batches/:id/cancel': batch,
};

/** The declaration for a route, or undefined when it has none. */
export function routeAccessOf(method: string, url: string, declared: RouteAccess | undefined): RouteAccess | undefined {
  if (declared !== undefined) return declared;
  const m = method === 'HEAD' ? 'GET' : method;
  return ROUTE_ACCESS[`${m} ${url}`];
}
