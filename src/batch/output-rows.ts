// Turns a batch's output tensors into output rows (JSON lines) in the kept forms: raw tensor as a
// (nested) list, argmax index, label, or the top k as {index, score, label}; and the SQL type of
// every output column, so the assembled Parquet or CSV keeps the model's types.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../tensor/half.js';
import type { Tensor, TensorContent } from '../tensor/tensor.js';
import type { MappingPlan, OutputSpec } from './column-mapping.js';
import { quoteLiteral, SQL_ELEMENT_TYPE } from './duckdb-types.js';
import type { RowError, RowId } from './row-reader.js';
import type { SourceColumn } from './table-source.js';

const decoder = new TextDecoder();

/** JSON text for a number; NaN and infinities as the strings DuckDB casts back to FLOAT/DOUBLE. */
function num(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

/**
 * JSON text for a value that is exactly a float32 (FP32, FP16, BF16 outputs): nine significant
 * digits always read back to the same float32, and toPrecision is several times faster than the
 * shortest double representation, which dominated the cost of writing raw outputs.
 */
function float32Text(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(9) : num(v);
}

export function jsonValue(v: RowId | undefined): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return num(v);
  return JSON.stringify(v);
}

function elementText(t: TensorContent, i: number): string {
  switch (t.datatype) {
    case 'FP16':
      return float32Text(float16BitsToFloat32(t.data[i] ?? 0));
    case 'BF16':
      return float32Text(bfloat16BitsToFloat32(t.data[i] ?? 0));
    case 'FP32':
      return float32Text(t.data[i] ?? 0);
    case 'BOOL':
      return t.data[i] ? 'true' : 'false';
    case 'BYTES':
      return JSON.stringify(decoder.decode(t.data[i] ?? new Uint8Array()));
    case 'INT64':
    case 'UINT64':
      return String(t.data[i] ?? 0n);
    default:
      return num(t.data[i] ?? 0);
  }
}

function numberAt(t: TensorContent, i: number): number {
  switch (t.datatype) {
    case 'FP16':
      return float16BitsToFloat32(t.data[i] ?? 0);
    case 'BF16':
      return bfloat16BitsToFloat32(t.data[i] ?? 0);
    case 'INT64':
    case 'UINT64':
      return Number(t.data[i] ?? 0n);
    default:
      return Number(t.data[i] ?? 0);
  }
}

function nestedList(t: TensorContent, at: number, dims: readonly number[], depth: number): string {
  if (depth === dims.length) return elementText(t, at);
  const d = dims[depth] ?? 0;
  let stride = 1;
  for (let j = depth + 1; j < dims.length; j++) stride *= dims[j] ?? 1;
  const parts = new Array<string>(d);
  for (let j = 0; j < d; j++) parts[j] = nestedList(t, at + j * stride, dims, depth + 1);
  return `[${parts.join(',')}]`;
}

/** Indices of the k highest values, highest first; NaN last; ties to the lower index. */
export function topIndices(values: Float64Array, k: number): number[] {
  const order = Array.from(values.keys());
  order.sort((a, b) => {
    const va = values[a] as number;
    const vb = values[b] as number;
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return vb - va || a - b;
  });
  return order.slice(0, k);
}

export class OutputFormatter {
  private readonly idColumn: string | undefined;
  private readonly rowKey = JSON.stringify('row');

  constructor(
    private readonly plan: MappingPlan,
    private readonly labels: ReadonlyMap<string, readonly string[]>,
  ) {
    this.idColumn = plan.idColumn === undefined ? undefined : JSON.stringify(plan.idColumn);
  }

  /** JSON lines for the rows of one executed batch; outputs are [rows, ...] tensors. */
  rows(rowNumbers: readonly number[], ids: readonly RowId[] | undefined, outputs: ReadonlyMap<string, Tensor>): string {
    const n = rowNumbers.length;
    const lines = new Array<string>(n);
    for (let r = 0; r < n; r++) {
      let line = `{${this.rowKey}:${rowNumbers[r]}`;
      if (this.idColumn !== undefined) line += `,${this.idColumn}:${jsonValue(ids?.[r])}`;
      for (const spec of this.plan.outputs) {
        const t = outputs.get(spec.output);
        line += `,${JSON.stringify(spec.column)}:${t === undefined ? 'null' : this.valueText(spec, t, r, n)}`;
      }
      lines[r] = `${line}}\n`;
    }
    return lines.join('');
  }

  /** JSON text of one kept output of row r (of n rows in the tensor). */
  valueText(spec: OutputSpec, t: Tensor, r: number, n: number): string {
    const total = t.data.length;
    const width = n === 0 ? 0 : total / n;
    const at = r * width;
    const dims = t.shape.length > 0 && t.shape[0] === n ? t.shape.slice(1) : t.shape;
    if (spec.mode.kind === 'raw') return nestedList(t, at, dims, 0);
    const values = new Float64Array(width);
    for (let j = 0; j < width; j++) values[j] = numberAt(t, at + j);
    const labels = this.labels.get(spec.output);
    if (spec.mode.kind === 'argmax' || spec.mode.kind === 'label') {
      const best = topIndices(values, 1)[0] ?? 0;
      return spec.mode.kind === 'argmax' ? String(best) : JSON.stringify(labels?.[best] ?? String(best));
    }
    const top = topIndices(values, Math.min(spec.mode.k, width));
    return `[${top
      .map(
        (i) =>
          `{"index":${i},"score":${num(values[i] as number)},"label":${labels?.[i] === undefined ? 'null' : JSON.stringify(labels[i])}}`,
      )
      .join(',')}]`;
  }
}

/** One error line: row number, id (when there is an id column) and the reason. */
export function errorLine(e: RowError, idColumn: string | undefined): string {
  const id = idColumn === undefined ? '' : `,${JSON.stringify(idColumn)}:${jsonValue(e.id)}`;
  return `{"row":${e.row}${id},"error":${JSON.stringify(e.error)}}\n`;
}

/** SQL type of a topk:N output column. */
export const TOPK_TYPE = 'STRUCT("index" BIGINT, score DOUBLE, label VARCHAR)[]';

/** Output columns and their SQL types, in order: row, the id column, then each kept output. */
export function outputColumns(
  config: ResolvedModelConfig,
  plan: MappingPlan,
  sourceColumns: readonly SourceColumn[],
): { name: string; type: string }[] {
  const cols = [{ name: 'row', type: 'BIGINT' }];
  if (plan.idColumn !== undefined) {
    const t = sourceColumns.find((c) => c.name === plan.idColumn)?.type ?? 'VARCHAR';
    cols.push({ name: plan.idColumn, type: t === 'JSON' ? 'VARCHAR' : t });
  }
  for (const spec of plan.outputs) {
    const tensor = config.outputs.find((o) => o.name === spec.output);
    let type: string;
    switch (spec.mode.kind) {
      case 'raw': {
        const dt = tensor?.datatype ?? 'FP32';
        const dims = tensor?.dims ?? [];
        type = `${dt === 'FP16' || dt === 'BF16' ? 'FLOAT' : SQL_ELEMENT_TYPE[dt]}${'[]'.repeat(dims.length)}`;
        break;
      }
      case 'argmax':
        type = 'BIGINT';
        break;
      case 'label':
        type = 'VARCHAR';
        break;
      case 'topk':
        type = TOPK_TYPE;
        break;
    }
    cols.push({ name: spec.column, type });
  }
  return cols;
}

/** DuckDB's read_json `columns` argument for these columns. */
export function columnsArgument(columns: readonly { name: string; type: string }[]): string {
  return `{${columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(c.type)}`).join(', ')}}`;
}
