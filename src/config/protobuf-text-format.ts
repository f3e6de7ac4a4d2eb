// Protocol Buffers text format (the syntax of Triton's config.pbtxt), read and written against a
// message's descriptors, so every field name, enum value and type is checked as protoc checks it.
// Reading gives the message in its JSON form with the proto's own field names (what Triton's
// model_config JSON uses): enums by name, 64-bit integers as numbers, maps as objects.
// Grammar: https://protobuf.dev/reference/protobuf/textformat-spec/

import type protobuf from 'protobufjs';

/** A text-format error: where it is (1-based line and column) and why. */
export class TextFormatError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    reason: string,
  ) {
    super(`line ${line}:${column}: ${reason}`);
    this.name = 'TextFormatError';
  }
}

type TokenKind = 'ident' | 'number' | 'string' | 'punct' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** The decoded value of a string token (adjacent strings already joined). */
  readonly value: string;
  readonly line: number;
  readonly column: number;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (reason: string): never => {
    throw new TextFormatError(line, i - lineStart + 1, reason);
  };
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text.charAt(i) !== '\n') i++;
      continue;
    }
    const column = i - lineStart + 1;
    if (c === '"' || c === "'") {
      const value = readString(text, i, c, fail);
      const prev = tokens.at(-1);
      // Adjacent string literals are one value ("abc" "def" is "abcdef").
      if (prev !== undefined && prev.kind === 'string') {
        tokens[tokens.length - 1] = { ...prev, value: prev.value + value.value };
      } else tokens.push({ kind: 'string', text: text.slice(i, value.end), value: value.value, line, column });
      i = value.end;
      continue;
    }
    const word = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9.][0-9A-Za-z_.+-]*)/.exec(text.slice(i, i + 256));
    if (word !== null) {
      let w = word[0];
      // A number's exponent sign belongs to it; every other + or - ends the word.
      if (/^[0-9.]/.test(w)) w = /^[0-9.][0-9A-Za-z_.]*(?:(?<=[eE])[+-][0-9]+[fF]?)?/.exec(w)?.[0] ?? w;
      tokens.push({ kind: /^[0-9.]/.test(w) ? 'number' : 'ident', text: w, value: w, line, column });
      i += w.length;
      continue;
    }
    if ('{}<>[]:,;-'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, value: c, line, column });
      i++;
      continue;
    }
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'end', text: '', value: '', line, column: i - lineStart + 1 });
  return tokens;
}

function readString(
  text: string,
  start: number,
  quote: string,
  fail: (reason: string) => never,
): { value: string; end: number } {
  let i = start + 1;
  const bytes: number[] = [];
  const pushText = (s: string): void => {
    for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
  };
  while (true) {
    const c = text.charAt(i);
    if (c === '' || c === '\n') fail('unterminated string');
    if (c === quote) break;
    if (c !== '\\') {
      pushText(c);
      i++;
      continue;
    }
    const e = text.charAt(i + 1);
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      pushText(simple);
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(text.slice(i + 1)) ?? fail('bad octal escape');
      bytes.push(parseInt(m[0], 8) & 0xff);
      i += 1 + m[0].length;
    } else if (e === 'x' || e === 'X') {
      const m = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 2)) ?? fail('bad \\x escape');
      bytes.push(parseInt(m[0], 16));
      i += 2 + m[0].length;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const hex = text.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) fail(`bad \\${e} escape`);
      pushText(String.fromCodePoint(parseInt(hex, 16)));
      i += 2 + n;
    } else fail(`unknown escape \\${e}`);
  }
  return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
}

const INTEGER_TYPES = new Set([
  'int32',
  'uint32',
  'sint32',
  'fixed32',
  'sfixed32',
  'int64',
  'uint64',
  'sint64',
  'fixed64',
  'sfixed64',
]);
const UNSIGNED = new Set(['uint32', 'fixed32', 'uint64', 'fixed64']);
const BITS_32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

type JsonValue = string | number | boolean | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

class Parser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private get tok(): Token {
    return this.tokens[this.pos] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    const t = this.tok;
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  private fail(t: Token, reason: string): never {
    throw new TextFormatError(t.line, t.column, reason);
  }

  private isPunct(p: string): boolean {
    return this.tok.kind === 'punct' && this.tok.text === p;
  }

  private expect(p: string): void {
    if (!this.isPunct(p)) this.fail(this.tok, `expected '${p}', found ${describe(this.tok)}`);
    this.next();
  }

