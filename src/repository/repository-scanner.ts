// Reads a model repository in Triton's layout: <repo>/<model>/<version>/model.onnx (or the
// config's default_model_filename), with an optional <repo>/<model>/config.yaml (or .yml, .json,
// or Triton's config.pbtxt) and label files beside it.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isValidModelName, parseVersion } from './model-name.js';

export const MODEL_FILE = 'model.onnx';
export const CONFIG_FILES = ['config.yaml', 'config.yml', 'config.json', 'config.pbtxt'] as const;
/** A folder holding one of these is an experiment (experiments/), not a model. */
export const EXPERIMENT_FILES = ['experiment.yaml', 'experiment.yml', 'experiment.json'] as const;

export interface ModelFolder {
  readonly name: string;
  readonly dir: string;
  /** Version folders that contain the model file. */
  readonly versions: readonly number[];
  /** Config files present (more than one is an error the loader reports). */
  readonly configFiles: readonly string[];
  /** Changes whenever a config, label or model file changes: drives reloads in poll mode. */
  readonly fingerprint: string;
}

/** Names of the model folders in the repository (invalid names are listed so they can be reported). */
export async function listModelNames(repository: string): Promise<string[]> {
  return (await listRepositoryFolders(repository)).models;
}

/** The repository's folders in one pass: model folders, and experiment folders with their files. */
export async function listRepositoryFolders(
  repository: string,
): Promise<{ models: string[]; experiments: Map<string, string> }> {
  const models: string[] = [];
  const experiments = new Map<string, string>();
  for (const name of await listFolders(repository)) {
    const file = await experimentFileIn(path.join(repository, name));
    if (file === undefined) models.push(name);
    else experiments.set(name, file);
  }
  return { models, experiments };
}

/** The experiment file a folder holds (the first of EXPERIMENT_FILES present), if one. */
async function experimentFileIn(dir: string): Promise<string | undefined> {
  for (const f of EXPERIMENT_FILES) {
    try {
      if ((await stat(path.join(dir, f))).isFile()) return path.join(dir, f);
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** Folders (and links to folders) at the repository root, hidden ones left out, sorted. */
async function listFolders(repository: string): Promise<string[]> {
  const entries = await readdir(repository, { withFileTypes: true });
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) names.push(e.name);
    else if (e.isSymbolicLink()) {
      // A linked model folder counts when its target is a folder.
      try {
        if ((await stat(path.join(repository, e.name))).isDirectory()) names.push(e.name);
      } catch {
        // A dangling link is not a model.
      }
    }
  }
  return names.sort();
}

/** ONNX files lying at the repository root, where no model is looked for (their names, sorted). */
export async function listLooseModelFiles(repository: string): Promise<string[]> {
  const entries = await readdir(repository, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.onnx'))
    .map((e) => e.name)
    .sort();
}

/** `modelFile`: the file a version folder must hold to count (the config's default_model_filename). */
export async function scanModelFolder(
  repository: string,
  name: string,
  modelFile: string = MODEL_FILE,
): Promise<ModelFolder | undefined> {
  if (!isValidModelName(name)) return undefined;
  const dir = path.join(repository, name);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const versions: number[] = [];
  const configFiles: string[] = [];
  const parts: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    // stat follows symlinks (ConfigMap mounts, linked version folders); a file that vanished
    // between the listing and here (an editor's atomic save) is simply skipped.
    let info;
    try {
      info = await stat(full);
    } catch {
      continue;
    }
    if (info.isDirectory()) {
      const v = parseVersion(e.name);
      if (v === undefined) continue;
      // Every file of the folder is in the fingerprint, so a change of model file name is seen too.
      const files = await versionFiles(full);
      const model = files.get(modelFile);
      // A version folder without the model file is not a version (yet).
      if (model !== undefined) versions.push(v);
      for (const [f, s] of files) parts.push(`${v}/${f}:${s}`);
    } else if (info.isFile()) {
      if ((CONFIG_FILES as readonly string[]).includes(e.name)) configFiles.push(e.name);
      parts.push(`${e.name}:${info.size}:${info.mtimeMs}`);
    }
  }
  versions.sort((a, b) => a - b);
  parts.sort();
  return { name, dir, versions, configFiles: configFiles.sort(), fingerprint: parts.join('|') };
}

/** The regular files of a version folder (one level): name → size and mtime. */
async function versionFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const f of names) {
    try {
      const s = await stat(path.join(dir, f));
      if (s.isFile()) out.set(f, `${s.size}:${s.mtimeMs}`);
    } catch {
      // Vanished between the listing and here.
    }
  }
  return out;
}
