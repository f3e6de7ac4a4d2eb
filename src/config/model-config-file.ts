// Reads a model's config file (YAML, JSON or Triton's config.pbtxt; Triton's fields given their
// verdicts by triton-fields.ts, then validated by the one schema) and its label files, reporting
// every problem as file / field / reason. The results are deeply frozen.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { deepFreeze } from './deep-freeze.js';
import { issuesFromZod, type ConfigIssue } from './config-issues.js';
import { modelConfigSchema, type ParsedModelConfig } from './model-config-schema.js';
import { parseModelConfigPbtxt } from './model-config-pbtxt.js';
import { applyTritonFields } from './triton-fields.js';
import type { ResolvedModelConfig } from './resolved-model-config.js';

/** Where a model's config lives: its folder and the config files found in it. */
export interface ModelConfigSource {
  readonly name: string;
  readonly dir: string;
  /** Config files present (more than one is an error). */
  readonly configFiles: readonly string[];
}

export type Loaded<T> =
  | {
      readonly ok: true;
      readonly value: T;
      /** Fields that are ignored (not implemented, and ignoring them changes no result). */
      readonly warnings?: readonly ConfigIssue[];
    }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export async function readModelConfig(folder: ModelConfigSource): Promise<Loaded<ParsedModelConfig>> {
  if (folder.configFiles.length > 1) {
    return {
      ok: false,
      issues: [
        {
          file: path.join(folder.dir, folder.configFiles[0] ?? ''),
          field: '',
          reason: `more than one config file (${folder.configFiles.join(', ')}); keep one`,
        },
      ],
    };
  }
  const fileName = folder.configFiles[0];
  let raw: unknown = {};
  const file = fileName === undefined ? path.join(folder.dir, 'config.yaml') : path.join(folder.dir, fileName);
  if (fileName !== undefined) {
    try {
      const text = await readFile(file, 'utf8');
      if (fileName.endsWith('.pbtxt')) raw = parseModelConfigPbtxt(text);
      else raw = fileName.endsWith('.json') ? JSON.parse(text) : (parseYaml(text) ?? {});
    } catch (err) {
      return {
        ok: false,
        issues: [{ file, field: '', reason: `cannot parse: ${err instanceof Error ? err.message : String(err)}` }],
      };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, issues: [{ file, field: '', reason: 'expected a mapping of configuration fields' }] };
  }
  const triton = applyTritonFields(raw as Record<string, unknown>, file);
  const result = modelConfigSchema.safeParse(triton.value);
  if (!result.success || triton.errors.length > 0) {
    return { ok: false, issues: [...triton.errors, ...(result.success ? [] : issuesFromZod(file, result.error))] };
  }
  if (result.data.name !== undefined && result.data.name !== folder.name) {
    return {
      ok: false,
      issues: [{ file, field: 'name', reason: `'${result.data.name}' differs from the folder name '${folder.name}'` }],
    };
  }
  return { ok: true, value: result.data, ...(triton.warnings.length > 0 ? { warnings: triton.warnings } : {}) };
}

/** Reads each output's labels file (one label per line), relative to the model folder. */
export async function readLabels(
  folder: ModelConfigSource,
  config: ResolvedModelConfig,
): Promise<Loaded<ReadonlyMap<string, readonly string[]>>> {
  const labels = new Map<string, readonly string[]>();
  const issues: ConfigIssue[] = [];
  for (const [i, o] of config.outputs.entries()) {
    if (o.labelFilename === undefined) continue;
    const file = path.resolve(folder.dir, o.labelFilename);
    if (!file.startsWith(path.resolve(folder.dir) + path.sep)) {
      issues.push({
        file: path.join(folder.dir, folder.configFiles[0] ?? ''),
        field: `output[${i}].label_filename`,
        reason: 'must name a file inside the model folder',
      });
      continue;
    }
    try {
      const text = await readFile(file, 'utf8');
      labels.set(
        o.name,
        deepFreeze(text.split(/\r?\n/).filter((l, idx, all) => !(idx === all.length - 1 && l === ''))),
      );
    } catch (err) {
      issues.push({
        file,
        field: `output[${i}].label_filename`,
        reason: `cannot read labels: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: labels };
}
