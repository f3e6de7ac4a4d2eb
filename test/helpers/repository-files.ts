// Test fixtures: temporary model repositories written from files, and the example models' folder.
// Light on purpose: importing it loads no server.

import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExampleFile } from '../../tools/examples/example-models.js';

export const EXAMPLES_DIR = path.resolve(import.meta.dirname, '../../examples/models');

/** Writes the files into a fresh temporary repository and returns its path. */
export async function makeRepository(files: readonly ExampleFile[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-repo-'));
  await writeFiles(dir, files);
  return dir;
}

export async function writeFiles(dir: string, files: readonly ExampleFile[]): Promise<void> {
  for (const f of files) {
    const full = path.join(dir, f.path);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, f.bytes);
  }
}

export async function removeRepository(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The example `simple` model under another name, its config extended with `extraConfig` (YAML lines). */
export async function simpleVariant(name: string, extraConfig = ''): Promise<ExampleFile[]> {
  const onnx = await readFile(path.join(EXAMPLES_DIR, 'simple/1/model.onnx'));
  const config = await readFile(path.join(EXAMPLES_DIR, 'simple/config.yaml'), 'utf8');
  return [
    { path: `${name}/1/model.onnx`, bytes: onnx },
    { path: `${name}/config.yaml`, bytes: `${config}${extraConfig}` },
  ];
}
