// Which columns feed which model inputs, which column identifies a row, and which outputs are
// kept in what form. By default a column named like a model input feeds it; a mapping file (YAML
// or JSON) or --map says otherwise, e.g. several scalar columns into one tensor.

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ResolvedModelConfig, ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { invalidArgument } from '../errors/index.js';
import type { Datatype } from '../tensor/datatype.js';
import type { SourceColumn } from './table-source.js';

export type OutputMode =
  | { readonly kind: 'raw' }
  | { readonly kind: 'argmax' }
  | { readonly kind: 'label' }
  | { readonly kind: 'topk'; readonly k: number };

export interface OutputSpec {
  readonly output: string;
  readonly mode: OutputMode;
  /** Column name in the output table. */
  readonly column: string;
}

export interface InputPlan {
  readonly input: string;
  readonly datatype: Datatype;
  /** Per-row dims (no batch dimension). */
  readonly dims: readonly number[];
  /** Elements per row. */
  readonly width: number;
  /** One list column, or `width` scalar columns in order. */
  readonly kind: 'list' | 'scalars';
  readonly columns: readonly string[];
  /** Nesting depth of a list column (1 for FLOAT[], 2 for FLOAT[][]). */
  readonly listDepth: number;
}

export interface MappingPlan {
  readonly inputs: readonly InputPlan[];
  readonly idColumn: string | undefined;
  readonly outputs: readonly OutputSpec[];
}

/** What a mapping file or the command line asks for, before it is checked against the model. */
export interface MappingRequest {
  readonly id?: string;
  readonly inputs?: Readonly<Record<string, string | readonly string[]>>;
  readonly outputs?: readonly (string | { output: string; mode?: string; column?: string })[];
}

const mappingFileSchema = z.strictObject({
  id: z.string().min(1).optional(),
  inputs: z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).optional(),
  outputs: z
    .array(
      z.union([
        z.string().min(1),
        z.strictObject({
          output: z.string().min(1),
          mode: z.string().optional(),
          column: z.string().min(1).optional(),
        }),
      ]),
    )
    .optional(),
});

/** Reads a mapping file (YAML or JSON; JSON is YAML). */
export async function readMappingFile(file: string): Promise<MappingRequest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw invalidArgument(`--mapping ${file}: cannot read the file`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw invalidArgument(`--mapping ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = mappingFileSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidArgument(
      `--mapping ${file}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'} (expected keys id, inputs, outputs)`,
    );
  }
  return parsed.data;
}

/** Parses an output mode: raw, argmax, label or topk:N. */
export function parseOutputMode(text: string): OutputMode {
  if (text === 'raw' || text === 'argmax' || text === 'label') return { kind: text };
  const m = /^topk:(\d+)$/.exec(text);
  const k = m === null ? NaN : Number(m[1]);
  if (Number.isInteger(k) && k >= 1 && k <= 1000) return { kind: 'topk', k };
  throw invalidArgument(`unknown output mode '${text}': use raw, argmax, label or topk:N (N from 1 to 1000)`);
}

/** `NAME` or `NAME:MODE` (e.g. probabilities:topk:3). */
export function parseKeepSpec(spec: string): { output: string; mode?: string } {
  const i = spec.indexOf(':');
  return i < 0 ? { output: spec } : { output: spec.slice(0, i), mode: spec.slice(i + 1) };
}

function defaultColumnName(output: string, mode: OutputMode): string {
  return mode.kind === 'raw' ? output : mode.kind === 'topk' ? `${output}_top${mode.k}` : `${output}_${mode.kind}`;
}

function listDepth(type: string): number {
  let depth = 0;
  let t = type.trim();
  for (let m = /\[\d*\]$/.exec(t); m !== null; m = /\[\d*\]$/.exec(t)) {
    depth++;
    t = t.slice(0, m.index).trim();
  }
  return depth;
}

function elementCount(tensor: ResolvedTensorConfig): number {
  return tensor.dims.reduce((n, d) => n * d, 1);
}

