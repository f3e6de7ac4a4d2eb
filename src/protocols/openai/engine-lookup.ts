// Finds the engine an OpenAI request names: a text-generation engine for chat and completions, an
// embedding engine for embeddings. A model of the other kind, or a plain tensor model, is a 400
// that names the endpoint which serves it; an unknown model is OpenAI's 404 model_not_found.

import type { EmbeddingEngine, TextGenerationEngine } from '../../generation/engine-types.js';
import { InferdError, isInferdError } from '../../errors/index.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { ModelVersion } from '../../repository/model-version.js';
import { OpenAIError, invalidField } from './openai-error.js';

/** What the edge needs of the repository (tests pass a stand-in). */
export type ModelSource = Pick<ModelRepository, 'resolve' | 'servingVersions'>;

/** A model version with the engines the repository attaches to generation and embedding models. */
export type EngineVersion = ModelVersion & {
  readonly textGeneration?: TextGenerationEngine;
  readonly embedding?: EmbeddingEngine;
};

function resolveVersion(repository: ModelSource, model: string): EngineVersion {
  try {
    return repository.resolve(model);
  } catch (err) {
    if (isInferdError(err) && (err.code === 'INF_ERR_MODEL_NOT_FOUND' || err.code === 'INF_ERR_INVALID_ARGUMENT')) {
      throw new OpenAIError('INF_ERR_MODEL_NOT_FOUND', `The model '${model}' does not exist.`, {
        param: 'model',
        apiCode: 'model_not_found',
      });
    }
    if (err instanceof InferdError) {
      throw new OpenAIError(err.code, err.message, { param: 'model' });
    }
    throw err;
  }
}

function wrongKind(model: string, mv: EngineVersion, wanted: string): OpenAIError {
  const serves =
    mv.textGeneration !== undefined
      ? 'a text-generation model: use /v1/chat/completions or /v1/completions'
      : mv.embedding !== undefined
        ? 'an embedding model: use /v1/embeddings'
        : `a tensor model: use the KServe v2 endpoint POST /v2/models/${model}/infer`;
  return invalidField(
    'model',
    `The model '${model}' does not support ${wanted}; it is ${serves}.`,
    'model_not_supported',
  );
}

export function textGenerationEngine(repository: ModelSource, model: string, wanted: string): TextGenerationEngine {
  const mv = resolveVersion(repository, model);
  if (mv.textGeneration === undefined) throw wrongKind(model, mv, wanted);
  return mv.textGeneration;
}

export function embeddingEngine(repository: ModelSource, model: string): EmbeddingEngine {
  const mv = resolveVersion(repository, model);
  if (mv.embedding === undefined) throw wrongKind(model, mv, 'embeddings');
  return mv.embedding;
}

/** Either engine's tokenizer and context length (for /tokenize and /detokenize). */
export function tokenizingEngine(repository: ModelSource, model: string): TextGenerationEngine | EmbeddingEngine {
  const mv = resolveVersion(repository, model);
  const engine = mv.textGeneration ?? mv.embedding;
  if (engine === undefined) throw wrongKind(model, mv, 'tokenization');
  return engine;
}

/** Every serving model with an engine, for GET /v1/models. */
export function engineVersions(repository: ModelSource): EngineVersion[] {
  return repository
    .servingVersions()
    .filter((mv: EngineVersion) => mv.textGeneration !== undefined || mv.embedding !== undefined);
}

/** One model for GET /v1/models/{id}; tensor models and unknown names are 404. */
export function engineVersion(repository: ModelSource, model: string): EngineVersion {
  const mv = resolveVersion(repository, model);
  if (mv.textGeneration === undefined && mv.embedding === undefined) {
    throw new OpenAIError(
      'INF_ERR_MODEL_NOT_FOUND',
      `The model '${model}' is a tensor model, not served under /v1: use GET /v2/models/${model}.`,
      { param: 'model', apiCode: 'model_not_found' },
    );
  }
  return mv;
}
