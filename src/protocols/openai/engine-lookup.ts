// Finds the engine an OpenAI request names: a text-generation engine for chat and completions, an
// embedding engine for embeddings. A model of another kind is a 400 that names the endpoint which
// serves it (model-kinds/serving-kinds.ts); an unknown model is OpenAI's 404 model_not_found.

import type { EmbeddingEngine, TextGenerationEngine } from '../../generation/engine-types.js';
import { InferdError, isInferdError } from '../../errors/index.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import type {
  EmbeddingModelVersion,
  ModelVersion,
  TextGenerationModelVersion,
} from '../../model-kinds/model-version.js';
import { requireKind, servesOpenAI } from '../../model-kinds/serving-kinds.js';

/** What the edge needs of the repository (tests pass a stand-in), and of experiments. */
export type ModelSource = Pick<ModelRepository, 'resolve' | 'servingVersions'> & {
  /**
   * An experiment's choice for a called name (experiments/), by the request's `user` when given:
   * the version and the variant's name; undefined when the name is no experiment.
   */
  readonly route?: (model: string, key: string | undefined) => RoutedVariant | undefined;
};

/** An experiment's choice: the version, the variant's name, and how the request's outcome is counted. */
export interface RoutedVariant {
  readonly mv: ModelVersion;
  readonly variant: string;
  /** Counts the request for the variant once it ends (`err` when it failed). */
  readonly settle: (err?: unknown) => void;
}

/** Where the route writes what an experiment chose, for the answer's header and the variant's counts. */
export interface Chosen {
  variant?: string;
  settle?: (err?: unknown) => void;
}

/** How a request is routed when its model is an experiment, and where the choice is written. */
export interface Routing {
  readonly key?: string | undefined;
  readonly chosen?: Chosen;
}

/** A model version the OpenAI-compatible edge serves. */
export type EngineVersion = TextGenerationModelVersion | EmbeddingModelVersion;

function resolveVersion(repository: ModelSource, model: string, routing?: Routing): ModelVersion {
  try {
    const routed = repository.route?.(model, routing?.key);
    if (routed !== undefined) {
      if (routing?.chosen !== undefined) {
        routing.chosen.variant = routed.variant;
        routing.chosen.settle = routed.settle;
      }
      return routed.mv;
    }
    return repository.resolve(model);
  } catch (err) {
    if (isInferdError(err) && (err.code === 'INF_ERR_MODEL_NOT_FOUND' || err.code === 'INF_ERR_INVALID_ARGUMENT')) {
      throw new InferdError('INF_ERR_MODEL_NOT_FOUND', `The model '${model}' does not exist.`, {
        param: 'model',
        apiCode: 'model_not_found',
      });
    }
    if (err instanceof InferdError) {
      throw new InferdError(err.code, err.message, {
        param: 'model',
        ...(err.headers === undefined ? {} : { headers: { ...err.headers } }),
      });
    }
    throw err;
  }
}

export function textGenerationEngine(
  repository: ModelSource,
  model: string,
  wanted: 'completions' | 'chat completions',
  routing?: Routing,
): TextGenerationEngine {
  return requireKind(resolveVersion(repository, model, routing), wanted).textGeneration;
}

/** A chat model: its engine and how it writes tool calls (config `text_generation.tool_call_parser`). */
export interface ChatModel {
  readonly engine: TextGenerationEngine;
  readonly toolCallParser: string;
}

export function chatModel(repository: ModelSource, model: string, routing?: Routing): ChatModel {
  const mv = requireKind(resolveVersion(repository, model, routing), 'chat completions');
  return { engine: mv.textGeneration, toolCallParser: mv.config.textGeneration?.tool_call_parser ?? 'hermes' };
}

export function embeddingEngine(repository: ModelSource, model: string, routing?: Routing): EmbeddingEngine {
  return requireKind(resolveVersion(repository, model, routing), 'embeddings').embedding;
}

/** Either engine's tokenizer and context length (for /tokenize and /detokenize). */
export function tokenizingEngine(repository: ModelSource, model: string): TextGenerationEngine | EmbeddingEngine {
  const mv = requireKind(resolveVersion(repository, model), 'tokenization');
  return mv.kind === 'text-generation' ? mv.textGeneration : mv.embedding;
}

/** Every serving model with an engine, for GET /v1/models. */
export function engineVersions(repository: ModelSource): EngineVersion[] {
  return repository.servingVersions().filter(servesOpenAI);
}

/** One model for GET /v1/models/{id}; tensor models and unknown names are 404. */
export function engineVersion(repository: ModelSource, model: string): EngineVersion {
  const mv = resolveVersion(repository, model);
  if (!servesOpenAI(mv)) {
    throw new InferdError(
      'INF_ERR_MODEL_NOT_FOUND',
      `The model '${model}' is a tensor model, not served under /v1: use GET /v2/models/${model}.`,
      { param: 'model', apiCode: 'model_not_found' },
    );
  }
  return mv;
}
