// Reading a reference sample: JSON lines, each an object mapping tensor names to one row's values
// (the batch dimension excluded), e.g. {"input": [5.1, 3.5, 1.4, 0.2]}. Every line is checked
// (JSON, an object, known names, numbers, the same sizes on every line) and a mistake is an error
// naming the file, the line and the reason. A file longer than the rows kept is sampled with a
// seeded reservoir, so the same file always gives the same profile.

import { InferdError } from '../errors/inferd-error.js';
import { seededRandom } from '../util/seeded-random.js';

/** A file over this size is refused rather than read (10,000 rows of 384 floats is about 25 MB). */
export const MAX_REFERENCE_FILE_BYTES = 256 * 1024 * 1024;

/** A tensor the reference may name: its row size when the config fixes it. */
export interface ExpectedTensor {
  readonly name: string;
  /** Elements per row; undefined when a dimension is dynamic (the file's first line then sets it). */
  readonly rowSize: number | undefined;
}

export interface ReferenceTensor {
  readonly name: string;
  readonly rowSize: number;
  /** True when every value in the file is an integer or a boolean. */
  readonly integral: boolean;
  /** `rows × rowSize` values, row-major. */
  readonly values: Float64Array;
}

export interface ReferenceSample {
  /** Rows kept (at most the limit given). */
  readonly rows: number;
  /** Rows the file holds. */
  readonly fileRows: number;
  /** The tensors the file names, in the order of its first line. */
  readonly tensors: readonly ReferenceTensor[];
}

function lineError(file: string, line: number, reason: string): InferdError {
  return new InferdError('INF_ERR_INVALID_CONFIG', `${file} line ${line}: ${reason}`);
}

/** Appends the numbers of a (nested) array to `out`; returns a reason when a value is not one. */
function flatten(value: unknown, out: number[], integral: { value: boolean }): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) integral.value = false;
    out.push(value);
    return undefined;
  }
  if (typeof value === 'boolean') {
    out.push(value ? 1 : 0);
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const reason = flatten(v, out, integral);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }
  return `${value === null ? 'null' : typeof value} is not a number or boolean`;
}

/**
 * Parses the JSON lines of a reference sample. `expected` lists the tensors the model has (every
 * name the file uses must be one of them); without it (the offline CLI) every name is taken, and
 * the first line fixes each one's size. Blank lines are skipped.
 */
export function parseReferenceLines(
  text: string,
  file: string,
  options: { readonly expected?: readonly ExpectedTensor[]; readonly maxRows: number; readonly seed?: number },
): ReferenceSample {
  const lines = text.split('\n');
  const random = seededRandom(options.seed ?? 1);
  let names: string[] | undefined;
  const sizes = new Map<string, number>();
  const integral = new Map<string, { value: boolean }>();
  const kept: Float64Array[][] = [];
  let fileRows = 0;
  for (let index = 0; index < lines.length; index++) {
    const raw = (lines[index] ?? '').trim();
    if (raw === '') continue;
    const lineNo = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw lineError(file, lineNo, `not valid JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw lineError(file, lineNo, 'expected an object mapping tensor names to one row of values');
    const record = parsed as Record<string, unknown>;
    const keys = Object.keys(record);
    if (names === undefined) {
      if (keys.length === 0) throw lineError(file, lineNo, 'names no tensor');
      for (const key of keys) {
        if (options.expected !== undefined && !options.expected.some((t) => t.name === key)) {
          const known = options.expected.map((t) => `'${t.name}'`).join(', ');
          throw lineError(file, lineNo, `'${key}' is not an input or output of the model (it has ${known})`);
        }
        integral.set(key, { value: true });
      }
      names = keys;
    } else {
      const missing = names.filter((n) => !(n in record));
      const extra = keys.filter((k) => !names?.includes(k));
      if (missing.length > 0 || extra.length > 0)
        throw lineError(
          file,
          lineNo,
          `names ${keys.map((k) => `'${k}'`).join(', ')} but the first line names ${names.map((n) => `'${n}'`).join(', ')}`,
        );
    }
    const row: Float64Array[] = [];
    for (const name of names) {
      const values: number[] = [];
      const reason = flatten(record[name], values, integral.get(name) ?? { value: false });
      if (reason !== undefined) throw lineError(file, lineNo, `'${name}': ${reason}`);
      const expectedSize = options.expected?.find((t) => t.name === name)?.rowSize ?? sizes.get(name);
      if (expectedSize !== undefined && values.length !== expectedSize)
        throw lineError(
          file,
          lineNo,
          `'${name}' has ${values.length} values, expected ${expectedSize} (one row, without the batch dimension)`,
        );
      if (values.length === 0) throw lineError(file, lineNo, `'${name}' has no values`);
      sizes.set(name, values.length);
      row.push(Float64Array.from(values));
    }
    fileRows++;
    // Reservoir sampling (Vitter's algorithm R): every row is kept with probability maxRows / fileRows.
    if (kept.length < options.maxRows) kept.push(row);
    else {
      const slot = Math.floor(random() * fileRows);
      if (slot < options.maxRows) kept[slot] = row;
    }
  }
  if (names === undefined || fileRows === 0) throw new InferdError('INF_ERR_INVALID_CONFIG', `${file}: has no rows`);
  const tensors = names.map((name, t) => {
    const rowSize = sizes.get(name) ?? 0;
    const values = new Float64Array(kept.length * rowSize);
    kept.forEach((row, r) => values.set(row[t] ?? new Float64Array(rowSize), r * rowSize));
    return { name, rowSize, integral: integral.get(name)?.value ?? false, values };
  });
  return { rows: kept.length, fileRows, tensors };
}
