// Decodes a gRPC ModelInferRequest into tensors, checking every declared name, datatype and shape
// against the model (core/input-validation.ts) and the byte limit (tensor/shape.ts) before any
// tensor memory is allocated, with the same checks and messages as the REST decoder.

import type { SequenceControl } from '../../core/infer-request.js';
import { checkInputSet, checkInputSpec, findOutput } from '../../core/input-validation.js';
import { nonNegativeInt, parseRequestParameters, refuseSharedMemory } from '../../core/request-parameters.js';
import type { ResolvedModelConfig } from '../../config/resolved-model-config.js';
import { invalidArgument } from '../../errors/index.js';
import { decodeBinaryTensorData } from '../../tensor/binary-codec.js';
import { isDatatype } from '../../tensor/datatype.js';
import { checkTensorLimits, validateShape } from '../../tensor/shape.js';
import { makeTensor, type Tensor } from '../../tensor/tensor.js';
import { plainParameters } from './infer-parameters.js';
import { decodeTensorContents, hasContents } from './tensor-contents.js';
import type { InferRequestedOutputTensor, ModelInferRequest } from './wire-types.js';
import { previewValue } from '../../util/bounded-json.js';

export interface RequestedOutput {
  readonly name: string;
  /** Top-k for the classification extension; 0 = the raw tensor. */
  readonly classification: number;
}

export interface DecodedGrpcRequest {
  readonly inputs: Tensor[];
  readonly batchSize: number;
  /** The outputs asked for, or undefined for all of them. */
  readonly outputs: RequestedOutput[] | undefined;
  readonly priority: number;
  readonly timeoutUs: number;
  readonly sequence: SequenceControl | undefined;
  /** The `routing_key` parameter (experiments). */
  readonly routingKey: string | undefined;
}

export interface DecodeLimits {
  readonly maxTensorBytes: number;
}

/** int64 shape values (decimal strings) to numbers; validateShape then refuses negatives and overflow. */
function shapeOf(name: string, shape: readonly string[]): number[] {
  return validateShape(
    name,
    shape.map((d) => Number(d)),
  );
}

export function decodeModelInferRequest(
  config: ResolvedModelConfig,
  request: ModelInferRequest,
  limits: DecodeLimits,
): DecodedGrpcRequest {
  // The cheap request-level checks come first, before any input is decoded.
  const outputs = decodeRequestedOutputs(config, request.outputs);
  const { priority, timeoutUs, sequence, routingKey } = parseRequestParameters(plainParameters(request.parameters));

  const { inputs: wireInputs, raw_input_contents: raw } = request;
  if (wireInputs.length === 0) throw invalidArgument('request must have at least one input');
  const useRaw = raw.length > 0;
  if (useRaw) {
    // Spec (grpc_service.proto): when raw_input_contents is used, no input may carry contents.
    const typed = wireInputs.find((i) => hasContents(i.contents));
    if (typed !== undefined) {
      throw invalidArgument(
        `input '${typed.name ?? ''}' has contents, but the request uses raw_input_contents; when raw_input_contents is used no input may have contents`,
      );
    }
    if (raw.length !== wireInputs.length) {
      throw invalidArgument(
        `request has ${raw.length} raw_input_contents for ${wireInputs.length} inputs; give one per input, in input order`,
      );
    }
  }

  const inputs: Tensor[] = [];
  const batchSizes: number[] = [];
  for (const [i, wire] of wireInputs.entries()) {
    const name = wire.name ?? '';
    if (name === '') throw invalidArgument(`inputs[${i}] needs a name`);
    const { datatype } = wire;
    if (!isDatatype(datatype)) {
      throw invalidArgument(
        `input '${name}' has unknown datatype ${previewValue(datatype ?? '')}; expected one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES, BF16`,
      );
    }
    const shape = shapeOf(name, wire.shape);
    refuseSharedMemory(plainParameters(wire.parameters), `input '${name}'`);
    batchSizes.push(checkInputSpec(config, name, datatype, shape));
    checkTensorLimits(name, datatype, shape, limits.maxTensorBytes);
    const data = useRaw
      ? decodeBinaryTensorData(name, datatype, shape, raw[i]!)
      : decodeTensorContents(name, datatype, shape, wire.contents);
    inputs.push(makeTensor(name, datatype, shape, data));
  }
  const batchSize = checkInputSet(
    config,
    inputs.map((t) => t.name),
    batchSizes,
  );
  return { inputs, batchSize, outputs, priority, timeoutUs, sequence, routingKey };
}

function decodeRequestedOutputs(
  config: ResolvedModelConfig,
  wire: readonly InferRequestedOutputTensor[],
): RequestedOutput[] | undefined {
  // No outputs asks for every output, as over REST.
  if (wire.length === 0) return undefined;
  const seen = new Set<string>();
  return wire.map((o, i) => {
    const name = o.name ?? '';
    if (name === '') throw invalidArgument(`outputs[${i}] needs a name`);
    const spec = findOutput(config, name);
    if (seen.has(name)) throw invalidArgument(`output '${name}' is requested more than once`);
    seen.add(name);
    const params = plainParameters(o.parameters);
    refuseSharedMemory(params, `output '${name}'`);
    const classification =
      params.classification === undefined
        ? 0
        : nonNegativeInt(params.classification, `output '${name}' classification`);
    // Refused here rather than after the model has run (classify() repeats the check).
    if (classification > 0 && spec.datatype === 'BYTES')
      throw invalidArgument(`output '${name}' is BYTES and cannot be classified`);
    return { name, classification };
  });
}

/** Names of the outputs to compute: the requested ones, else all in config order. */
export function outputNamesFor(config: ResolvedModelConfig, decoded: DecodedGrpcRequest): string[] {
  return decoded.outputs === undefined ? config.outputs.map((o) => o.name) : decoded.outputs.map((o) => o.name);
}
