// Grammar-constrained decoding: an OutputConstraint compiled by xgrammar (WebAssembly, behind
// xgrammar-runtime.ts) against one model's vocabulary, and a matcher per sequence whose token
// bitmask says which tokens may come next. One ConstraintCompiler per engine: one TokenizerInfo
// built from tokenizer.json, one GrammarCompiler, and a bounded cache of compiled constraints
// keyed by the constraint (the library's own cache is off: it never evicts).
//
// JSON is compiled without free whitespace (one line, `", "` and `": "` as separators): a model
// may not spend its tokens on blanks, and a small one cannot loop on them.

import { InferdError, invalidArgument } from '../errors/index.js';
import type { OutputConstraint } from './engine-types.js';
import {
  XgrammarError,
  XgrammarRuntime,
  type CompiledGrammar,
  type GrammarCompiler,
  type GrammarMatcher,
  type TokenizerInfo,
  type XgrammarLibrary,
} from './xgrammar-runtime.js';

type Json = Record<string, unknown>;

/** How tokenizer.json's token strings map to bytes, in xgrammar's terms. */
export type VocabType = 'byte_level' | 'byte_fallback' | 'raw';

/** The vocabulary xgrammar matches text against: token strings by id, as tokenizer.json spells them. */
export interface GrammarVocabulary {
  /** Indexed by token id; special tokens are '' (never part of constrained text). */
  readonly tokens: readonly string[];
  readonly vocabType: VocabType;
  /** SentencePiece's leading-space convention (Metaspace with a prepended ▁). */
  readonly prependSpace: boolean;
}

/** Reads the vocabulary and its byte convention from a Hugging Face tokenizer.json. */
export function grammarVocabulary(tokenizerJson: Readonly<Json>): GrammarVocabulary {
  const tokens: string[] = [];
  const model = (tokenizerJson['model'] ?? {}) as Json;
  const vocab = model['vocab'];
  if (Array.isArray(vocab)) {
    // Unigram: [token, score] pairs in id order.
    vocab.forEach((entry, id) => {
      tokens[id] = Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : '';
    });
  } else if (vocab !== null && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab as Record<string, unknown>))
      if (typeof id === 'number') tokens[id] = token;
  }
  const added = tokenizerJson['added_tokens'];
  if (Array.isArray(added)) {
    for (const t of added as Json[]) {
      const id = t['id'];
      if (typeof id !== 'number') continue;
      tokens[id] = t['special'] === true ? '' : typeof t['content'] === 'string' ? t['content'] : '';
    }
  }
  for (let i = 0; i < tokens.length; i++) if (tokens[i] === undefined) tokens[i] = '';
  const decoders = componentTypes(tokenizerJson['decoder']);
  const vocabType: VocabType = decoders.some((d) => d['type'] === 'ByteLevel')
    ? 'byte_level'
    : model['byte_fallback'] === true || decoders.some((d) => d['type'] === 'ByteFallback')
      ? 'byte_fallback'
      : 'raw';
  const prependSpace = decoders.some(
    (d) =>
      d['type'] === 'Metaspace' &&
      (d['add_prefix_space'] === true || d['prepend_scheme'] === 'always' || d['prepend_scheme'] === 'first'),
  );
  return { tokens, vocabType, prependSpace };
}

/** A decoder and, for a Sequence, its members. */
function componentTypes(decoder: unknown): Json[] {
  if (decoder === null || typeof decoder !== 'object') return [];
  const d = decoder as Json;
  const members = d['decoders'];
  return Array.isArray(members) ? [d, ...(members as unknown[]).flatMap(componentTypes)] : [d];
}

/** The cache key of a constraint: its kind and its content. */
export function constraintKey(constraint: OutputConstraint): string {
  switch (constraint.kind) {
    case 'json':
      return `json\u0000${constraint.schema === undefined ? '' : JSON.stringify(constraint.schema)}`;
    case 'regex':
      return `regex\u0000${constraint.pattern}`;
    case 'choice':
      return `choice\u0000${JSON.stringify(constraint.choices)}`;
    case 'grammar':
      return `grammar\u0000${constraint.grammar}`;
    case 'structural_tag':
      return `structural_tag\u0000${JSON.stringify(constraint.tag)}`;
  }
}

