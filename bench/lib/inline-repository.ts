// A temporary model repository holding each benchmarked model twice: as configured, and as
// `<model>_inline` with `optimization.inline_execution` set, so that one server serves both.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { isValidModelName } from '../../src/repository/model-name.js';
import { CONFIG_FILES, scanModelFolder } from '../../src/repository/repository-scanner.js';

export const INLINE_SUFFIX = '_inline';

/** The name the inline-execution copy of `model` is served under. */
export function inlineModelName(model: string): string {
  return `${model}${INLINE_SUFFIX}`;
}

export interface BenchRepository {
  readonly dir: string;
  /** Models whose own config already asks for inline execution (their worker paths run inline too). */
  readonly alreadyInline: readonly string[];
  remove(): Promise<void>;
}

/**
 * The config of the inline copy: the original text (YAML or JSON, none = empty) with
 * `optimization.inline_execution: true` added and any `name` changed to the copy's folder name.
 */
export function inlineConfigText(original: string, inlineName: string): { text: string; alreadyInline: boolean } {
  const doc = parseDocument(original);
  if (doc.errors.length > 0) throw new Error(`cannot parse the config: ${doc.errors.map((e) => e.message).join('; ')}`);
  const alreadyInline = doc.getIn(['optimization', 'inline_execution']) === true;
  if (doc.has('name')) doc.set('name', inlineName);
  doc.setIn(['optimization', 'inline_execution'], true);
  return { text: doc.toString(), alreadyInline };
}

/** Copies `models` from `repository` into a new folder under os.tmpdir(), each with its inline twin. */
export async function createBenchRepository(repository: string, models: readonly string[]): Promise<BenchRepository> {
  const inlineNames = new Map(models.map((m) => [m, inlineModelName(m)]));
  for (const name of inlineNames.values()) {
    if (inlineNames.has(name)) throw new Error(`'${name}' is both a benchmarked model and the inline copy of another`);
    if (!isValidModelName(name)) throw new Error(`'${name}' is not a valid model name`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const alreadyInline: string[] = [];
  try {
    for (const [model, inlineName] of inlineNames) {
      const folder = await scanModelFolder(repository, model);
      if (folder === undefined) throw new Error(`no model folder '${model}' in ${repository}`);
      if (folder.configFiles.length > 1) {
        throw new Error(`'${model}' has more than one config file (${folder.configFiles.join(', ')})`);
      }
      const configFile = folder.configFiles[0];
      const isConfig = (p: string): boolean =>
        path.dirname(p) === folder.dir && (CONFIG_FILES as readonly string[]).includes(path.basename(p));
      await cp(folder.dir, path.join(dir, model), { recursive: true });
      await cp(folder.dir, path.join(dir, inlineName), { recursive: true, filter: (p) => !isConfig(p) });
      const original = configFile === undefined ? '' : await readFile(path.join(folder.dir, configFile), 'utf8');
      const config = inlineConfigText(original, inlineName);
      if (config.alreadyInline) alreadyInline.push(model);
      await writeFile(path.join(dir, inlineName, 'config.yaml'), config.text);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { dir, alreadyInline, remove };
}
