// Turns schema issues into "file: field: reason" lines, every issue listed at once.

import type { z } from 'zod';

export interface ConfigIssue {
  readonly file: string;
  /** Dotted path of the field, e.g. `input[0].dims[1]`; empty for the whole file. */
  readonly field: string;
  readonly reason: string;
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

export function issuesFromZod(file: string, error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => {
    let reason = issue.message;
    if (issue.code === 'unrecognized_keys') reason = `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    return { file, field: fieldPath(issue.path), reason };
  });
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.file}: ${i.field === '' ? '' : `${i.field}: `}${i.reason}`).join('; ');
}

/** A shape as issues print it: [2,3], with -1 for a dynamic dimension. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
