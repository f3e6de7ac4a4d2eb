// What drift watches in a tensor: one feature per element of a row when a row is small (a tabular
// input [batch, F], a model's class probabilities), and a fixed summary when it is large (an
// embedding, an image): the row's mean, standard deviation and L2 norm, plus its projections onto
// a few seeded random unit directions. A row of 384 numbers then costs 7 features, not 384 tests;
// the mean, spread and norm catch shifts of scale and offset, and the random projections (the
// Johnson–Lindenstrauss idea) catch a change of direction that leaves all three alone.

import type { Datatype } from '../tensor/datatype.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../tensor/half.js';
import type { Tensor } from '../tensor/tensor.js';
import { seededRandom } from '../util/seeded-random.js';

/** Rows with more elements than this are summarised instead of watched element by element. */
export const MAX_ELEMENT_FEATURES = 32;
/** Random directions a summarised row is projected onto. */
export const SUMMARY_PROJECTIONS = 4; // extract() below unrolls exactly four
/** The seed of the directions: fixed, so the reference and every window use the same ones. */
const PROJECTION_SEED = 0x5eed_d71f;

export type TensorSide = 'input' | 'output';

/** One watched tensor: its name, side, datatype and the elements in one row (batch dimension excluded). */
export interface TensorLayout {
  readonly name: string;
  readonly side: TensorSide;
  readonly rowSize: number;
  /** Integer and boolean values may be categories (few distinct reference values); floats never. */
  readonly integral: boolean;
}

/** Turns a row of a tensor into its feature values. */
export interface RowFeatures {
  readonly layout: TensorLayout;
  /** Feature names: `<tensor>[<i>]`, or `<tensor>.mean`, `.std`, `.l2`, `.proj[<j>]` for a summary. */
  readonly names: readonly string[];
  readonly summarised: boolean;
  /** Writes the row's feature values into `out[0 … names.length)` from `row[offset … offset + rowSize)`. */
  extract(row: ArrayLike<number>, offset: number, out: Float64Array): void;
}

function unitDirections(size: number): Float64Array[] {
  const random = seededRandom(PROJECTION_SEED);
  const gaussian = (): number => {
    // Box–Muller; 1 − u keeps the logarithm finite.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const directions: Float64Array[] = [];
  for (let j = 0; j < SUMMARY_PROJECTIONS; j++) {
    const d = Float64Array.from({ length: size }, gaussian);
    let norm = 0;
    for (const x of d) norm += x * x;
    norm = Math.sqrt(norm);
    for (let i = 0; i < size; i++) d[i] = (d[i] ?? 0) / norm;
    directions.push(d);
  }
  return directions;
}

/** The features of a tensor's rows. */
export function rowFeatures(layout: TensorLayout): RowFeatures {
  const size = layout.rowSize;
  if (size <= MAX_ELEMENT_FEATURES) {
    return {
      layout,
      names: Array.from({ length: size }, (_, i) => `${layout.name}[${i}]`),
      summarised: false,
      extract(row, offset, out) {
        for (let i = 0; i < size; i++) out[i] = row[offset + i] ?? Number.NaN;
      },
    };
  }
  const directions = unitDirections(size);
  // Interleaved (element i's four direction weights side by side): one pass over the row.
  const weights = new Float64Array(size * SUMMARY_PROJECTIONS);
  directions.forEach((d, j) => d.forEach((w, i) => (weights[i * SUMMARY_PROJECTIONS + j] = w)));
  return {
    layout,
    names: [
      `${layout.name}.mean`,
      `${layout.name}.std`,
      `${layout.name}.l2`,
      ...directions.map((_, j) => `${layout.name}.proj[${j}]`),
    ],
    summarised: true,
    extract(row, offset, out) {
      let sum = 0;
      let squares = 0;
      let p0 = 0;
      let p1 = 0;
      let p2 = 0;
      let p3 = 0;
      for (let i = 0, w = 0; i < size; i++, w += SUMMARY_PROJECTIONS) {
        const x = row[offset + i] ?? Number.NaN;
        sum += x;
        squares += x * x;
        p0 += x * (weights[w] ?? 0);
        p1 += x * (weights[w + 1] ?? 0);
        p2 += x * (weights[w + 2] ?? 0);
        p3 += x * (weights[w + 3] ?? 0);
      }
      const mean = sum / size;
      out[0] = mean;
      out[1] = Math.sqrt(Math.max(0, squares / size - mean * mean));
      out[2] = Math.sqrt(squares);
      out[3] = p0;
      out[4] = p1;
      out[5] = p2;
      out[6] = p3;
    },
  };
}

/** Whether drift can watch a datatype: every numeric one (BYTES holds strings, not numbers). */
export function isWatchable(datatype: Datatype): boolean {
  return datatype !== 'BYTES';
}

export function isIntegral(datatype: Datatype): boolean {
  return datatype !== 'FP16' && datatype !== 'FP32' && datatype !== 'FP64' && datatype !== 'BF16';
}

/**
 * A tensor's elements as numbers. Number-valued typed arrays are used as they are (no copy);
 * 64-bit integers and 16-bit floats are converted into `scratch`, grown as needed.
 */
export function numericView(tensor: Tensor, scratch: { buffer: Float64Array }): ArrayLike<number> | undefined {
  switch (tensor.datatype) {
    case 'BYTES':
      return undefined;
    case 'INT64':
    case 'UINT64':
      return convert(tensor.data.length, scratch, (i) => Number(tensor.data[i] ?? 0n));
    case 'FP16':
      return convert(tensor.data.length, scratch, (i) => float16BitsToFloat32(tensor.data[i] ?? 0));
    case 'BF16':
      return convert(tensor.data.length, scratch, (i) => bfloat16BitsToFloat32(tensor.data[i] ?? 0));
    default:
      return tensor.data;
  }
}

function convert(length: number, scratch: { buffer: Float64Array }, at: (i: number) => number): Float64Array {
  if (scratch.buffer.length < length) scratch.buffer = new Float64Array(length);
  const out = scratch.buffer;
  for (let i = 0; i < length; i++) out[i] = at(i);
  return out;
}