/** An EBNF grammar accepting exactly one of the strings (literals written as JSON strings, which xgrammar's EBNF reads). */
export function choiceGrammar(choices: readonly string[]): string {
  return `root ::= ${choices.map((c) => JSON.stringify(c)).join(' | ')}`;
}

/** One sequence's position in its grammar. */
export interface ConstraintMatcher {
  /** Tokens allowed next: bit i of word i >> 5 set = token i allowed. */
  mask(): Promise<Int32Array>;
  /** Advances past a token; false when the grammar refuses it (the state is then unchanged). */
  accept(tokenId: number): boolean;
  /** True once a stop token was accepted at the grammar's end. */
  isTerminated(): boolean;
  dispose(): void;
}

class XgrammarMatcher implements ConstraintMatcher {
  private disposed = false;

  constructor(private readonly inner: GrammarMatcher) {}

  mask(): Promise<Int32Array> {
    return this.inner.getNextTokenBitmask();
  }

  accept(tokenId: number): boolean {
    return this.inner.acceptToken(tokenId);
  }

  isTerminated(): boolean {
    return this.inner.isTerminated();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inner.dispose();
  }
}

export interface ConstraintCompilerOptions {
  readonly vocabulary: GrammarVocabulary;
  /** Rows of the model's logits (may exceed the tokenizer's vocabulary: padded heads). */
  readonly vocabSize: number;
  /** The model's EOS ids: the grammar allows them once it is complete. */
  readonly stopTokenIds: readonly number[];
  /** Compiled constraints kept; the least recently used goes first. */
  readonly cacheSize?: number;
}

interface Backend {
  readonly runtime: XgrammarRuntime;
  readonly info: TokenizerInfo;
  readonly compiler: GrammarCompiler;
}

interface CacheEntry {
  readonly runtime: XgrammarRuntime;
  readonly compiled: Promise<CompiledGrammar>;
}

export class ConstraintCompiler {
  private backend: Promise<Backend> | undefined;
  /** In insertion order = least recently used first. */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheSize: number;

  constructor(private readonly options: ConstraintCompilerOptions) {
    this.cacheSize = options.cacheSize ?? 64;
  }

  /**
   * A matcher at the start of the constraint's grammar. Compiles it first unless cached; a
   * constraint the grammar engine refuses is a 400 naming the reason.
   */
  async matcher(constraint: OutputConstraint): Promise<ConstraintMatcher> {
    const entry = await this.compile(constraint);
    const compiled = await entry.compiled;
    // Not through call(): making a matcher cannot fail on input, and a runtime that aborted on a
    // later constraint still serves the grammars it compiled before.
    return new XgrammarMatcher(await entry.runtime.lib.GrammarMatcher.createGrammarMatcher(compiled));
  }

  /** Compiles (or finds in the cache) a constraint; throws the 400 for one that cannot compile. */
  async prepare(constraint: OutputConstraint): Promise<void> {
    await (
      await this.compile(constraint)
    ).compiled;
  }

  private async compile(constraint: OutputConstraint): Promise<CacheEntry> {
    checkBeforeCompiling(constraint);
    const key = constraintKey(constraint);
    const hit = this.cache.get(key);
    if (hit !== undefined && !hit.runtime.broken) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const backend = await this.getBackend();
    const compiled = backend.runtime
      .call(() => compileWith(backend.runtime.lib, backend.compiler, constraint))
      .catch((err: unknown) => {
        if (this.cache.get(key)?.compiled === compiled) this.cache.delete(key);
        throw refusal(constraint, err);
      });
    const entry: CacheEntry = { runtime: backend.runtime, compiled };
    this.cache.set(key, entry);
    while (this.cache.size > this.cacheSize) {
      const [oldest, old] = this.cache.entries().next().value as [string, CacheEntry];
      this.cache.delete(oldest);
      // A matcher keeps its own reference to the compiled grammar: disposing the handle is safe.
      old.compiled.then((g) => g.dispose()).catch(() => undefined);
    }
    return entry;
  }

  private async getBackend(): Promise<Backend> {
    const current = this.backend === undefined ? undefined : await this.backend.catch(() => undefined);
    if (current !== undefined && !current.runtime.broken) return current;
    // First use, or the last runtime aborted on bad input: a fresh instance, a fresh cache.
    this.cache.clear();
    const started = this.startBackend();
    this.backend = started;
    return started;
  }