/** Checks a mapping request against the model and the input's columns and resolves it. */
export function resolveMapping(
  config: ResolvedModelConfig,
  labels: ReadonlyMap<string, readonly string[]>,
  columns: readonly SourceColumn[],
  request: MappingRequest,
): MappingPlan {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const have = (): string => columns.map((c) => c.name).join(', ');
  const column = (name: string, what: string): SourceColumn => {
    const c = byName.get(name);
    if (c === undefined) throw invalidArgument(`${what}: the input has no column '${name}'; it has ${have()}`);
    return c;
  };
  for (const name of Object.keys(request.inputs ?? {}))
    if (!config.inputs.some((i) => i.name === name))
      throw invalidArgument(
        `the mapping names input '${name}', but model '${config.name}' has inputs ${config.inputs.map((i) => `'${i.name}'`).join(', ')}`,
      );

  const inputs = config.inputs.map((tensor): InputPlan => {
    if (tensor.dims.some((d) => d < 0))
      throw invalidArgument(
        `model input '${tensor.name}' has dynamic dims [${tensor.dims.join(',')}]: batch run needs fixed dims; give them in the model's config`,
      );
    const width = elementCount(tensor);
    const base = { input: tensor.name, datatype: tensor.datatype, dims: tensor.dims, width };
    const mapped = request.inputs?.[tensor.name];
    const names = mapped === undefined ? [tensor.name] : typeof mapped === 'string' ? [mapped] : [...mapped];
    if (mapped === undefined && !byName.has(tensor.name))
      throw invalidArgument(
        `model input '${tensor.name}' (${tensor.datatype} [${tensor.dims.join(',')}]) has no column of that name; the input has ${have()}. Map columns to it with --map ${tensor.name}=COL[,COL...] or a --mapping file`,
      );
    const what = `input '${tensor.name}'`;
    if (names.length === 1) {
      const c = column(names[0] ?? '', what);
      const depth = listDepth(c.type);
      // A text column (CSV) may hold a list literal such as [1, 2, 3].
      const isList = depth > 0 || width > 1;
      if (depth === 0 && width > 1 && c.type !== 'VARCHAR' && c.type !== 'JSON')
        throw invalidArgument(
          `${what} takes ${width} values per row (${tensor.datatype} [${tensor.dims.join(',')}]), but column '${c.name}' holds single ${c.type} values; map a list column or ${width} columns to it`,
        );
      return { ...base, kind: isList ? 'list' : 'scalars', columns: names, listDepth: Math.max(1, depth) };
    }
    for (const n of names) {
      const c = column(n, what);
      if (listDepth(c.type) > 0)
        throw invalidArgument(
          `${what}: column '${n}' holds lists (${c.type}); several columns must each hold one value`,
        );
    }
    if (names.length !== width)
      throw invalidArgument(
        `${what} takes ${width} values per row (${tensor.datatype} [${tensor.dims.join(',')}]), but the mapping gives ${names.length} columns`,
      );
    return { ...base, kind: 'scalars', columns: names, listDepth: 0 };
  });

  const idColumn = request.id;
  if (idColumn !== undefined) {
    column(idColumn, '--id-column');
    if (idColumn === 'row') throw invalidArgument(`--id-column: 'row' is the output's row-number column; rename it`);
  }

  const wanted = request.outputs ?? config.outputs.map((o) => o.name);
  const outputs = wanted.map((item): OutputSpec => {
    const spec = typeof item === 'string' ? parseKeepSpec(item) : item;
    const tensor = config.outputs.find((o) => o.name === spec.output);
    if (tensor === undefined)
      throw invalidArgument(
        `model '${config.name}' has no output '${spec.output}'; it has ${config.outputs.map((o) => `'${o.name}'`).join(', ')}`,
      );
    const mode = parseOutputMode(spec.mode ?? 'raw');
    if (mode.kind !== 'raw' && tensor.datatype === 'BYTES')
      throw invalidArgument(`output '${spec.output}' is BYTES: only raw applies`);
    if (mode.kind === 'label' && !labels.has(tensor.name))
      throw invalidArgument(
        `output '${spec.output}' has no labels file (label_filename in the model's config): use argmax or topk:N instead of label`,
      );
    const name = (typeof item === 'string' ? undefined : item.column) ?? defaultColumnName(spec.output, mode);
    return { output: spec.output, mode, column: name };
  });
  const seen = new Set<string>(['row', ...(idColumn === undefined ? [] : [idColumn])]);
  for (const o of outputs) {
    if (seen.has(o.column)) throw invalidArgument(`two output columns are named '${o.column}'; name them apart`);
    seen.add(o.column);
  }
  if (outputs.length === 0) throw invalidArgument('no outputs to keep');
  return { inputs, idColumn, outputs };
}
