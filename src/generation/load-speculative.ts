// Resolves a text-generation model's `speculative` settings into the engine's: the drafter (prompt
// lookup, or a draft decoder opened like the model's own, in its worker thread or inline) and the
// limits. A draft model must share the model's tokenizer: its ids are verified as the model's.

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SpeculativeConfig } from '../config/model-config-schema.js';
import { DecoderSession } from '../runtime/decoder-session.js';
import { InlineDecoder } from '../runtime/decoder-inline.js';
import type { SessionOptionsWire } from '../runtime/index.js';
import { DraftModelDrafter } from './draft-model-drafter.js';
import { PromptLookupDrafter } from './prompt-lookup.js';
import type { Drafter, SpeculativeOptions } from './speculative.js';

export interface SpeculativeLoad {
  readonly modelName: string;
  /** The model's version folder (its tokenizer.json is compared with the draft's). */
  readonly dir: string;
  readonly vocabSize: number;
  readonly session: SessionOptionsWire;
  readonly inline: boolean;
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/**
 * The draft decoder's file: `draft_model` relative to the model's folder (the version folder's
 * parent), or a model of that name beside it; a folder means its model.onnx, or that of its
 * highest numbered version folder.
 */
export async function resolveDraftModelFile(versionDir: string, draftModel: string): Promise<string> {
  const modelFolder = path.dirname(versionDir);
  let target = path.resolve(modelFolder, draftModel);
  if (!(await exists(target)) && !draftModel.includes('/')) target = path.resolve(modelFolder, '..', draftModel);
  if (!(await exists(target)))
    throw new Error(`speculative.draft_model '${draftModel}': no such file or folder (looked in ${modelFolder})`);
  if (!(await isDir(target))) return target;
  if (await exists(path.join(target, 'model.onnx'))) return path.join(target, 'model.onnx');
  const versions = (await readdir(target)).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const file = path.join(target, v, 'model.onnx');
    if (await exists(file)) return file;
  }
  throw new Error(
    `speculative.draft_model '${draftModel}': ${target} holds no model.onnx (nor a version folder with one)`,
  );
}

/** The tokenizer.json fields that decide token ids (the vocabulary, merges and special tokens). */
async function tokenizerIdentity(dir: string): Promise<string | undefined> {
  const text = await readFile(path.join(dir, 'tokenizer.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as { model?: unknown; added_tokens?: unknown };
  return JSON.stringify([parsed.model, parsed.added_tokens]);
}

export async function loadSpeculative(
  config: SpeculativeConfig | undefined,
  o: SpeculativeLoad,
): Promise<SpeculativeOptions | undefined> {
  if (config === undefined) return undefined;
  let drafter: Drafter;
  if (config.method === 'ngram') drafter = new PromptLookupDrafter(config.prompt_lookup_min, config.prompt_lookup_max);
  else {
    const file = await resolveDraftModelFile(o.dir, config.draft_model ?? '');
    const [mine, theirs] = await Promise.all([tokenizerIdentity(o.dir), tokenizerIdentity(path.dirname(file))]);
    if (mine !== undefined && theirs !== undefined && mine !== theirs)
      throw new Error(
        `speculative.draft_model ${file}: its tokenizer.json differs from the model's; a draft must share the tokenizer`,
      );
    const opened = o.inline
      ? await InlineDecoder.load(file, o.session)
      : await DecoderSession.load(`${o.modelName} (draft)`, file, o.session);
    if (opened.info.vocab !== undefined && opened.info.vocab !== o.vocabSize) {
      await opened.session.close();
      throw new Error(
        `speculative.draft_model ${file}: its logits have ${opened.info.vocab} entries, the model's ${o.vocabSize}; a draft must share the vocabulary`,
      );
    }
    drafter = new DraftModelDrafter(opened.session);
  }
  return {
    drafter,
    numSpeculativeTokens: config.num_speculative_tokens,
    disableByBatchSize: config.disable_by_batch_size ?? Infinity,
  };
}
