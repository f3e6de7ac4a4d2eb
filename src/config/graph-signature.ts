// What a model file declares of its inputs and outputs, in the protocol's terms: the runtime
// describes an opened graph this way, and the config is completed and checked against it.

import type { Datatype } from '../tensor/datatype.js';

export interface GraphTensor {
  readonly name: string;
  /** False for sequences, maps and other values that are not tensors. */
  readonly isTensor: boolean;
  /** The v2 datatype of its elements; undefined when the protocol cannot carry them (e.g. BF16). */
  readonly datatype: Datatype | undefined;
  /** The model file's own name for the element type, for messages ('float32', 'non-tensor', ...). */
  readonly elementType: string;
  /** -1 for symbolic or unknown dimensions. */
  readonly shape: readonly number[];
}

export interface GraphSignature {
  readonly inputs: readonly GraphTensor[];
  readonly outputs: readonly GraphTensor[];
}
