// Grammar-constrained decoding: an OutputConstraint compiled by xgrammar (WebAssembly, behind
// xgrammar-runtime.ts) against one model's vocabulary, and a matcher per sequence whose token
// bitmask says which tokens may come next. One ConstraintCompiler per engine: one TokenizerInfo
// built from tokenizer.json, one GrammarCompiler, and a bounded cache of compiled constraints
// keyed by the constraint (the library's own cache is off: it never evicts).
//
// A constraint is parsed without a vocabulary first, on a runtime of its own (see parseAlone), so
// the input that makes xgrammar abort never reaches an engine's runtime.
//
// JSON is compiled without free whitespace (one line, `", "` and `": "` as separators): a model
// may not spend its tokens on blanks, and a small one cannot loop on them.

import { InferdError } from '../errors/index.js';
import { checkBeforeCompiling } from './constraint-checks.js';
import type { OutputConstraint } from './engine-types.js';
import type { GrammarVocabulary } from './grammar-vocabulary.js';
import {
  XgrammarError,
  XgrammarRuntime,
  type CompiledGrammar,
  type Grammar,
  type XgrammarLibrary,
  type GrammarCompiler,
  type GrammarMatcher,
  type TokenizerInfo,
} from './xgrammar-runtime.js';

type Json = Record<string, unknown>;

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

/** A compiled constraint and the runtime it lives in (its matchers must be made there). */
interface Compiled {
  readonly runtime: XgrammarRuntime;
  readonly grammar: CompiledGrammar;
}

export class ConstraintCompiler {
  private backend: Promise<Backend> | undefined;
  /** In insertion order = least recently used first. */
  private readonly cache = new Map<string, Promise<Compiled>>();
  private readonly cacheSize: number;
  private compiling: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ConstraintCompilerOptions) {
    this.cacheSize = options.cacheSize ?? 64;
  }

  /**
   * A matcher at the start of the constraint's grammar. Compiles it first unless cached; a
   * constraint the grammar engine refuses is a 400 naming the reason.
   */
  async matcher(constraint: OutputConstraint): Promise<ConstraintMatcher> {
    const { runtime, grammar } = await this.compile(constraint);
    // Not through call(): making a matcher cannot fail on input, and a runtime that aborted on a
    // later constraint still serves the grammars it compiled before.
    return new XgrammarMatcher(await runtime.lib.GrammarMatcher.createGrammarMatcher(grammar));
  }

  /** Compiles (or finds in the cache) a constraint; throws the 400 for one that cannot compile. */
  async prepare(constraint: OutputConstraint): Promise<void> {
    await this.compile(constraint);
  }

  private compile(constraint: OutputConstraint): Promise<Compiled> {
    try {
      checkBeforeCompiling(constraint);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const key = constraintKey(constraint);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const entry: Promise<Compiled> = this.compileFresh(constraint).catch((err: unknown) => {
      if (this.cache.get(key) === entry) this.cache.delete(key);
      throw refusal(constraint, err);
    });
    this.cache.set(key, entry);
    while (this.cache.size > this.cacheSize) {
      const [oldest, old] = this.cache.entries().next().value as [string, Promise<Compiled>];
      this.cache.delete(oldest);
      // A matcher keeps its own reference to the compiled grammar: disposing the handle is safe.
      old.then((c) => c.grammar.dispose()).catch(() => undefined);
    }
    return entry;
  }

  /**
   * Compiles run one at a time (the work is synchronous in WebAssembly anyway), so each finds the
   * backend as the one before left it: restarted if that one aborted.
   */
  private compileFresh(constraint: OutputConstraint): Promise<Compiled> {
    const run = this.compiling.then(async () => {
      const parsed = await parseAlone(constraint);
      const { runtime, compiler } = await this.getBackend();
      return { runtime, grammar: await runtime.call(() => compileWith(compiler, parsed)) };
    });
    this.compiling = run.catch(() => undefined);
    return run;
  }

  private async getBackend(): Promise<Backend> {
    const current = this.backend === undefined ? undefined : await this.backend.catch(() => undefined);
    if (current !== undefined && !current.runtime.broken) return current;
    // First use, or the last runtime aborted: a fresh instance, and a cache of its own.
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
    for (const entry of this.cache.values()) entry.then((c) => c.grammar.dispose()).catch(() => undefined);
    this.cache.clear();
    backend?.compiler.dispose();
    backend?.info.dispose();
  }
}

const JSON_SEPARATORS: [string, string] = [', ', ': '];
/** json without a schema: an object, as OpenAI's json_object asks (extra properties allowed). */
const SCHEMALESS_JSON = '{"type": "object"}';

