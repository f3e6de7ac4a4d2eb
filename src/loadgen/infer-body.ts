// KServe v2 infer request bodies for the load loop, built once and sent unchanged: plain JSON,
// or the binary tensor data extension (a JSON header whose length goes in
// Inference-Header-Content-Length, then each tensor's raw bytes), with the outputs asked for in
// the same encoding. Spec: Triton's binary_tensor_data extension.

import { binaryByteSize, encodeBinaryTensorData } from '../tensor/binary-codec.js';
import { jsonTensorDataString } from '../tensor/json-encode.js';
import type { Tensor } from '../tensor/tensor.js';

export type BodyEncoding = 'json' | 'binary';

export interface InferBody {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export function buildInferBody(inputs: readonly Tensor[], encoding: BodyEncoding): InferBody {
  if (encoding === 'json') {
    // jsonTensorDataString writes exact text (64-bit integers keep every digit).
    const parts = inputs.map(
      (t) =>
        `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":${JSON.stringify(t.shape)},` +
        `"data":${jsonTensorDataString(t.datatype, t.data)}}`,
    );
    return {
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(`{"inputs":[${parts.join(',')}]}`, 'utf8'),
    };
  }
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: binaryByteSize(t.datatype, t.data) },
      })),
      parameters: { binary_data_output: true },
    }),
    'utf8',
  );
  const blobs = inputs.map((t) => encodeBinaryTensorData(t.datatype, t.data));
  return {
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
    body: Buffer.concat([header, ...blobs]),
  };
}
