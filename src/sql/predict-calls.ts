// Finds the predict(), predict_label() and predict_output() calls in a SQL text and rewrites each
// into a call of a function registered for that one model. DuckDB's scalar functions have one
// return type, fixed when they are registered, and their bind step cannot read constant
// arguments; so the model (and output) named by the leading string literals is resolved here,
// before DuckDB sees the query, and each call gets a function whose return type is that model's.
//
// The scanner knows just enough SQL to not be fooled: string literals ('...' with '' escapes,
// E'...' with backslash escapes, $$...$$ and $tag$...$tag$), quoted identifiers, line and
// (nested) block comments, and parentheses.

import { invalidArgument } from '../errors/index.js';

export type PredictKind = 'predict' | 'predict_label' | 'predict_output';

export const PREDICT_KINDS: readonly PredictKind[] = ['predict', 'predict_label', 'predict_output'];

/** One call found in the SQL text. */
export interface PredictCall {
  readonly kind: PredictKind;
  readonly model: string;
  /** predict_output's output name. */
  readonly output: string | undefined;
  /** Arguments after the model (and output) name. */
  readonly argCount: number;
  /** Offsets in the SQL text: the function name's start and the end of the last name literal (and its comma). */
  readonly start: number;
  readonly end: number;
}

interface Token {
  readonly kind: 'word' | 'string' | 'open' | 'close' | 'comma' | 'dot' | 'other';
  readonly start: number;
  readonly end: number;
  /** The unescaped value of a string literal. */
  readonly value?: string;
}

function isWordStart(c: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(c);
}

function isWordPart(c: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

/** Reads a '...' literal starting at the quote; backslash escapes only in E'...' strings. */
function readString(sql: string, quote: number, backslashEscapes: boolean): { end: number; value: string } {
  let value = '';
  let i = quote + 1;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    if (backslashEscapes && c === '\\' && i + 1 < sql.length) {
      value += sql[i + 1];
      i += 2;
      continue;
    }
    if (c === "'") {
      if (sql[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { end: i + 1, value };
    }
    value += c;
    i++;
  }
  throw invalidArgument(`unterminated string literal at offset ${quote} of the SQL text`);
}

/** Block comments nest in DuckDB (a comment opened inside one needs its own close). Returns the offset after it. */
function skipBlockComment(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** The opening delimiter of a dollar-quoted string: `$$` or `$tag$`. */
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

function dollarTagAt(sql: string, at: number): string | undefined {
  DOLLAR_TAG.lastIndex = at;
  return DOLLAR_TAG.exec(sql)?.[0];
}

/** Reads a `$tag$...$tag$` literal (no escapes inside) starting at its first `$`. */
function readDollarString(sql: string, start: number): { end: number; value: string } {
  const tag = dollarTagAt(sql, start) ?? '$$';
  const close = sql.indexOf(tag, start + tag.length);
  if (close < 0) throw invalidArgument(`unterminated dollar-quoted string at offset ${start} of the SQL text`);
  return { end: close + tag.length, value: sql.slice(start + tag.length, close) };
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === '$' && dollarTagAt(sql, i) !== undefined) {
      const s = readDollarString(sql, i);
      tokens.push({ kind: 'string', start: i, end: s.end, value: s.value });
      i = s.end;
    } else if (c === "'") {
      const s = readString(sql, i, false);
      tokens.push({ kind: 'string', start: i, end: s.end, value: s.value });
      i = s.end;
    } else if ((c === 'E' || c === 'e') && sql[i + 1] === "'") {
      const s = readString(sql, i + 1, true);
      tokens.push({ kind: 'string', start: i, end: s.end, value: s.value });
      i = s.end;
    } else if (c === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      tokens.push({ kind: 'other', start: i, end: j + 1 });
      i = j + 1;
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j] ?? '')) j++;
      tokens.push({ kind: 'word', start: i, end: j });
      i = j;
    } else {
      // Brackets and braces nest like parentheses: commas inside [1, 2] or {'a': 1} separate nothing.
      const kind = '([{'.includes(c)
        ? 'open'
        : ')]}'.includes(c)
          ? 'close'
          : c === ','
            ? 'comma'
            : c === '.'
              ? 'dot'
              : 'other';
      tokens.push({ kind, start: i, end: i + 1 });
      i++;
    }
  }
  return tokens;
}

/** Top-level arguments from the token after '(' up to the matching ')'. */
function countArguments(sql: string, tokens: readonly Token[], open: number, fn: string): number {
  let depth = 0;
  let args = 0;
  let sawToken = false;
  for (let i = open + 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined) break;
    if (t.kind === 'open') depth++;
    if (t.kind === 'close') {
      if (depth === 0) return sawToken ? args + 1 : 0;
      depth--;
    }
    if (t.kind === 'comma' && depth === 0) args++;
    else sawToken = true;
  }
  throw invalidArgument(`${fn}(: no closing parenthesis in the SQL text (offset ${tokens[open]?.start ?? sql.length})`);
}

/** Every predict-family call in the text, in order of appearance (nested calls included). */
export function findPredictCalls(sql: string): PredictCall[] {
  const tokens = tokenize(sql);
  const calls: PredictCall[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined || t.kind !== 'word') continue;
    const word = sql.slice(t.start, t.end).toLowerCase();
    const kind = PREDICT_KINDS.find((k) => k === word);
    const next = tokens[i + 1];
    if (kind === undefined || next === undefined || sql[next.start] !== '(' || tokens[i - 1]?.kind === 'dot') continue;
    const names = kind === 'predict_output' ? 2 : 1;
    const literals: string[] = [];
    let j = i + 2;
    for (let n = 0; n < names; n++, j += 2) {
      const lit = tokens[j];
      const what = n === 0 ? 'the model name' : 'the output name';
      if (lit?.kind !== 'string' || lit.value === undefined) {
        const example =
          kind === 'predict_output' ? "predict_output('mlp', 'logits', features)" : `${kind}('iris', ...)`;
        throw invalidArgument(`${kind}(): ${what} must be a string literal, e.g. ${example}`);
      }
      literals.push(lit.value);
      const after = tokens[j + 1]?.kind;
      if (after !== 'comma') {
        throw invalidArgument(
          `${kind}('${literals[0] ?? ''}'): give the model's inputs as arguments after ${n === 0 ? 'the model name' : 'the output name'}`,
        );
      }
    }
    const last = tokens[j - 1];
    const argsAfter = countArguments(sql, tokens, i + 1, kind) - names;
    if (last === undefined) continue;
    calls.push({
      kind,
      model: literals[0] ?? '',
      output: literals[1],
      argCount: argsAfter,
      start: t.start,
      end: last.end,
    });
  }
  return calls;
}

/** The SQL text with each call's `name('model', ` prefix replaced by `functionNames[i](`. */
export function rewritePredictCalls(
  sql: string,
  calls: readonly PredictCall[],
  functionNames: readonly string[],
): string {
  let out = '';
  let at = 0;
  calls.forEach((call, i) => {
    out += `${sql.slice(at, call.start)}${functionNames[i] ?? ''}(`;
    at = call.end;
  });
  return out + sql.slice(at);
}
