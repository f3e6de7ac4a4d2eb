// Seeded random tensor data for every v2 datatype, so benchmark requests have the model's exact
// types and sizes without input files, and repeat exactly from run to run.

import type { Datatype, TensorData, TensorDataMap } from '../tensor/datatype.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../tensor/half.js';
import { checkData } from '../tensor/tensor.js';

/** Characters of random BYTES elements: printable ASCII, so they also travel as JSON strings. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Length of each random BYTES element. */
export const RANDOM_STRING_LENGTH = 16;

export { seededRandom } from '../util/seeded-random.js';

/**
 * `count` random elements of `datatype`. Integers are drawn from [0, 100) (unsigned) or
 * [-50, 50) (signed): valid in every integer type and small enough that a model adding or
 * multiplying its inputs does not overflow. Floats are uniform in [-1, 1).
 */
export function randomTensorData<D extends Datatype>(
  datatype: D,
  count: number,
  random: () => number,
): TensorDataMap[D] {
  const unsigned = (): number => Math.floor(random() * 100);
  const signed = (): number => Math.floor(random() * 100) - 50;
  const float = (): number => random() * 2 - 1;
  const fill = <T extends { length: number; [i: number]: number }>(out: T, next: () => number): T => {
    for (let i = 0; i < out.length; i++) out[i] = next();
    return out;
  };
  let data: TensorData;
  switch (datatype) {
    case 'BOOL':
      data = fill(new Uint8Array(count), () => (random() < 0.5 ? 0 : 1));
      break;
    case 'UINT8':
      data = fill(new Uint8Array(count), unsigned);
      break;
    case 'UINT16':
      data = fill(new Uint16Array(count), unsigned);
      break;
    case 'UINT32':
      data = fill(new Uint32Array(count), unsigned);
      break;
    case 'UINT64': {
      const out = new BigUint64Array(count);
      for (let i = 0; i < count; i++) out[i] = BigInt(unsigned());
      data = out;
      break;
    }
    case 'INT8':
      data = fill(new Int8Array(count), signed);
      break;
    case 'INT16':
      data = fill(new Int16Array(count), signed);
      break;
    case 'INT32':
      data = fill(new Int32Array(count), signed);
      break;
    case 'INT64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = BigInt(signed());
      data = out;
      break;
    }
    case 'FP16':
      data = fill(new Uint16Array(count), () => float32ToFloat16Bits(float()));
      break;
    case 'BF16':
      data = fill(new Uint16Array(count), () => float32ToBfloat16Bits(float()));
      break;
    case 'FP32':
      data = fill(new Float32Array(count), float);
      break;
    case 'FP64':
      data = fill(new Float64Array(count), float);
      break;
    case 'BYTES': {
      const out: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const element = new Uint8Array(RANDOM_STRING_LENGTH);
        for (let j = 0; j < element.length; j++)
          element[j] = ALPHABET.charCodeAt(Math.floor(random() * ALPHABET.length));
        out.push(element);
      }
      data = out;
      break;
    }
  }
  // The switch narrows `datatype`, not the generic D; each case built D's storage.
  return checkData(datatype, data);
}
