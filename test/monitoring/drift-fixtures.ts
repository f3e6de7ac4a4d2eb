// Shared pieces of the drift tests: seeded normal draws, in-memory reference samples, tensors of
// rows, and a model config resolved the way the repository resolves one.

import path from 'node:path';
import type { GraphTensor } from '../../src/config/graph-signature.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import { modelConfigSchema, type ModelConfigInput } from '../../src/config/model-config-schema.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { Datatype } from '../../src/tensor/datatype.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { ReferenceSample } from '../../src/monitoring/drift-reference-file.js';
import { seededRandom } from '../../src/util/seeded-random.js';

/** Standard normal draws (Box–Muller over the seeded generator). */
export function normals(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A reference sample of one tensor: `rows` rows of `rowSize` values from `draw(column)`. */
export function sampleOf(
  name: string,
  rows: number,
  rowSize: number,
  draw: (column: number) => number,
): ReferenceSample {
  const values = new Float64Array(rows * rowSize);
  for (let i = 0; i < values.length; i++) values[i] = draw(i % rowSize);
  return { rows, fileRows: rows, tensors: [{ name, rowSize, integral: false, values }] };
}

/** An FP32 (or INT32) tensor of `rows` rows of `rowSize` values from `draw(column)`. */
export function rowsTensor(
  name: string,
  rows: number,
  rowSize: number,
  draw: (column: number) => number,
  datatype: 'FP32' | 'INT32' = 'FP32',
): Tensor {
  const data = datatype === 'FP32' ? new Float32Array(rows * rowSize) : new Int32Array(rows * rowSize);
  for (let i = 0; i < data.length; i++) data[i] = draw(i % rowSize);
  return datatype === 'FP32'
    ? { name, datatype, shape: [rows, rowSize], data: data as Float32Array }
    : { name, datatype, shape: [rows, rowSize], data: data as Int32Array };
}

function graphTensor(name: string, datatype: Datatype, shape: number[]): GraphTensor {
  return { name, elementType: datatype.toLowerCase(), datatype, isTensor: true, shape };
}

/** A batching model `name` in `repository` with the given inputs and outputs ([-1, …dims] each). */
export function resolvedConfig(
  repository: string,
  name: string,
  tensors: { inputs: [string, Datatype, number[]][]; outputs: [string, Datatype, number[]][] },
  config: ModelConfigInput = {},
): ResolvedModelConfig {
  const graph = {
    inputs: tensors.inputs.map(([n, dt, dims]) => graphTensor(n, dt, [-1, ...dims])),
    outputs: tensors.outputs.map(([n, dt, dims]) => graphTensor(n, dt, [-1, ...dims])),
  };
  const folder = { name, dir: path.join(repository, name), versions: [1], configFiles: [], fingerprint: '' };
  const result = resolveModelConfig(folder, modelConfigSchema.parse(config), graph);
  if (!result.ok) throw new Error(`config refused: ${JSON.stringify(result.issues)}`);
  return result.value;
}
