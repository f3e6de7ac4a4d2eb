// Builds a ModelInferResponse: every output in raw_output_contents (the binary tensor format), as
// Triton's gRPC endpoint answers, with classification applied where asked.

import { checkOutputSizes } from '../../core/infer-body-encoder.js';
import { classify } from '../../pipeline/classification.js';
import type { ModelVersion } from '../../model-kinds/model-version.js';
import { encodeBinaryTensorData } from '../../tensor/binary-codec.js';
import type { Tensor } from '../../tensor/tensor.js';
import { outputNamesFor, type DecodedGrpcRequest } from './infer-request-decoder.js';
import type { InferOutputTensor, ModelInferResponse } from './wire-types.js';

export function encodeModelInferResponse(
  mv: ModelVersion,
  id: string,
  decoded: DecodedGrpcRequest,
  results: readonly Tensor[],
  limits: { readonly maxTensorBytes: number },
): ModelInferResponse {
  checkOutputSizes(results, limits.maxTensorBytes);
  const byName = new Map(results.map((t) => [t.name, t]));
  const outputs: InferOutputTensor[] = [];
  const raw: Uint8Array[] = [];
  for (const name of outputNamesFor(mv.config, decoded)) {
    let tensor = byName.get(name);
    if (tensor === undefined) continue;
    const k = decoded.outputs?.find((o) => o.name === name)?.classification ?? 0;
    if (k > 0) tensor = classify(tensor, k, mv.config.maxBatchSize > 0, mv.labels.get(name));
    outputs.push({ name, datatype: tensor.datatype, shape: tensor.shape });
    // Fixed-width data is a byte view of the result (no copy); BYTES is framed once.
    raw.push(encodeBinaryTensorData(tensor.datatype, tensor.data));
  }
  return { model_name: mv.name, model_version: String(mv.version), id, outputs, raw_output_contents: raw };
}
