// Chooses the concrete input tensors of a benchmark request: shapes from the model's metadata,
// --shape and --batch-size; data from --input files (.npy or .json) or seeded random values.
// Every request of a run carries the same tensors, as perf_analyzer's do by default.

import { readFile } from 'node:fs/promises';
import type { Datatype, TensorData } from '../tensor/datatype.js';
import { decodeJsonTensorData } from '../tensor/json-decode.js';
import { decodeNpy } from '../tensor/npy.js';
import { formatShape } from '../tensor/shape.js';
import { allocData, copyElements, elementCount, makeTensor, tensorContent, type Tensor } from '../tensor/tensor.js';
import type { InputMetadata, ModelInfo } from './model-info.js';
import { randomTensorData, seededRandom } from './random-data.js';
import { nestedShape } from '../tensor/nested-shape.js';

export interface InputOptions {
  /** Rows per request along the batch dimension (1 when the model has none). */
  readonly batchSize: number;
  /** --shape NAME=d1,d2: the dimensions after the batch dimension. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** --input NAME=FILE. */
  readonly files: ReadonlyMap<string, string>;
  readonly seed?: number;
}

export type BenchInput = Tensor & {
  /** 'random', or the file the data came from. */
  readonly source: string;
};

/** Parses NAME=d1,d2 (the --shape form). */
export function parseShapeSpec(spec: string): { name: string; dims: number[] } {
  const eq = spec.lastIndexOf('=');
  const name = spec.slice(0, Math.max(eq, 0));
  const dims = eq < 0 ? [] : spec.slice(eq + 1).split(',');
  if (name === '' || dims.length === 0 || !dims.every((d) => /^\d+$/.test(d.trim())))
    throw new Error(`expected NAME=d1,d2,... with whole-number dimensions, got '${spec}'`);
  return { name, dims: dims.map((d) => Number(d)) };
}

/** Does the model's first dimension hold the batch? */
function batched(model: ModelInfo): boolean {
  return model.maxBatchSize !== undefined && model.maxBatchSize > 0;
}

export function checkBatchSize(model: ModelInfo, batchSize: number): void {
  if (model.maxBatchSize === undefined) {
    if (batchSize > 1)
      throw new Error(
        `the server does not give the max_batch_size of model '${model.name}' (no GET .../config), so the batch ` +
          'dimension is unknown: leave --batch-size at 1 and give full shapes with --shape',
      );
    return;
  }
  if (model.maxBatchSize === 0 && batchSize > 1)
    throw new Error(`model '${model.name}' does not batch (max_batch_size 0); --batch-size must be 1`);
  if (model.maxBatchSize > 0 && batchSize > model.maxBatchSize)
    throw new Error(
      `--batch-size ${batchSize} is over the max_batch_size of model '${model.name}' (${model.maxBatchSize})`,
    );
}

/** The dimensions after the batch dimension, as the metadata gives them (-1 = dynamic). */
function itemDims(model: ModelInfo, input: InputMetadata): readonly number[] {
  return batched(model) ? input.shape.slice(1) : input.shape;
}

/** The full request shape of a random input: --shape (or the fixed dims) behind the batch size. */
export function requestShape(model: ModelInfo, input: InputMetadata, options: InputOptions): number[] {
  const dims = itemDims(model, input);
  const given = options.shapes.get(input.name);
  const where = batched(model) ? ' (after the batch dimension)' : '';
  let item: number[];
  if (given === undefined) {
    if (dims.includes(-1))
      throw new Error(
        `input '${input.name}' has dynamic dimensions${where}: ${formatShape(dims)}; give their sizes with ` +
          `--shape ${input.name}=${dims.map((d) => (d === -1 ? 'N' : String(d))).join(',')}`,
      );
    item = [...dims];
  } else {
    if (given.length !== dims.length || given.some((d, i) => dims[i] !== -1 && dims[i] !== d))
      throw new Error(`--shape ${input.name}=${given.join(',')} does not fit the model's ${formatShape(dims)}${where}`);
    item = [...given];
  }
  return batched(model) ? [options.batchSize, ...item] : item;
}

