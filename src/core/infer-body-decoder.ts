// Decodes a KServe v2 REST infer body — JSON, JSON + binary tensor data, or a raw single-input
// body — into tensors, checking every declared name, datatype and shape against the model
// before any tensor memory is allocated. The REST route, WebSocket stream messages and batch API
// lines all carry this body.

import type { SequenceControl } from './infer-request.js';
import { checkInputSet, checkInputSpec, findOutput } from './input-validation.js';
import { nonNegativeInt, parseRequestParameters, refuseSharedMemory } from './request-parameters.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import { decodeBinaryTensorData } from '../tensor/binary-codec.js';
import { ELEMENT_SIZE, isDatatype, type Datatype } from '../tensor/datatype.js';
import { decodeJsonTensorData } from '../tensor/json-codec.js';
import { checkTensorLimits, validateShape } from '../tensor/shape.js';
import { makeTensor, type Tensor } from '../tensor/tensor.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds, previewValue } from '../util/bounded-json.js';

export interface RequestedOutput {
  readonly name: string;
  readonly binary: boolean | undefined;
  /** Top-k for the classification extension; 0 = the raw tensor. */
  readonly classification: number;
}

export interface DecodedInferRequest {
  readonly id: string | undefined;
  readonly inputs: Tensor[];
  readonly batchSize: number;
  /** The outputs asked for, or undefined for all of them. */
  readonly outputs: RequestedOutput[] | undefined;
  /** `binary_data_output` request parameter, or true for raw requests. */
  readonly binaryOutputs: boolean;
  readonly priority: number;
  readonly timeoutUs: number;
  readonly sequence: SequenceControl | undefined;
  /** The `routing_key` parameter (experiments). */
  readonly routingKey: string | undefined;
}

export interface DecodeLimits {
  readonly maxTensorBytes: number;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parameters(v: unknown, where: string): Json {
  if (v === undefined) return {};
  if (!isObject(v)) throw invalidArgument(`${where} 'parameters' must be an object`);
  return v;
}

/**
 * Parses the header length Triton's binary extension sends. Undefined = plain JSON body.
 */
export function parseHeaderLength(header: string | string[] | undefined, bodyLength: number): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) {
    throw invalidArgument(`Inference-Header-Content-Length must be a non-negative integer, got ${previewValue(text)}`);
  }
  const n = Number(text.trim());
  if (n > bodyLength) {
    throw invalidArgument(`Inference-Header-Content-Length ${n} is past the end of the ${bodyLength}-byte body`);
  }
  return n;
}

export function decodeInferBody(
  config: ResolvedModelConfig,
  body: Buffer,
  headerLength: number | undefined,
  limits: DecodeLimits,
): DecodedInferRequest {
  if (headerLength === 0) return decodeRawBody(config, body, limits);
  const jsonEnd = headerLength ?? body.length;
  if (jsonDepthExceeds(body, MAX_JSON_DEPTH, 0, jsonEnd))
    throw new InferdError(
      'INF_ERR_MALFORMED_BODY',
      `request JSON nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the most inferd accepts`,
    );
  let request: unknown;
  try {
    request = JSON.parse(body.toString('utf8', 0, jsonEnd));
  } catch (err) {
    throw new InferdError('INF_ERR_MALFORMED_BODY', `malformed JSON in request body: ${(err as Error).message}`);
  }
  if (!isObject(request)) throw invalidArgument('request body must be a JSON object with an "inputs" array');

  const { id } = request;
  if (id !== undefined && typeof id !== 'string')
    throw invalidArgument(`request "id" must be a string, got ${previewValue(id)}`);
  const params = parameters(request.parameters, 'request');
  // The cheap request-level checks come first, before any input is decoded.
  const outputs = decodeRequestedOutputs(config, request.outputs);
  const binaryOutputs = params.binary_data_output ?? false;
  if (typeof binaryOutputs !== 'boolean') {
    throw invalidArgument(`parameter "binary_data_output" must be true or false, got ${previewValue(binaryOutputs)}`);
  }
  const { priority, timeoutUs, sequence, routingKey } = parseRequestParameters(params);

  const rawInputs = request.inputs;
  if (!Array.isArray(rawInputs) || rawInputs.length === 0)
    throw invalidArgument('request must have a non-empty "inputs" array');

  let offset = jsonEnd;
  const inputs: Tensor[] = [];
  const batchSizes: number[] = [];
  for (const [i, raw] of rawInputs.entries()) {
    if (!isObject(raw)) throw invalidArgument(`inputs[${i}] must be an object`);
    const { name, datatype } = raw;
    if (typeof name !== 'string' || name === '') throw invalidArgument(`inputs[${i}] needs a "name" string`);
    if (!isDatatype(datatype)) {
      throw invalidArgument(
        `input '${name}' has unknown datatype ${previewValue(datatype)}; expected one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES, BF16`,
      );
    }
    const shape = validateShape(name, raw.shape);
    batchSizes.push(checkInputSpec(config, name, datatype, shape));
    checkTensorLimits(name, datatype, shape, limits.maxTensorBytes);
    const inputParams = parameters(raw.parameters, `input '${name}'`);
    refuseSharedMemory(inputParams, `input '${name}'`);
    const binarySize = inputParams.binary_data_size;
    if (binarySize !== undefined) {
      if (headerLength === undefined) {
        throw invalidArgument(
          `input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header`,
        );
      }
      const size = nonNegativeInt(binarySize, `input '${name}' binary_data_size`);
      if (raw.data !== undefined)
        throw invalidArgument(`input '${name}' has both "data" and binary_data_size; give one`);
      if (offset + size > body.length) {
        throw invalidArgument(
          `binary data for input '${name}' (${size} bytes at offset ${offset}) runs past the end of the ${body.length}-byte body`,
        );
      }
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      inputs.push(makeTensor(name, datatype, shape, decodeBinaryTensorData(name, datatype, shape, bytes)));
    } else {
      if (raw.data === undefined) throw invalidArgument(`input '${name}' has no "data" (and no binary_data_size)`);
      inputs.push(
        makeTensor(name, datatype, shape, decodeJsonTensorData(name, datatype, shape, raw.data, limits.maxTensorBytes)),
      );
    }
  }
  if (offset !== body.length) {
    throw invalidArgument(`request body has ${body.length - offset} bytes after the tensor data that no input claims`);
  }
  const batchSize = checkInputSet(
    config,
    inputs.map((t) => t.name),
    batchSizes,
  );

  return {
    id,
    inputs,
    batchSize,
    outputs,
    binaryOutputs,
    priority,
    timeoutUs,
    sequence,
    routingKey,
  };
}

