// sentence-transformers' own description of an embedding export, so a model folder copied from a
// Hugging Face repository embeds as sentence-transformers would without an `embedding` section in
// config.yaml: modules.json lists the pipeline (Transformer, Pooling, perhaps Normalize);
// the Pooling module's config.json says CLS (`pooling_mode_cls_token`), mean
// (`pooling_mode_mean_tokens`) or last-token (`pooling_mode_lasttoken`) pooling; and
// sentence_bert_config.json's `max_seq_length` bounds the input.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EmbeddingConfig } from '../config/model-config-schema.js';
import { InferdError } from '../errors/index.js';

type Json = Record<string, unknown>;

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InferdError('INF_ERR_MODEL_LOAD', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InferdError('INF_ERR_MODEL_LOAD', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The pooling sentence-transformers would apply to the export in `folder`, over `defaults` for what
 * its files leave out; undefined when the folder has no modules.json (not a sentence-transformers
 * export). A pooling mode inferd does not compute (max, weighted mean, several at once) fails the
 * load naming the file and the mode, rather than serving vectors that differ from the reference.
 */
export async function readSentenceTransformersPooling(
  folder: string,
  defaults: EmbeddingConfig,
): Promise<EmbeddingConfig | undefined> {
  const modulesFile = path.join(folder, 'modules.json');
  const modules = await readJsonFile(modulesFile);
  if (modules === undefined) return undefined;
  if (!Array.isArray(modules) || !modules.every(isObject))
    throw new InferdError('INF_ERR_MODEL_LOAD', `${modulesFile} must be a list of module objects`);
  const typeOf = (m: Json) => (typeof m['type'] === 'string' ? m['type'] : '');
  const normalize = modules.some((m) => typeOf(m).endsWith('.Normalize'));
  let pooling: EmbeddingConfig['pooling'] = defaults.pooling;
  const poolingModule = modules.find((m) => typeOf(m).endsWith('.Pooling'));
  if (poolingModule !== undefined) {
    const dir = typeof poolingModule['path'] === 'string' ? poolingModule['path'] : '1_Pooling';
    const poolingFile = path.join(folder, dir, 'config.json');
    const settings = await readJsonFile(poolingFile);
    if (!isObject(settings)) throw new InferdError('INF_ERR_MODEL_LOAD', `${poolingFile} must be a JSON object`);
    const modes = Object.entries(settings)
      .filter(([key, on]) => key.startsWith('pooling_mode_') && on === true)
      .map(([key]) => key);
    const known: Readonly<Record<string, EmbeddingConfig['pooling']>> = {
      pooling_mode_cls_token: 'cls',
      pooling_mode_mean_tokens: 'mean',
      pooling_mode_lasttoken: 'last',
    };
    const mode = modes[0];
    const chosen = mode === undefined ? undefined : known[mode];
    if (modes.length !== 1 || chosen === undefined)
      throw new InferdError(
        'INF_ERR_MODEL_LOAD',
        `${poolingFile} asks for ${modes.length === 0 ? 'no pooling mode' : modes.join(' + ')}; inferd pools with exactly one of ${Object.keys(known).join(', ')} (or set embedding.pooling in config.yaml)`,
      );
    pooling = chosen;
  }
  const bertConfig = await readJsonFile(path.join(folder, 'sentence_bert_config.json'));
  const maxSeq = isObject(bertConfig) ? bertConfig['max_seq_length'] : undefined;
  const maxTokens = typeof maxSeq === 'number' && Number.isInteger(maxSeq) && maxSeq > 0 ? maxSeq : defaults.max_tokens;
  return { pooling, normalize, max_tokens: maxTokens };
}
