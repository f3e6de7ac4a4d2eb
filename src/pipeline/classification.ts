// The classification extension: replaces an output with its top-k entries per batch item as
// BYTES "<value>:<index>[:<label>]", as Triton does (extension_classification.md).

import { invalidArgument } from '../errors/index.js';
import type { FixedDatatype } from '../tensor/datatype.js';
import { float16BitsToFloat32, bfloat16BitsToFloat32 } from '../tensor/half.js';
import type { Tensor, TensorContent } from '../tensor/tensor.js';

const encoder = new TextEncoder();

function valueAt(t: TensorContent<FixedDatatype>, i: number): number {
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

/** Formats like C++ std::to_string(float), which Triton uses: six decimals, inf, -inf, nan. */
function formatValue(v: number): string {
  if (Number.isFinite(v)) return v.toFixed(6);
  if (Number.isNaN(v)) return 'nan';
  return v > 0 ? 'inf' : '-inf';
}

/** Highest first, NaN last, ties to the lower index: a consistent order whatever the values. */
function byValueDescending(values: Float64Array): (a: number, b: number) => number {
  return (a, b) => {
    const va = values[a]!;
    const vb = values[b]!;
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return vb - va || a - b;
  };
}

/**
 * Top `k` classes of each batch item (or of the whole tensor when the model does not batch),
 * highest first, ties broken by the lower index.
 */
export function classify(
  output: Tensor,
  k: number,
  batched: boolean,
  labels: readonly string[] | undefined,
): Tensor<'BYTES'> {
  if (output.datatype === 'BYTES') throw invalidArgument(`output '${output.name}' is BYTES and cannot be classified`);
  if (!Number.isInteger(k) || k < 1)
    throw invalidArgument(`output '${output.name}': classification count must be a positive integer, got ${k}`);
  const total = output.data.length;
  const rows = batched ? (output.shape[0] ?? 1) : 1;
  const width = rows === 0 ? 0 : total / rows;
  const take = Math.min(k, width);
  const data: Uint8Array[] = [];
  const order = new Array<number>(width);
  const values = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      order[c] = c;
      values[c] = valueAt(output, r * width + c);
    }
    order.sort(byValueDescending(values));
    for (let j = 0; j < take; j++) {
      const idx = order[j] ?? 0;
      const label = labels?.[idx];
      data.push(encoder.encode(`${formatValue(values[idx]!)}:${idx}${label === undefined ? '' : `:${label}`}`));
    }
  }
  return { name: output.name, datatype: 'BYTES', shape: batched ? [rows, take] : [take], data };
}
