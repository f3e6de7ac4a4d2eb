// onnxruntime string tensors hold UTF-8 text and end each element at its first NUL, so BYTES
// elements that are not valid UTF-8 or contain a NUL would be changed silently. They are refused.

import { invalidArgument } from '../errors/index.js';
import type { Tensor } from '../tensor/tensor.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Throws INF_ERR_INVALID_ARGUMENT naming the element when a BYTES input cannot reach the model intact. */
export function assertStringTensorCarriable(tensor: Tensor): void {
  if (tensor.datatype !== 'BYTES') return;
  const elements = tensor.data;
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i] ?? new Uint8Array(0);
    if (e.includes(0)) {
      throw invalidArgument(
        `input '${tensor.name}': BYTES element ${i} contains a NUL byte, which ONNX string tensors cannot carry`,
      );
    }
    try {
      strictUtf8.decode(e);
    } catch {
      throw invalidArgument(
        `input '${tensor.name}': BYTES element ${i} is not valid UTF-8; ONNX string tensors carry UTF-8 text only`,
      );
    }
  }
}
