// Renders an offending value for an error message: short, JSON-like, never the whole payload.

const MAX_CHARS = 40;

export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'undefined';
    case 'string': {
      const text = JSON.stringify(value);
      return text.length <= MAX_CHARS ? text : `${text.slice(0, MAX_CHARS - 4)}..."`;
    }
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return `an array of ${value.length}`;
      return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  }
}
