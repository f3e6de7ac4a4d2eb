// The response cache keys on everything that decides an answer and keeps within its byte budget,
// dropping the least recently used entries first.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { cacheKey, ResponseCache } from '../../src/scheduler/response-cache.js';
import type { Tensor } from '../../src/tensor/tensor.js';

function req(values: number[], shape = [1, values.length], outputs = ['Y']): InferRequest {
  return {
    requestId: 'r',
    inputs: [{ name: 'X', datatype: 'FP32', shape, data: Float32Array.from(values) }],
    outputNames: outputs,
    batchSize: 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: 0n,
  };
}
const out = (n: number): Tensor[] => [{ name: 'Y', datatype: 'FP32', shape: [n], data: new Float32Array(n) }];

describe('response cache', () => {
  it('gives equal keys only to requests with equal model, version, inputs and outputs', () => {
    const k = cacheKey('m', '1', req([1, 2]));
    assert.equal(cacheKey('m', '1', req([1, 2])), k);
    assert.notEqual(cacheKey('m', '1', req([1, 3])), k);
    assert.notEqual(cacheKey('m', '1', req([1, 2], [2, 1])), k);
    assert.notEqual(cacheKey('m', '1', req([1, 2], [1, 2], ['Z'])), k);
    assert.notEqual(cacheKey('m', '2', req([1, 2])), k);
    assert.notEqual(cacheKey('n', '1', req([1, 2])), k);
  });

  it('evicts the least recently used entries to stay within its budget', () => {
    const cache = new ResponseCache(1000);
    cache.set('a', out(100)); // ~401 bytes
    cache.set('b', out(100));
    assert.ok(cache.get('a') !== undefined); // a is now the most recently used
    cache.set('c', out(100)); // needs room: b goes
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a') !== undefined);
    assert.ok(cache.get('c') !== undefined);
    assert.ok(cache.usedBytes <= 1000);
  });

  it('does not store an answer larger than the whole budget', () => {
    const cache = new ResponseCache(100);
    cache.set('big', out(1000));
    assert.equal(cache.get('big'), undefined);
    assert.equal(cache.usedBytes, 0);
  });
});
