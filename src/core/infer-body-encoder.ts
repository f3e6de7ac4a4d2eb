// Encodes an infer result as a KServe v2 REST response: JSON, or JSON header plus binary tensor
// data (Inference-Header-Content-Length), with classification applied where asked. Shared by the
// REST route, WebSocket stream replies and batch API output lines.

import { classify } from '../pipeline/classification.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { binaryByteSize, writeBinaryTensorData } from '../tensor/binary-codec.js';
import { jsonTensorDataString } from '../tensor/json-codec.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DecodedInferRequest } from './infer-body-decoder.js';
import { InferdError } from '../errors/index.js';

/**
 * Refuses an answer with an output over `maxTensorBytes` (--max-tensor-size bounds tensors both
 * ways): a model whose output size depends on an input value cannot make one request hold an
 * unbounded answer. Checked on the result, before it is encoded.
 */
export function checkOutputSizes(outputs: readonly Tensor[], maxTensorBytes: number): void {
  for (const t of outputs) {
    const bytes = binaryByteSize(t.datatype, t.data);
    if (bytes > maxTensorBytes)
      throw new InferdError(
        'INF_ERR_TENSOR_TOO_LARGE',
        `output '${t.name}' of this answer is ${bytes} bytes (shape [${t.shape.join(',')}]), over the limit of ${maxTensorBytes} bytes (--max-tensor-size); ask for less, e.g. a smaller input`,
      );
  }
}

/** What the encoder needs of a model version. */
export interface EncodingModel {
  readonly name: string;
  readonly version: number;
  readonly config: ResolvedModelConfig;
  /** Classification labels per output name. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

export interface EncodedResponse {
  readonly body: Buffer | string;
  /** Set when binary tensor data follows the JSON header. */
  readonly headerLength: number | undefined;
}

/** Names of the outputs to compute: the requested ones, else all in config order. */
export function outputNamesFor(mv: EncodingModel, req: DecodedInferRequest): string[] {
  return req.outputs === undefined ? mv.config.outputs.map((o) => o.name) : req.outputs.map((o) => o.name);
}

export function encodeInferResponse(
  mv: EncodingModel,
  req: DecodedInferRequest,
  outputs: readonly Tensor[],
  limits: { readonly maxTensorBytes: number },
): EncodedResponse {
  checkOutputSizes(outputs, limits.maxTensorBytes);
  const byName = new Map(outputs.map((t) => [t.name, t]));
  const names = outputNamesFor(mv, req);
  const parts: string[] = [];
  const blobs: Tensor[] = [];
  for (const name of names) {
    const requested = req.outputs?.find((o) => o.name === name);
    let tensor = byName.get(name);
    if (tensor === undefined) continue;
    if (requested !== undefined && requested.classification > 0) {
      tensor = classify(tensor, requested.classification, mv.config.maxBatchSize > 0, mv.labels.get(name));
    }
    const binary = requested?.binary ?? req.binaryOutputs;
    const head = `{"name":${JSON.stringify(name)},"datatype":"${tensor.datatype}","shape":[${tensor.shape.join(',')}]`;
    if (binary) {
      parts.push(`${head},"parameters":{"binary_data_size":${binaryByteSize(tensor.datatype, tensor.data)}}}`);
      blobs.push(tensor);
    } else {
      parts.push(`${head},"data":${jsonTensorDataString(tensor.datatype, tensor.data, { name })}}`);
    }
  }
  const idPart = req.id === undefined || req.id === '' ? '' : `,"id":${JSON.stringify(req.id)}`;
  const json = `{"model_name":${JSON.stringify(mv.name)},"model_version":"${mv.version}"${idPart},"outputs":[${parts.join(',')}]}`;
  if (blobs.length === 0) return { body: json, headerLength: undefined };

  const header = Buffer.from(json, 'utf8');
  let total = header.length;
  for (const t of blobs) total += binaryByteSize(t.datatype, t.data);
  const body = Buffer.allocUnsafe(total);
  header.copy(body, 0);
  let offset = header.length;
  for (const t of blobs) offset = writeBinaryTensorData(t.datatype, t.data, body, offset);
  return { body, headerLength: header.length };
}
