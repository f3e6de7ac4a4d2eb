// The data of a config's warmup samples, one row per input: zeros, seeded random values, or the
// bytes of a file in the model folder's `warmup/` directory (Triton's convention: raw row-major
// bytes of one row; BYTES elements each a 4-byte little-endian length, then the bytes). A missing
// file, or one of the wrong size, is an issue naming the field and the sample.

import { readFile } from 'node:fs/promises';
import type { ConfigIssue } from './config-issues.js';
import { shapeText } from './config-issues.js';
import type { Loaded, ModelConfigSource } from './model-config-file.js';
import type { ResolvedModelConfig, ResolvedWarmupInput } from './resolved-model-config.js';
import { WARMUP_DIR, warmupFilePath } from './warmup-resolver.js';
import { decodeBinaryTensorData } from '../tensor/binary-codec.js';
import {
  ARRAY_TYPES,
  ELEMENT_SIZE,
  configTypeName,
  type Datatype,
  type FixedDatatype,
  type TensorData,
} from '../tensor/datatype.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../tensor/half.js';
import { checkData } from '../tensor/tensor.js';
import { seededRandom } from '../util/seeded-random.js';

/** One input's data for one row of a sample; a run repeats it `batchSize` times. */
export interface WarmupRow {
  readonly name: string;
  readonly datatype: Datatype;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** Each sample's rows, in `config.warmup` order. */
export type WarmupData = readonly (readonly WarmupRow[])[];

/** Reads the data files and makes the zero and random rows of every sample. */
export async function readWarmupData(
  folder: ModelConfigSource,
  config: ResolvedModelConfig,
): Promise<Loaded<WarmupData>> {
  const issues: ConfigIssue[] = [];
  const samples: WarmupRow[][] = [];
  for (const [i, sample] of config.warmup.entries()) {
    const rows: WarmupRow[] = [];
    const random = seededRandom(i + 1);
    for (const input of sample.inputs) {
      const at = `model_warmup[${i}].inputs.${input.name}.input_data_file`;
      const elements = input.dims.reduce((a, b) => a * b, 1);
      const source = input.source;
      if (source.kind === 'zero') rows.push({ ...input, data: zeroRow(input.datatype, elements) });
      else if (source.kind === 'random') rows.push({ ...input, data: randomRow(input.datatype, elements, random) });
      else {
        const file = warmupFilePath(folder.dir, source.file);
        const what = `sample '${sample.name}'`;
        let bytes: Uint8Array;
        try {
          bytes = await readFile(file);
        } catch (err) {
          const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
          issues.push({ file, field: at, reason: `${what}: cannot read ${WARMUP_DIR}/${source.file}: ${why}` });
          continue;
        }
        const data = fileRow(input, bytes);
        if (typeof data === 'string') issues.push({ file, field: at, reason: `${what}: ${data}` });
        else rows.push({ ...input, data });
      }
    }
    samples.push(rows);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: samples };
}

/** One row decoded from a file's bytes, or why the bytes do not fit. */
function fileRow(input: ResolvedWarmupInput, bytes: Uint8Array): TensorData | string {
  const type = `${configTypeName(input.datatype)} ${shapeText(input.dims)}`;
  if (input.datatype !== 'BYTES') {
    const expected = input.dims.reduce((a, b) => a * b, 1) * ELEMENT_SIZE[input.datatype];
    if (bytes.byteLength !== expected)
      return `has ${bytes.byteLength} bytes, but one row of '${input.name}' (${type}) is ${expected} bytes`;
  }
  try {
    return decodeBinaryTensorData(input.name, input.datatype, input.dims, bytes, { copy: true });
  } catch (err) {
    return `does not hold one row of '${input.name}' (${type}): ${err instanceof Error ? err.message : String(err)}`;
  }
}

function zeroRow(datatype: Datatype, count: number): TensorData {
  if (datatype === 'BYTES') return Array.from({ length: count }, () => new Uint8Array(0));
  return new ARRAY_TYPES[datatype](count);
}

/**
 * Random values that are valid for most models: floats uniform in [0, 1), integers and booleans 0
 * or 1 (so index inputs such as token ids stay in range), strings of 8 lowercase letters.
 */
function randomRow(datatype: Datatype, count: number, random: () => number): TensorData {
  if (datatype === 'BYTES')
    return Array.from({ length: count }, () => Uint8Array.from({ length: 8 }, () => 97 + Math.floor(random() * 26)));
  const fixed: FixedDatatype = datatype;
  const data = new ARRAY_TYPES[fixed](count);
  for (let j = 0; j < count; j++) {
    const x = random();
    const bit = x < 0.5 ? 0 : 1;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[j] = BigInt(bit);
    else if (fixed === 'FP16') data[j] = float32ToFloat16Bits(x);
    else if (fixed === 'BF16') data[j] = float32ToBfloat16Bits(x);
    else if (fixed === 'FP32' || fixed === 'FP64') data[j] = x;
    else data[j] = bit;
  }
  return checkData(datatype, data);
}