  /** Fields up to `close` ('' = the end of the text). */
  message(type: protobuf.Type, close: string): JsonObject {
    const out: JsonObject = {};
    const oneofSeen = new Map<string, string>();
    while (!(close === '' ? this.tok.kind === 'end' : this.isPunct(close))) {
      const nameTok = this.next();
      if (nameTok.kind !== 'ident') {
        if (nameTok.kind === 'end') this.fail(nameTok, `missing '${close}'`);
        if (nameTok.kind === 'punct' && nameTok.text === '[')
          this.fail(nameTok, 'extensions and Any fields are not supported');
        this.fail(nameTok, `expected a field name, found ${describe(nameTok)}`);
      }
      const field = type.fields[nameTok.text];
      if (field === undefined) this.fail(nameTok, `unknown field '${nameTok.text}' in ${type.name}`);
      field.resolve();
      const oneof = field.partOf?.name;
      if (oneof !== undefined) {
        const other = oneofSeen.get(oneof);
        if (other !== undefined && other !== field.name)
          this.fail(nameTok, `'${field.name}' and '${other}' are both given; ${type.name} takes one (${oneof})`);
        oneofSeen.set(oneof, field.name);
      }
      // A map entry is a message too, so its ':' is optional (`metric_tags { key: ... value: ... }`).
      const isMessage = field.map || (field.resolvedType !== null && 'fields' in field.resolvedType);
      if (this.isPunct(':')) this.next();
      else if (!isMessage || !(this.isPunct('{') || this.isPunct('<') || this.isPunct('[')))
        this.fail(this.tok, `expected ':' after '${field.name}'`);
      const values: JsonValue[] = [];
      if (this.isPunct('[')) {
        if (!field.repeated) this.fail(this.tok, `'${field.name}' is not repeated; a list is not allowed`);
        this.next();
        while (!this.isPunct(']')) {
          values.push(this.value(field));
          if (this.isPunct(',')) this.next();
          else if (!this.isPunct(']')) this.fail(this.tok, `expected ',' or ']', found ${describe(this.tok)}`);
        }
        this.next();
      } else values.push(this.value(field));
      if (this.isPunct(',') || this.isPunct(';')) this.next();
      if (field.map) {
        const map = (out[field.name] ??= {}) as { [key: string]: JsonValue };
        for (const entry of values) {
          const e = entry as JsonObject;
          map[mapKeyText(e['key'] ?? defaultMapKey(field))] = e['value'] ?? {};
        }
      } else if (field.repeated) {
        const list = (out[field.name] ??= []) as JsonValue[];
        list.push(...values);
      } else {
        if (out[field.name] !== undefined) this.fail(nameTok, `'${field.name}' is given more than once`);
        out[field.name] = values[0]!;
      }
    }
    if (close !== '') this.next();
    return out;
  }

  private value(field: protobuf.Field): JsonValue {
    const rt = field.resolvedType;
    if (field.map) return this.mapEntry(field);
    if (rt !== null && 'fields' in rt) {
      const open = this.tok;
      if (!this.isPunct('{') && !this.isPunct('<'))
        this.fail(open, `'${field.name}' is a message: expected '{', found ${describe(open)}`);
      this.next();
      return this.message(rt, open.text === '{' ? '}' : '>');
    }
    if (rt !== null) return this.enumValue(field, rt);
    return this.scalar(field.name, field.type);
  }