/**
 * The process's runtime for parsing constraints without a vocabulary. Input that makes xgrammar
 * abort is met here first, so it costs a restart of this runtime alone, not of an engine's, whose
 * TokenizerInfo takes longer to build the larger the vocabulary.
 */
let scratch: Promise<XgrammarRuntime> | undefined;

/** Parses run one at a time, so each finds the runtime as the one before left it. */
let parsing: Promise<unknown> = Promise.resolve();

/**
 * Parses a constraint alone, and returns it as the engine's runtime should compile it: a
 * structural tag's JSON schemas become EBNF without free whitespace, as top-level JSON is (xgrammar
 * would otherwise allow unbounded whitespace inside a tag's JSON).
 */
function parseAlone(c: OutputConstraint): Promise<OutputConstraint> {
  const run = parsing.then(async () => {
    let runtime = scratch === undefined ? undefined : await scratch.catch(() => undefined);
    if (runtime === undefined || runtime.broken) {
      scratch = XgrammarRuntime.start();
      runtime = await scratch;
    }
    const { lib } = runtime;
    const parsed: OutputConstraint =
      c.kind === 'structural_tag' ? { kind: 'structural_tag', tag: await tagSchemasAsEbnf(runtime, c.tag) } : c;
    (await runtime.call(() => grammarOf(lib, parsed))).dispose();
    return parsed;
  });
  parsing = run.catch(() => undefined);
  return run;
}

/** A copy of a structural tag whose `{"type": "json_schema"}` formats are `{"type": "grammar"}` ones. */
async function tagSchemasAsEbnf(runtime: XgrammarRuntime, tag: Readonly<Json>): Promise<Json> {
  const rewrite = async (value: unknown): Promise<unknown> => {
    if (Array.isArray(value)) return Promise.all(value.map(rewrite));
    if (value === null || typeof value !== 'object') return value;
    const node = value as Json;
    const schema = node['json_schema'];
    if (node['type'] === 'json_schema' && schema !== null && typeof schema === 'object' && !Array.isArray(schema)) {
      const grammar = await runtime.call(() =>
        runtime.lib.Grammar.fromJSONSchema(JSON.stringify(schema), false, -1, JSON_SEPARATORS, true),
      );
      const ebnf = grammar.toString();
      grammar.dispose();
      return { type: 'grammar', grammar: ebnf };
    }
    const out: Json = {};
    for (const [key, v] of Object.entries(node)) out[key] = await rewrite(v);
    return out;
  };
  return (await rewrite(tag)) as Json;
}

/** The constraint's grammar alone, without a vocabulary. */
function grammarOf(lib: XgrammarLibrary, c: OutputConstraint): Promise<Grammar> {
  switch (c.kind) {
    case 'json':
      return c.schema === undefined
        ? lib.Grammar.fromJSONSchema(SCHEMALESS_JSON, false, -1, JSON_SEPARATORS, false)
        : lib.Grammar.fromJSONSchema(JSON.stringify(c.schema), false, -1, JSON_SEPARATORS, true);
    case 'regex':
      return lib.Grammar.fromStructuralTag(regexTag(c.pattern));
    case 'choice':
      return lib.Grammar.fromEBNF(choiceGrammar(c.choices), 'root');
    case 'grammar':
      return lib.Grammar.fromEBNF(c.grammar, 'root');
    case 'structural_tag':
      return lib.Grammar.fromStructuralTag(JSON.stringify(c.tag));
  }
}

/** A whole-text regex as xgrammar takes it: a structural tag of one regex format. */
function regexTag(pattern: string): string {
  return JSON.stringify({ type: 'structural_tag', format: { type: 'regex', pattern } });
}

function compileWith(compiler: GrammarCompiler, c: OutputConstraint): Promise<CompiledGrammar> {
  switch (c.kind) {
    case 'json':
      return c.schema === undefined
        ? compiler.compileJSONSchema(SCHEMALESS_JSON, false, -1, JSON_SEPARATORS, false)
        : compiler.compileJSONSchema(JSON.stringify(c.schema), false, -1, JSON_SEPARATORS, true);
    case 'regex':
      return compiler.compileStructuralTag(regexTag(c.pattern));
    case 'choice':
      return compiler.compileGrammar(choiceGrammar(c.choices), 'root');
    case 'grammar':
      return compiler.compileGrammar(c.grammar, 'root');
    case 'structural_tag':
      return compiler.compileStructuralTag(JSON.stringify(c.tag));
  }
}

const WHAT: Record<OutputConstraint['kind'], string> = {
  json: 'the JSON schema',
  regex: 'the regular expression',
  choice: 'the choices',
  grammar: 'the grammar',
  structural_tag: 'the structural tag',
};

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
