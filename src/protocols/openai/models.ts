// GET /v1/models and /v1/models/{id}: the models served under /v1 (text generation, embedding and
// rerank models; tensor models are served under /v2), as OpenAI's `list` of `model` objects with vLLM's
// `max_model_len`.

import { engineOf, engineVersion, engineVersions, type EngineVersion, type ModelSource } from './engine-lookup.js';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'inferd';
  root: string;
  parent: null;
  max_model_len: number;
}

function modelObject(mv: EngineVersion, created: number): ModelObject {
  const engine = engineOf(mv);
  return {
    id: mv.name,
    object: 'model',
    created,
    owned_by: 'inferd',
    root: mv.name,
    parent: null,
    max_model_len: engine?.contextLength ?? 0,
  };
}

export function listModels(repository: ModelSource, created: number): { object: 'list'; data: ModelObject[] } {
  // servingVersions lists every version; /v1 serves a model's highest one.
  const latest = new Map<string, EngineVersion>();
  for (const mv of engineVersions(repository)) {
    const seen = latest.get(mv.name);
    if (seen === undefined || mv.version > seen.version) latest.set(mv.name, mv);
  }
  return { object: 'list', data: [...latest.values()].map((mv) => modelObject(mv, created)) };
}

export function retrieveModel(repository: ModelSource, id: string, created: number): ModelObject {
  return modelObject(engineVersion(repository, id), created);
}