  /** A map entry is a message of `key` and `value`. */
  private mapEntry(field: protobuf.Field): JsonObject {
    const open = this.tok;
    if (!this.isPunct('{') && !this.isPunct('<'))
      this.fail(open, `'${field.name}' is a map: expected '{ key: ... value: ... }', found ${describe(open)}`);
    this.next();
    const close = open.text === '{' ? '}' : '>';
    const out: JsonObject = {};
    while (!this.isPunct(close)) {
      const nameTok = this.next();
      if (nameTok.kind !== 'ident' || (nameTok.text !== 'key' && nameTok.text !== 'value'))
        this.fail(nameTok, `a '${field.name}' entry has fields 'key' and 'value', found ${describe(nameTok)}`);
      if (out[nameTok.text] !== undefined) this.fail(nameTok, `'${nameTok.text}' is given more than once`);
      if (nameTok.text === 'key') {
        this.expect(':');
        out['key'] = this.scalar(`${field.name}.key`, mapKeyType(field));
      } else {
        const rt = field.resolvedType;
        if (this.isPunct(':')) this.next();
        else if (rt === null || !('fields' in rt)) this.fail(this.tok, "expected ':' after 'value'");
        if (rt !== null && 'fields' in rt) {
          const o = this.tok;
          if (!this.isPunct('{') && !this.isPunct('<')) this.fail(o, `expected '{', found ${describe(o)}`);
          this.next();
          out['value'] = this.message(rt, o.text === '{' ? '}' : '>');
        } else if (rt !== null) out['value'] = this.enumValue(field, rt);
        else out['value'] = this.scalar(`${field.name}.value`, field.type);
      }
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
    this.next();
    return out;
  }

  private enumValue(field: protobuf.Field, e: protobuf.Enum): string {
    const t = this.next();
    if (t.kind === 'ident') {
      if (e.values[t.text] === undefined)
        this.fail(
          t,
          `'${t.text}' is not a value of ${e.name} (${field.name}): use ${Object.keys(e.values).join(', ')}`,
        );
      return t.text;
    }
    const n = t.kind === 'number' ? Number(t.text) : NaN;
    const name = Number.isInteger(n) ? e.valuesById[n] : undefined;
    if (name === undefined) this.fail(t, `expected a ${e.name} value for '${field.name}', found ${describe(t)}`);
    return name;
  }

  private scalar(name: string, type: string): JsonValue {
    const first = this.next();
    if (type === 'string' || type === 'bytes') {
      if (first.kind !== 'string') this.fail(first, `'${name}' is a string: expected a quoted value`);
      return first.value;
    }
    if (type === 'bool') {
      const v = first.text;
      if (['true', 'True', 't', '1'].includes(v)) return true;
      if (['false', 'False', 'f', '0'].includes(v)) return false;
      this.fail(first, `'${name}' is a bool: expected true or false, found ${describe(first)}`);
    }
    let negative = false;
    let t = first;
    if (t.kind === 'punct' && t.text === '-') {
      negative = true;
      t = this.next();
    }
    if (INTEGER_TYPES.has(type)) {
      if (t.kind !== 'number') this.fail(t, `'${name}' is an integer: found ${describe(t)}`);
      let big: bigint;
      if (/^0[xX][0-9A-Fa-f]+$/.test(t.text) || /^(?:0|[1-9][0-9]*)$/.test(t.text)) big = BigInt(t.text);
      else if (/^0[0-7]+$/.test(t.text)) big = BigInt(`0o${t.text.slice(1)}`);
      else this.fail(t, `'${name}' is an integer: '${t.text}' is not one`);
      if (negative) big = -big;
      const bits = BITS_32.has(type) ? 32n : 64n;
      const min = UNSIGNED.has(type) ? 0n : -(1n << (bits - 1n));
      const max = UNSIGNED.has(type) ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
      if (big < min || big > max) this.fail(t, `'${name}' (${type}) is out of range: ${big}`);
      if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER))
        this.fail(t, `'${name}' is ${big}, beyond what a JSON number holds exactly`);
      return Number(big);
    }
    // float / double
    let v: number;
    if (t.kind === 'ident' && /^(?:inf|infinity)$/i.test(t.text)) v = Infinity;
    else if (t.kind === 'ident' && /^nan$/i.test(t.text)) v = NaN;
    else if (t.kind === 'number' && /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?$/.test(t.text))
      v = Number(t.text.replace(/[fF]$/, ''));
    else if (t.kind === 'number' && /^0[xX][0-9A-Fa-f]+$/.test(t.text)) v = Number(t.text);
    else this.fail(t, `'${name}' is a number: found ${describe(t)}`);
    return negative ? -v : v;
  }
}

/** A map field's key type (protobufjs types MapField apart from Field, though it is one). */
function mapKeyType(field: protobuf.Field): string {
  return (field as unknown as { readonly keyType?: string }).keyType ?? 'string';
}

function defaultMapKey(field: protobuf.Field): JsonValue {
  const keyType = mapKeyType(field);
  return keyType === 'string' ? '' : keyType === 'bool' ? false : 0;
}

function mapKeyText(key: JsonValue): string {
  return typeof key === 'object' ? JSON.stringify(key) : String(key);
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the text';
  return t.kind === 'string' ? `the string ${t.text}` : `'${t.text}'`;
}

/** Parses a whole text-format message of `type` into its JSON form. */
export function parseTextFormat(text: string, type: protobuf.Type): JsonObject {
  return new Parser(tokenize(text)).message(type, '');
}

/** Writes a JSON-form message as text format, two spaces per level; fields in the proto's order. */
export function writeTextFormat(value: JsonObject, type: protobuf.Type, indent = ''): string {
  let out = '';
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    if (v === undefined) continue;
    field.resolve();
    const rt = field.resolvedType;
    const isMessage = rt !== null && 'fields' in rt;
    if (field.map) {
      for (const [k, mv] of Object.entries(v as JsonObject)) {
        const key = mapKeyType(field) === 'string' ? JSON.stringify(k) : k;
        const val = isMessage
          ? `{\n${writeTextFormat(mv as JsonObject, rt, `${indent}    `)}${indent}  }`
          : scalarText(mv, rt !== null);
        out += `${indent}${field.name} {\n${indent}  key: ${key}\n${indent}  value${isMessage ? ' ' : ': '}${val}\n${indent}}\n`;
      }
      continue;
    }
    const items = field.repeated ? (v as JsonValue[]) : [v];
    if (field.repeated && !isMessage) {
      if (items.length > 0)
        out += `${indent}${field.name}: [${items.map((x) => scalarText(x, rt !== null)).join(', ')}]\n`;
      continue;
    }
    for (const item of items) {
      if (isMessage)
        out += `${indent}${field.name} {\n${writeTextFormat(item as JsonObject, rt, `${indent}  `)}${indent}}\n`;
      else out += `${indent}${field.name}: ${scalarText(item, rt !== null)}\n`;
    }
  }
  return out;
}

function scalarText(v: JsonValue, isEnum: boolean): string {
  if (typeof v === 'string') return isEnum ? v : JSON.stringify(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  return typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}
