// The one retry policy of the batch API's runner and `inferd batch run`: a full queue is retried for
// as long as it lasts, an unavailable model for a bounded number of tries, everything else (the
// request's own fault, a model failure, a cancellation) never; waits double from 50 ms up to 2 s.
// The same refusals are the ones the error table gives a Retry-After.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffMs,
  ERROR_CODES,
  InferdError,
  isTransient,
  MAX_UNAVAILABLE_TRIES,
  retryDelayMs,
  type ErrorCode,
} from '../../src/errors/index.js';

const err = (code: ErrorCode, headers?: Record<string, string>) =>
  new InferdError(code, code, headers === undefined ? undefined : { headers });

describe('retry policy', () => {
  it('calls exactly the full queue and the unavailable model or server transient', () => {
    const transient = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => isTransient(err(c)));
    assert.deepEqual(transient.sort(), ['INF_ERR_MODEL_UNAVAILABLE', 'INF_ERR_QUEUE_FULL', 'INF_ERR_UNAVAILABLE']);
    assert.equal(isTransient(new Error('INF_ERR_QUEUE_FULL')), false);
    assert.equal(isTransient({ code: 'INF_ERR_QUEUE_FULL' }), false);
  });

  it('retries the schedulers’ full queue (with its Retry-After header) without end', () => {
    const full = err('INF_ERR_QUEUE_FULL', { 'retry-after': '1' });
    for (const attempt of [0, 1, 7, 8, 100, 10_000]) assert.ok(retryDelayMs(full, attempt) !== undefined, `${attempt}`);
  });

  it(`retries an unavailable model or server for ${MAX_UNAVAILABLE_TRIES} tries in all`, () => {
    for (const code of ['INF_ERR_MODEL_UNAVAILABLE', 'INF_ERR_UNAVAILABLE'] as const) {
      const tried: number[] = [];
      for (let attempt = 0; retryDelayMs(err(code), attempt) !== undefined; attempt++) tried.push(attempt);
      assert.equal(tried.length + 1, MAX_UNAVAILABLE_TRIES, code);
      assert.equal(MAX_UNAVAILABLE_TRIES, 8);
    }
  });

  it('never retries the request’s own errors, model failures, deadlines, cancellations or unknown throws', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (isTransient(err(code))) continue;
      assert.equal(retryDelayMs(err(code), 0), undefined, code);
    }
    assert.equal(retryDelayMs(new Error('boom'), 0), undefined);
    assert.equal(retryDelayMs(undefined, 0), undefined);
  });

  it('waits 50 ms, doubling at each try, never more than 2 s', () => {
    const waits = Array.from({ length: 9 }, (_, attempt) => retryDelayMs(err('INF_ERR_QUEUE_FULL'), attempt));
    assert.deepEqual(waits, [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    assert.equal(backoffMs(1_000_000), 2000);
    assert.equal(retryDelayMs(err('INF_ERR_UNAVAILABLE'), 3), backoffMs(3));
  });
});

describe('error table', () => {
  it('gives every 429 and 503 the default Retry-After of 1 s, and no other code one', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const e = err(code);
      const refusal = e.httpStatus === 429 || e.httpStatus === 503;
      assert.equal(e.retryAfterSeconds, refusal ? 1 : undefined, code);
    }
  });
});
