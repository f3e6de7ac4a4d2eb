// The one check every edge makes before it uses a model version: does this kind serve what the
// request asks for? A wrong kind is a 400 that names the endpoint which does serve the model, in
// the wording of the asking protocol (KServe v2, or OpenAI's error with `param: "model"`).

import { InferdError } from '../errors/index.js';
import type {
  EmbeddingModelVersion,
  ModelKind,
  ModelVersion,
  RerankerModelVersion,
  TensorServingVersion,
  TextGenerationModelVersion,
} from './model-version.js';

/** What a request asks of a model: KServe v2 inference, or one of the OpenAI-compatible APIs. */
export type ServingApi = 'v2 infer' | 'completions' | 'chat completions' | 'embeddings' | 'rerank' | 'tokenization';

interface Narrowed {
  'v2 infer': TensorServingVersion;
  completions: TextGenerationModelVersion;
  'chat completions': TextGenerationModelVersion;
  embeddings: EmbeddingModelVersion;
  rerank: RerankerModelVersion;
  tokenization: TextGenerationModelVersion | EmbeddingModelVersion | RerankerModelVersion;
}

/** Which kinds serve each API. */
const SERVED_BY: { readonly [A in ServingApi]: readonly ModelKind[] } = {
  'v2 infer': ['tensor', 'stateful', 'embedding', 'reranker'],
  completions: ['text-generation'],
  'chat completions': ['text-generation'],
  embeddings: ['embedding'],
  rerank: ['reranker'],
  tokenization: ['text-generation', 'embedding', 'reranker'],
};

export function serves(mv: ModelVersion, api: ServingApi): boolean {
  return SERVED_BY[api].includes(mv.kind);
}

/** The version, typed for the API; a 400 naming the endpoint that serves it when the kind does not. */
export function requireKind<A extends ServingApi>(mv: ModelVersion, api: A): Narrowed[A] {
  // SERVED_BY lists exactly the kinds of Narrowed[A].
  if (serves(mv, api)) return mv as Narrowed[A];
  throw wrongKind(mv, api);
}

/** The model kinds the OpenAI-compatible edge serves (GET /v1/models lists these): those with a tokenizer. */
export function servesOpenAI(
  mv: ModelVersion,
): mv is TextGenerationModelVersion | EmbeddingModelVersion | RerankerModelVersion {
  return serves(mv, 'tokenization');
}

function wrongKind(mv: ModelVersion, api: ServingApi): InferdError {
  if (api === 'v2 infer') {
    return new InferdError(
      'INF_ERR_INVALID_ARGUMENT',
      `model '${mv.name}' is a text-generation model: use POST /v1/completions or /v1/chat/completions`,
    );
  }
  const serving =
    mv.kind === 'text-generation'
      ? 'a text-generation model: use /v1/chat/completions or /v1/completions'
      : mv.kind === 'embedding'
        ? 'an embedding model: use /v1/embeddings'
        : mv.kind === 'reranker'
          ? 'a reranker: use /v1/rerank or /v1/score'
          : `a tensor model: use the KServe v2 endpoint POST /v2/models/${mv.name}/infer`;
  return new InferdError(
    'INF_ERR_INVALID_ARGUMENT',
    `The model '${mv.name}' does not support ${api}; it is ${serving}.`,
    {
      param: 'model',
      apiCode: 'model_not_supported',
    },
  );
}
