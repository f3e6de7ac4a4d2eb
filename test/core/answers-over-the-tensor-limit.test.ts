// --max-tensor-size bounds tensors both ways: an answer with an output over it is refused with a
// 400 that names the output, its size and the limit, by the REST/WebSocket/batch encoder and by
// the gRPC encoder alike, before anything is encoded.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkOutputSizes } from '../../src/core/infer-body-encoder.js';
import { InferdError } from '../../src/errors/index.js';
import { makeTensor } from '../../src/tensor/tensor.js';

describe('answers over the tensor limit', () => {
  const big = makeTensor('OUTPUT0', 'FP32', [1, 1024], new Float32Array(1024));
  const small = makeTensor('OUTPUT1', 'FP32', [1, 4], new Float32Array(4));
  const text = makeTensor('TEXT', 'BYTES', [2], [new Uint8Array(100), new Uint8Array(100)]);

  it('refuses an output over the limit with a 400 naming it, its size and the limit', () => {
    assert.throws(
      () => checkOutputSizes([small, big], 4095),
      (err: unknown) =>
        err instanceof InferdError &&
        err.httpStatus === 400 &&
        /output 'OUTPUT0' of this answer is 4096 bytes \(shape \[1,1024\]\), over the limit of 4095 bytes \(--max-tensor-size\)/.test(
          err.message,
        ),
    );
  });

  it('lets outputs at the limit through, and measures BYTES with their length prefixes', () => {
    checkOutputSizes([small, big], 4096);
    checkOutputSizes([text], 208);
    assert.throws(() => checkOutputSizes([text], 207), /output 'TEXT' of this answer is 208 bytes/);
  });
});
