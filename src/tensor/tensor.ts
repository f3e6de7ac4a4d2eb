// The one tensor value that flows between protocol edges, the scheduler and the runtime.

import type { Datatype, TensorDataMap } from './datatype.js';

export interface Tensor<D extends Datatype = Datatype> {
  readonly name: string;
  readonly datatype: D;
  /** Concrete dimensions, row-major. A scalar has shape []. */
  readonly shape: readonly number[];
  readonly data: TensorDataMap[D];
}

/** Number of elements a shape holds (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