function decodeRequestedOutputs(config: ResolvedModelConfig, raw: unknown): RequestedOutput[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw invalidArgument('"outputs" must be an array');
  // An empty list asks for nothing in particular: every output, as when "outputs" is absent.
  if (raw.length === 0) return undefined;
  const seen = new Set<string>();
  return raw.map((o, i) => {
    if (!isObject(o) || typeof o.name !== 'string') throw invalidArgument(`outputs[${i}] needs a "name" string`);
    const spec = findOutput(config, o.name);
    if (seen.has(o.name)) throw invalidArgument(`output '${o.name}' is requested more than once`);
    seen.add(o.name);
    const p = parameters(o.parameters, `output '${o.name}'`);
    refuseSharedMemory(p, `output '${o.name}'`);
    const binary = p.binary_data;
    if (binary !== undefined && typeof binary !== 'boolean')
      throw invalidArgument(`output '${o.name}' binary_data must be true or false`);
    const classification =
      p.classification === undefined ? 0 : nonNegativeInt(p.classification, `output '${o.name}' classification`);
    // Refused here rather than after the model has run (classify() repeats the check).
    if (classification > 0 && spec.datatype === 'BYTES')
      throw invalidArgument(`output '${o.name}' is BYTES and cannot be classified`);
    return { name: o.name, binary, classification };
  });
}

/**
 * A raw body (Inference-Header-Content-Length: 0) is the bytes of the only input, batch 1. One
 * dynamic dimension may be inferred from the byte length for fixed-width types.
 */
function decodeRawBody(config: ResolvedModelConfig, body: Buffer, limits: DecodeLimits): DecodedInferRequest {
  const [spec, ...rest] = config.inputs;
  if (spec === undefined || rest.length > 0) {
    throw invalidArgument(
      `a raw binary request (Inference-Header-Content-Length: 0) needs a model with one input; '${config.name}' has ${config.inputs.length}`,
    );
  }
  const dims = [...(config.maxBatchSize > 0 ? [1] : []), ...spec.dims];
  const dynamic = dims.filter((d) => d === -1).length;
  const datatype: Datatype = spec.datatype;
  if (dynamic > 0) {
    if (datatype === 'BYTES' || dynamic > 1) {
      throw invalidArgument(
        `a raw binary request cannot infer the shape of input '${spec.name}' ${JSON.stringify(dims)}; send a JSON header with its shape`,
      );
    }
    const known = dims.reduce((n, d) => (d === -1 ? n : n * d), 1) * ELEMENT_SIZE[datatype];
    if (known === 0 || body.length % known !== 0) {
      throw invalidArgument(
        `raw body of ${body.length} bytes is not a whole number of ${datatype} rows for input '${spec.name}' ${JSON.stringify(dims)}`,
      );
    }
    dims[dims.indexOf(-1)] = body.length / known;
  }
  const shape = dims;
  checkInputSpec(config, spec.name, datatype, shape);
  checkTensorLimits(spec.name, datatype, shape, limits.maxTensorBytes);
  const data = decodeBinaryTensorData(spec.name, datatype, shape, body);
  return {
    id: undefined,
    inputs: [makeTensor(spec.name, datatype, shape, data)],
    batchSize: 1,
    outputs: undefined,
    binaryOutputs: true,
    priority: 0,
    timeoutUs: 0,
    sequence: undefined,
    routingKey: undefined,
  };
}
