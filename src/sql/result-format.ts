// Writes query results as a table (for a terminal), CSV, a JSON array or JSON lines, row batches
// as they arrive. FLOAT values print as the shortest decimal that reads back to the same float32,
// as DuckDB prints them, rather than as the widened double (0.1, not 0.10000000149011612).

/** A result column: its name and DuckDB type. */
export interface SqlColumn {
  readonly name: string;
  readonly type: string;
}

export const RESULT_FORMATS = ['table', 'csv', 'json', 'jsonl'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export interface ResultWriter {
  columns(columns: SqlColumn[]): void;
  rows(rows: unknown[][]): void;
  end(): void;
}

/** Shortest decimal text that reads back as the same float32. */
export function float32Text(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  const fits = (digits: number): string | undefined => {
    const text = value.toPrecision(digits);
    return Math.fround(Number(text)) === value ? text : undefined;
  };
  // Fewer digits round-trip only if more do: start in the middle and walk one way.
  let best = fits(6);
  if (best === undefined) {
    for (let digits = 7; digits <= 9 && best === undefined; digits++) best = fits(digits);
  } else {
    for (let digits = 5; digits >= 1; digits--) {
      const shorter = fits(digits);
      if (shorter === undefined) break;
      best = shorter;
    }
  }
  return String(Number(best ?? value));
}

/** JSON-compatible value: float32 rounding, bigints as numbers when exact (else strings), dates as ISO text. */
function toJsonValue(value: unknown, float32: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return float32 ? Number(float32Text(value)) : value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, float32));
  if (typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v, float32)]));
  return value;
}

function isFloat32Column(column: SqlColumn): boolean {
  return /^FLOAT(\[\d*\])*$/.test(column.type);
}

/** Text of one cell for table and CSV output: lists as [a, b], NULL as the given text. */
function cellText(value: unknown, float32: boolean, nullText: string): string {
  if (value === null || value === undefined) return nullText;
  if (typeof value === 'number') return float32 ? float32Text(value) : String(value);
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((v) => cellText(v, float32, 'NULL')).join(', ')}]`;
  const json = toJsonValue(value, float32);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

class CsvWriter implements ResultWriter {
  private floats: boolean[] = [];
  constructor(private readonly out: (text: string) => void) {}
  columns(columns: SqlColumn[]): void {
    this.floats = columns.map(isFloat32Column);
    this.out(`${columns.map((c) => csvField(c.name)).join(',')}\n`);
  }
  rows(rows: unknown[][]): void {
    let text = '';
    for (const row of rows)
      text += `${row.map((v, i) => csvField(cellText(v, this.floats[i] ?? false, ''))).join(',')}\n`;
    this.out(text);
  }
  end(): void {}
}

class JsonWriter implements ResultWriter {
  private names: string[] = [];
  private floats: boolean[] = [];
  private count = 0;
  constructor(
    private readonly out: (text: string) => void,
    private readonly lines: boolean,
  ) {}
  columns(columns: SqlColumn[]): void {
    this.names = columns.map((c) => c.name);
    this.floats = columns.map(isFloat32Column);
    if (!this.lines) this.out('[');
  }
  rows(rows: unknown[][]): void {
    let text = '';
    for (const row of rows) {
      const obj = Object.fromEntries(this.names.map((n, i) => [n, toJsonValue(row[i], this.floats[i] ?? false)]));
      if (this.lines) text += `${JSON.stringify(obj)}\n`;
      else text += `${this.count === 0 ? '\n' : ',\n'}  ${JSON.stringify(obj)}`;
      this.count++;
    }
    this.out(text);
  }
  end(): void {
    if (!this.lines) this.out(this.count === 0 ? ']\n' : '\n]\n');
  }
}

/** A box table like DuckDB's shell prints; it shows the first maxRows rows and counts the rest. */
class TableWriter implements ResultWriter {
  private columnList: SqlColumn[] = [];
  private floats: boolean[] = [];
  private readonly shown: string[][] = [];
  private numeric: boolean[] = [];
  private total = 0;
  constructor(
    private readonly out: (text: string) => void,
    private readonly maxRows: number,
    private readonly maxWidth: number,
  ) {}
  columns(columns: SqlColumn[]): void {
    this.columnList = columns;
    this.floats = columns.map(isFloat32Column);
    this.numeric = columns.map(
      (c) =>
        /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL)/.test(c.type) && !c.type.includes('['),
    );
  }
  rows(rows: unknown[][]): void {
    for (const row of rows) {
      this.total++;
      if (this.shown.length >= this.maxRows) continue;
      this.shown.push(
        row.map((v, i) => {
          // One line per row: control characters are shown escaped.
          const text = cellText(v, this.floats[i] ?? false, 'NULL')
            .replaceAll('\n', '\\n')
            .replaceAll('\r', '\\r')
            .replaceAll('\t', '\\t');
          return text.length > this.maxWidth ? `${text.slice(0, this.maxWidth - 1)}…` : text;
        }),
      );
    }
  }
  end(): void {
    const heads = this.columnList.map((c) => c.name);
    const types = this.columnList.map((c) => c.type);
    const widths = heads.map((h, i) =>
      Math.max(h.length, (types[i] ?? '').length, ...this.shown.map((r) => (r[i] ?? '').length), 1),
    );
    const line = (l: string, m: string, r: string): string =>
      `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}\n`;
    const row = (cells: readonly string[], right: readonly boolean[]): string =>
      `│${cells.map((c, i) => ` ${right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)} `).join('│')}│\n`;
    let text = line('┌', '┬', '┐');
    text += row(heads, []);
    text += row(types, []);
    text += line('├', '┼', '┤');
    for (const r of this.shown) text += row(r, this.numeric);
    text += line('└', '┴', '┘');
    const hidden = this.total - this.shown.length;
    text += `${this.total} row${this.total === 1 ? '' : 's'}${hidden > 0 ? ` (${this.shown.length} shown; --max-rows or --format csv for all)` : ''}\n`;
    this.out(text);
  }
}

export function createResultWriter(
  format: ResultFormat,
  out: (text: string) => void,
  options: { maxRows?: number; maxWidth?: number } = {},
): ResultWriter {
  switch (format) {
    case 'csv':
      return new CsvWriter(out);
    case 'json':
      return new JsonWriter(out, false);
    case 'jsonl':
      return new JsonWriter(out, true);
    case 'table':
      return new TableWriter(out, options.maxRows ?? 40, options.maxWidth ?? 60);
  }
}
