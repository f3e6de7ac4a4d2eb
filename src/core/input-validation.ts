// Checks a request's declared tensors against the model's configuration before any tensor data
// is decoded or allocated: known names, datatypes, shapes, batch size and byte limits.

import { fullShape, type ResolvedModelConfig, type ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { Datatype } from '../tensor/datatype.js';

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function findInput(config: ResolvedModelConfig, name: string): ResolvedTensorConfig {
  const spec = config.inputs.find((i) => i.name === name);
  if (spec === undefined) {
    throw invalidArgument(
      `unexpected inference input '${name}' for model '${config.name}'; expected ${config.inputs.map((i) => `'${i.name}'`).join(', ')}`,
    );
  }
  return spec;
}

export function findOutput(config: ResolvedModelConfig, name: string): ResolvedTensorConfig {
  const spec = config.outputs.find((o) => o.name === name);
  if (spec === undefined) {
    throw invalidArgument(
      `unexpected inference output '${name}' for model '${config.name}'; it has ${config.outputs.map((o) => `'${o.name}'`).join(', ')}`,
    );
  }
  return spec;
}

/**
 * Validates one declared input (name, datatype, shape) against the config and returns its batch
 * size (1 when the model does not batch). The shape itself must already be a list of
 * non-negative integers.
 */
export function checkInputSpec(
  config: ResolvedModelConfig,
  name: string,
  datatype: Datatype,
  shape: readonly number[],
): number {
  const spec = findInput(config, name);
  if (spec.datatype !== datatype) {
    throw invalidArgument(
      `input '${name}' has datatype ${datatype}, but model '${config.name}' expects ${spec.datatype}`,
    );
  }
  const expected = fullShape(config, spec);
  if (shape.length !== expected.length) {
    throw invalidArgument(
      `input '${name}' has shape ${shapeText(shape)}, but model '${config.name}' expects ${shapeText(expected)} (rank ${expected.length})`,
    );
  }
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] ?? -1;
    if (want !== -1 && want !== shape[i]) {
      throw invalidArgument(
        `input '${name}' has shape ${shapeText(shape)}, but model '${config.name}' expects ${shapeText(expected)}`,
      );
    }
  }
  if (config.maxBatchSize > 0) {
    const batch = shape[0] ?? 0;
    if (batch < 1) throw invalidArgument(`input '${name}' has batch size ${batch}; it must be at least 1`);
    if (batch > config.maxBatchSize) {
      throw invalidArgument(
        `input '${name}' has batch size ${batch}, over model '${config.name}' max_batch_size ${config.maxBatchSize}`,
      );
    }
    return batch;
  }
  return 1;
}

/** Checks the set of inputs as a whole: no duplicates, none missing, one batch size. */
export function checkInputSet(
  config: ResolvedModelConfig,
  names: readonly string[],
  batchSizes: readonly number[],
): number {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw invalidArgument(`input '${n}' is given more than once`);
    seen.add(n);
  }
  const missing = config.inputs.filter((i) => !seen.has(i.name)).map((i) => `'${i.name}'`);
  if (missing.length > 0) {
    throw invalidArgument(
      `model '${config.name}' expects ${config.inputs.length} input(s); missing ${missing.join(', ')}`,
    );
  }
  const batch = batchSizes[0] ?? 1;
  if (batchSizes.some((b) => b !== batch)) {
    throw invalidArgument(`inputs have different batch sizes (${batchSizes.join(', ')}); they must agree`);
  }
  return batch;
}

export function unsupported(message: string): InferdError {
  return new InferdError('INF_ERR_UNSUPPORTED', message);
}
