// A temporary model repository holding each benchmarked model twice: as configured (by default
// `optimization.inline_execution: auto`), and as `<model>_worker` with `inline_execution: false`
// (worker threads, whatever the load-time timing says), so that one server serves both.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { isValidModelName } from '../../src/repository/model-name.js';
import { CONFIG_FILES, scanModelFolder } from '../../src/repository/repository-scanner.js';

export const WORKER_SUFFIX = '_worker';

/** The name the worker-thread copy of `model` is served under. */
export function workerModelName(model: string): string {
  return `${model}${WORKER_SUFFIX}`;
}

export interface BenchRepository {
  readonly dir: string;
  /** Models whose own config sets inline_execution (true or false), so their default path is not `auto`. */
  readonly pinned: readonly string[];
  remove(): Promise<void>;
}

/**
 * The config of the worker-thread copy: the original text (YAML or JSON, none = empty) with
 * `optimization.inline_execution: false` set and a `name` changed to the copy's folder name.
 */
export function workerConfigText(original: string, twinName: string): { text: string; pinned: boolean } {
  const doc = parseDocument(original);
  if (doc.errors.length > 0) throw new Error(`cannot parse the config: ${doc.errors.map((e) => e.message).join('; ')}`);
  const pinned = typeof doc.getIn(['optimization', 'inline_execution']) === 'boolean';
  if (doc.has('name')) doc.set('name', twinName);
  doc.setIn(['optimization', 'inline_execution'], false);
  return { text: doc.toString(), pinned };
}

/** Copies `models` from `repository` into a new folder under os.tmpdir(), each with its worker-thread twin. */
export async function createBenchRepository(repository: string, models: readonly string[]): Promise<BenchRepository> {
  const twinNames = new Map(models.map((m) => [m, workerModelName(m)]));
  for (const name of twinNames.values()) {
    if (twinNames.has(name))
      throw new Error(`'${name}' is both a benchmarked model and the worker-thread copy of another`);
    if (!isValidModelName(name)) throw new Error(`'${name}' is not a valid model name`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const pinned: string[] = [];
  try {
    for (const [model, twinName] of twinNames) {
      const folder = await scanModelFolder(repository, model);
      if (folder === undefined) throw new Error(`no model folder '${model}' in ${repository}`);
      if (folder.configFiles.length > 1) {
        throw new Error(`'${model}' has more than one config file (${folder.configFiles.join(', ')})`);
      }
      const configFile = folder.configFiles[0];
      const isConfig = (p: string): boolean =>
        path.dirname(p) === folder.dir && (CONFIG_FILES as readonly string[]).includes(path.basename(p));
      await cp(folder.dir, path.join(dir, model), { recursive: true });
      await cp(folder.dir, path.join(dir, twinName), { recursive: true, filter: (p) => !isConfig(p) });
      const original = configFile === undefined ? '' : await readFile(path.join(folder.dir, configFile), 'utf8');
      const config = workerConfigText(original, twinName);
      if (config.pinned) pinned.push(model);
      await writeFile(path.join(dir, twinName, 'config.yaml'), config.text);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { dir, pinned, remove };
}
