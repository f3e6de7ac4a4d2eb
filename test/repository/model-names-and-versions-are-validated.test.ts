// Model names become paths inside the repository and versions become folder names, so both are
// checked strictly before any file is touched.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/errors/index.js';
import { assertValidModelName, isValidModelName, parseVersion } from '../../src/repository/model-name.js';

describe('model names', () => {
  it('accepts letters, digits, underscores, dashes and dots', () => {
    for (const name of ['simple', 'identity_fp32', 'resnet-50', 'v1.2', '_private', 'A', 'x'.repeat(128)]) {
      assert.equal(isValidModelName(name), true, name);
    }
  });

  it('refuses names that could escape the repository or are not folder names', () => {
    for (const name of ['', '.', '..', '.hidden', 'a/b', 'a\\b', 'a..b', '../etc', 'a b', 'x'.repeat(129), 'naïve']) {
      assert.equal(isValidModelName(name), false, JSON.stringify(name));
    }
  });

  it('throws an invalid-argument error that quotes the name', () => {
    assert.throws(
      () => assertValidModelName('../etc'),
      (err: unknown) =>
        err instanceof InferdError &&
        err.code === 'INF_ERR_INVALID_ARGUMENT' &&
        err.httpStatus === 400 &&
        err.message.includes('"../etc"'),
    );
  });
});

describe('versions', () => {
  it('parses positive decimal integers', () => {
    assert.equal(parseVersion('1'), 1);
    assert.equal(parseVersion('42'), 42);
    assert.equal(parseVersion('9007199254740991'), 9007199254740991);
  });

  it('refuses zero, signs, leading zeros, non-digits and unsafe integers', () => {
    for (const text of ['0', '-1', '+1', '01', '1.0', '1e3', 'v1', '', ' 1', '9007199254740993']) {
      assert.equal(parseVersion(text), undefined, JSON.stringify(text));
    }
  });
});
