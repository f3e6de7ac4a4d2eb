// Asserts that a call fails with a given InferdError code and a message matching a pattern.

import assert from 'node:assert/strict';

import { InferdError, type ErrorCode } from '../../src/errors/inferd-error.js';

export function assertInferdError(fn: () => unknown, code: ErrorCode, message: RegExp | string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InferdError, `expected an InferdError but got ${String(err)}`);
    assert.equal(err.code, code, `code of "${err.message}"`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}