async function readTensorFile(input: InputMetadata, file: string): Promise<{ shape: number[]; data: TensorData }> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new Error(`--input ${input.name}=${file}: ${(err as Error).message}`, { cause: err });
  });
  if (file.endsWith('.npy')) {
    const npy = decodeNpy(bytes, file);
    if (npy.datatype !== input.datatype)
      throw new Error(`${file} holds ${npy.datatype} data, but input '${input.name}' is ${input.datatype}`);
    return { shape: npy.shape, data: npy.data };
  }
  if (!file.endsWith('.json')) throw new Error(`--input ${input.name}=${file}: expected a .npy or .json file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  const shape = nestedShape(parsed, file);
  return { shape, data: decodeJsonTensorData(input.name, input.datatype, shape, parsed, Number.MAX_SAFE_INTEGER) };
}

/** `times` copies of the data back to back: one item tiled along a new batch dimension. */
function tile(datatype: Datatype, data: TensorData, times: number): TensorData {
  const t = tensorContent(datatype, data);
  if (t.datatype === 'BYTES') {
    const elements = t.data;
    return Array.from({ length: times }, () => elements).flat();
  }
  const typed = t.data;
  const out = allocData(t.datatype, typed.length * times);
  for (let i = 0; i < times; i++) copyElements(out, i * typed.length, typed);
  return out;
}

/**
 * A file holds one whole request tensor (as for `inferd infer`), or, for a batching model, one
 * item without the batch dimension, which is repeated --batch-size times.
 */
function fitFile(
  model: ModelInfo,
  input: InputMetadata,
  file: string,
  shape: number[],
  data: TensorData,
  batch: number,
): { shape: number[]; data: TensorData } {
  const dims = itemDims(model, input);
  const fits = (item: readonly number[]): boolean =>
    item.length === dims.length && item.every((d, i) => dims[i] === -1 || dims[i] === d);
  if (batched(model) && fits(shape)) return { shape: [batch, ...shape], data: tile(input.datatype, data, batch) };
  if (batched(model) && shape.length === dims.length + 1 && fits(shape.slice(1))) {
    if (shape[0] !== batch)
      throw new Error(
        `${file} has shape ${formatShape(shape)}, a batch of ${shape[0]}, but --batch-size is ${batch}; ` +
          `give --batch-size ${shape[0]}, or a file without the batch dimension`,
      );
    return { shape, data };
  }
  if (!batched(model) && fits(shape)) return { shape, data };
  throw new Error(
    `${file} has shape ${formatShape(shape)}, which does not fit input '${input.name}' ${formatShape(input.shape)}`,
  );
}

/** The tensors every request of the run sends, in the model's input order. */
export async function buildInputs(model: ModelInfo, options: InputOptions): Promise<BenchInput[]> {
  checkBatchSize(model, options.batchSize);
  const known = model.inputs.map((i) => i.name);
  for (const [flag, names] of [
    ['--shape', options.shapes.keys()],
    ['--input', options.files.keys()],
  ] as const) {
    for (const name of names)
      if (!known.includes(name))
        throw new Error(`${flag} ${name}: model '${model.name}' has no input '${name}'; it has ${known.join(', ')}`);
  }
  const random = seededRandom(options.seed ?? 1);
  const out: BenchInput[] = [];
  for (const input of model.inputs) {
    const file = options.files.get(input.name);
    if (file === undefined) {
      const shape = requestShape(model, input, options);
      const data = randomTensorData(input.datatype, elementCount(shape), random);
      out.push({ ...makeTensor(input.name, input.datatype, shape, data), source: 'random' });
      continue;
    }
    const read = await readTensorFile(input, file);
    const fitted = fitFile(model, input, file, read.shape, read.data, options.batchSize);
    out.push({ ...makeTensor(input.name, input.datatype, fitted.shape, fitted.data), source: file });
  }
  return out;
}
