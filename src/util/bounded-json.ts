// Client-supplied JSON, bounded: a nesting limit checked before parsing, and a preview of a
// client value for an error message that cannot fail (a value nested 100,000 deep made
// JSON.stringify overflow the stack) and never grows past a few dozen characters.

/** Deepest nesting of arrays and objects accepted in a request body. */
export const MAX_JSON_DEPTH = 64;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether the JSON text in `bytes[start, end)` nests arrays and objects deeper than `limit`.
 * Cheap for the usual body: fewer brackets than the limit in all (counted with native searches)
 * settles it without a scan.
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit = MAX_JSON_DEPTH, start = 0, end = bytes.length): boolean {
  return depthExceeds(
    (code, from) => bytes.indexOf(code, from),
    (i) => bytes[i] ?? 0,
    limit,
    start,
    end,
  );
}

/** The same check on a string (a body already decoded), read in place: no copy of the text. */
export function jsonTextDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  return depthExceeds(
    (code, from) => text.indexOf(String.fromCharCode(code), from),
    (i) => text.charCodeAt(i),
    limit,
    0,
    text.length,
  );
}

/** Brackets, quotes and backslashes are ASCII: bytes of UTF-8 and UTF-16 code units alike. */
function depthExceeds(
  indexOf: (code: number, from: number) => number,
  codeAt: (i: number) => number,
  limit: number,
  start: number,
  end: number,
): boolean {
  let brackets = 0;
  for (const open of [OPEN_ARRAY, OPEN_OBJECT]) {
    let at = indexOf(open, start);
    while (at !== -1 && at < end && brackets <= limit) {
      brackets++;
      at = indexOf(open, at + 1);
    }
  }
  if (brackets <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = codeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

/** Levels of a value shown before the rest is elided. */
const PREVIEW_DEPTH = 4;

/**
 * A JSON-like rendering of a client's value for an error message, at most `maxChars` long
 * (longer ones end in "..."), at most four levels deep; never throws.
 */
export function previewValue(value: unknown, maxChars = 80): string {
  const out: string[] = [];
  let length = 0;
  const push = (s: string): boolean => {
    out.push(s);
    length += s.length;
    return length <= maxChars;
  };
  const render = (v: unknown, depth: number): boolean => {
    switch (typeof v) {
      case 'string':
        return push(JSON.stringify(v.length > maxChars ? v.slice(0, maxChars) : v));
      case 'number':
        return push(Object.is(v, -0) ? '-0' : String(v));
      case 'bigint':
      case 'boolean':
        return push(String(v));
      case 'undefined':
        return push('undefined');
      case 'object': {
        if (v === null) return push('null');
        if (depth >= PREVIEW_DEPTH) return push(Array.isArray(v) ? '[...]' : '{...}');
        if (Array.isArray(v)) {
          if (!push('[')) return false;
          for (let i = 0; i < v.length; i++) {
            if (i > 0 && !push(',')) return false;
            if (!render(v[i], depth + 1)) return false;
          }
          return push(']');
        }
        if (!push('{')) return false;
        let first = true;
        for (const key of Object.keys(v)) {
          if (!first && !push(',')) return false;
          first = false;
          if (!push(`${JSON.stringify(key.length > maxChars ? key.slice(0, maxChars) : key)}:`)) return false;
          if (!render((v as Record<string, unknown>)[key], depth + 1)) return false;
        }
        return push('}');
      }
      default:
        return push(`a ${typeof v}`);
    }
  };
  if (render(value, 0)) return out.join('');
  return `${out.join('').slice(0, Math.max(0, maxChars - 3))}...`;
}
