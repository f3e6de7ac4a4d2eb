// Checks of an OutputConstraint that need no grammar engine: input that would make xgrammar abort
// (which costs a runtime restart) or that it would read past without enforcing is refused here,
// as a 400 naming the reason.

import { invalidArgument } from '../errors/index.js';
import type { OutputConstraint } from './engine-types.js';

type Json = Record<string, unknown>;

/**
 * Keywords xgrammar 0.1.27 reads past without enforcing (it would only log them in verbose mode):
 * output could break them, so a schema using one is refused.
 */
const UNENFORCED_KEYWORDS = [
  'not',
  'if',
  'then',
  'else',
  'dependentRequired',
  'dependentSchemas',
  'multipleOf',
  'uniqueItems',
  'contains',
  'minContains',
  'maxContains',
];
/** Where a schema holds further schemas: by name, in a list, or one. */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'];
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SCHEMA_ONE = ['items', 'additionalProperties', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems'];

/** The first keyword xgrammar would leave unenforced, with where it is (`properties.age.multipleOf`). */
export function unenforcedKeyword(schema: unknown, at = ''): string | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const s = schema as Json;
  const where = (key: string): string => (at === '' ? key : `${at}.${key}`);
  for (const keyword of UNENFORCED_KEYWORDS) {
    if (!(keyword in s) || (keyword === 'uniqueItems' && s[keyword] === false)) continue;
    return where(keyword);
  }
  for (const key of SCHEMA_MAPS) {
    const map = s[key];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) continue;
    for (const [name, sub] of Object.entries(map as Json)) {
      const found = unenforcedKeyword(sub, where(`${key}.${name}`));
      if (found !== undefined) return found;
    }
  }
  for (const key of SCHEMA_LISTS) {
    const list = s[key];
    if (!Array.isArray(list)) continue;
    for (const [i, sub] of list.entries()) {
      const found = unenforcedKeyword(sub, `${where(key)}[${i}]`);
      if (found !== undefined) return found;
    }
  }
  for (const key of SCHEMA_ONE) {
    const found = unenforcedKeyword(s[key], where(key));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The JSON schemas of a structural tag's `json_schema` formats. */
function tagSchemas(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(tagSchemas);
  if (value === null || typeof value !== 'object') return [];
  const node = value as Json;
  if (node['type'] === 'json_schema') return [node['json_schema']];
  return Object.values(node).flatMap(tagSchemas);
}

/** Refusals that need no compile (and cost no WebAssembly abort). */
export function checkBeforeCompiling(c: OutputConstraint): void {
  if (c.kind === 'json' && c.schema !== undefined) {
    const keyword = unenforcedKeyword(c.schema);
    if (keyword !== undefined)
      throw invalidArgument(
        `the JSON schema uses '${keyword.split('.').pop() ?? keyword}' (at ${keyword}), which the grammar engine cannot enforce`,
      );
  } else if (c.kind === 'structural_tag') {
    const keyword = tagSchemas(c.tag)
      .map((schema) => unenforcedKeyword(schema))
      .find((k) => k !== undefined);
    if (keyword !== undefined)
      throw invalidArgument(
        `a JSON schema in the structural tag uses '${keyword.split('.').pop() ?? keyword}' (at ${keyword}), which the grammar engine cannot enforce`,
      );
  } else if (c.kind === 'regex') {
    try {
      new RegExp(c.pattern, 'u');
    } catch (err) {
      throw invalidArgument(`the regular expression is not valid: ${(err as Error).message}`);
    }
  } else if (c.kind === 'choice') {
    if (c.choices.length === 0) throw invalidArgument('the choices are empty: give at least one string');
    if (c.choices.some((s) => s === '')) throw invalidArgument('the choices include an empty string');
  } else if (c.kind === 'grammar' && c.grammar.trim() === '') {
    throw invalidArgument('the grammar is empty: give EBNF rules with a root rule');
  }
}