  private async startBackend(): Promise<Backend> {
    const runtime = await XgrammarRuntime.start();
    const { tokens, vocabType, prependSpace } = this.options.vocabulary;
    const vocabSize = Math.max(this.options.vocabSize, tokens.length);
    const stops = [...this.options.stopTokenIds];
    const info = await runtime.call(() =>
      runtime.lib.TokenizerInfo.createTokenizerInfo([...tokens], vocabType, prependSpace, vocabSize, stops),
    );
    const compiler = await runtime.call(() => runtime.lib.GrammarCompiler.createGrammarCompiler(info, false));
    return { runtime, info, compiler };
  }

  /** Frees the compiled grammars and the compiler (matchers in use stay valid until disposed). */
  async close(): Promise<void> {
    const backend = await this.backend?.catch(() => undefined);
    this.backend = undefined;
    for (const entry of this.cache.values()) entry.compiled.then((g) => g.dispose()).catch(() => undefined);
    this.cache.clear();
    backend?.compiler.dispose();
    backend?.info.dispose();
  }
}

const JSON_SEPARATORS: [string, string] = [', ', ': '];
/** json without a schema: an object, as OpenAI's json_object asks (extra properties allowed). */
const SCHEMALESS_JSON = '{"type": "object"}';

/**
 * A structural tag whose JSON-schema contents are grammars without free whitespace. xgrammar
 * compiles a structural tag's `json_schema` allowing whitespace between tokens, and a small model
 * then writes newlines forever inside a tool call's arguments; the same schema as EBNF with fixed
 * separators (as `json` constraints are compiled) leaves it only the values to choose.
 */
async function tightStructuralTag(lib: XgrammarLibrary, value: unknown): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => tightStructuralTag(lib, v)));
  if (typeof value !== 'object' || value === null) return value;
  const node = value as Record<string, unknown>;
  if (node['type'] === 'json_schema' && 'json_schema' in node) {
    const grammar = await lib.Grammar.fromJSONSchema(
      JSON.stringify(node['json_schema']),
      false,
      -1,
      JSON_SEPARATORS,
      true,
    );
    try {
      return { type: 'grammar', grammar: grammar.toString() };
    } finally {
      grammar.dispose();
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(node)) out[key] = await tightStructuralTag(lib, v);
  return out;
}

async function compileWith(
  lib: XgrammarLibrary,
  compiler: GrammarCompiler,
  c: OutputConstraint,
): Promise<CompiledGrammar> {
  switch (c.kind) {
    case 'json':
      return c.schema === undefined
        ? compiler.compileJSONSchema(SCHEMALESS_JSON, false, -1, JSON_SEPARATORS, false)
        : compiler.compileJSONSchema(JSON.stringify(c.schema), false, -1, JSON_SEPARATORS, true);
    case 'regex':
      return compiler.compileStructuralTag(
        JSON.stringify({ type: 'structural_tag', format: { type: 'regex', pattern: c.pattern } }),
      );
    case 'choice':
      return compiler.compileGrammar(choiceGrammar(c.choices), 'root');
    case 'grammar':
      return compiler.compileGrammar(c.grammar, 'root');
    case 'structural_tag':
      return compiler.compileStructuralTag(JSON.stringify(await tightStructuralTag(lib, c.tag)));
  }
}

const WHAT: Record<OutputConstraint['kind'], string> = {
  json: 'the JSON schema',
  regex: 'the regular expression',
  choice: 'the choices',
  grammar: 'the grammar',
  structural_tag: 'the structural tag',
};

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

/** Refusals that need no compile (and cost no WebAssembly abort). */
function checkBeforeCompiling(c: OutputConstraint): void {
  if (c.kind === 'json' && c.schema !== undefined) {
    const keyword = unenforcedKeyword(c.schema);
    if (keyword !== undefined)
      throw invalidArgument(
        `the JSON schema uses '${keyword.split('.').pop() ?? keyword}' (at ${keyword}), which the grammar engine cannot enforce`,
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

function refusal(c: OutputConstraint, err: unknown): InferdError {
  if (err instanceof InferdError) return err;
  if (err instanceof XgrammarError)
    return new InferdError('INF_ERR_INVALID_ARGUMENT', `${WHAT[c.kind]} cannot be compiled: ${err.message}`, {
      cause: err,
    });
  return new InferdError('INF_ERR_RUNTIME', `compiling ${WHAT[c.kind]} failed: ${(err as Error).message}`, {
    cause: err,
  });
}
