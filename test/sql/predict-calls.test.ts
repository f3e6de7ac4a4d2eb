// The SQL scanner finds predict-family calls with their model (and output) literals and argument
// counts, ignores look-alikes in strings, comments and quoted identifiers, and rewrites the calls.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPredictCalls, rewritePredictCalls } from '../../src/sql/predict-calls.js';

describe('findPredictCalls', () => {
  it('finds each call with its model, output and the number of arguments after the names', () => {
    const sql = `SELECT predict('iris', a, b, c, d), PREDICT_LABEL( 'iris' , [1, 2, 3, 4]),
                 predict_output('mlp', 'logits', f(x, y)) FROM t`;
    const calls = findPredictCalls(sql).map(({ kind, model, output, argCount }) => ({ kind, model, output, argCount }));
    assert.deepEqual(calls, [
      { kind: 'predict', model: 'iris', output: undefined, argCount: 4 },
      { kind: 'predict_label', model: 'iris', output: undefined, argCount: 1 },
      { kind: 'predict_output', model: 'mlp', output: 'logits', argCount: 1 },
    ]);
  });

  it('finds nested calls and unescapes quotes in model names', () => {
    const calls = findPredictCalls(`SELECT predict('a''b', predict('c', x)) FROM t`);
    assert.deepEqual(
      calls.map((c) => [c.model, c.argCount]),
      [
        ["a'b", 1],
        ['c', 1],
      ],
    );
  });

  it('ignores strings, comments, quoted identifiers, qualified names and names that are not calls', () => {
    const sql = `SELECT 'predict(''x'', 1)', "predict"('y', 1), s.predict('z', 1), predict_x('w', 1), predict
                 -- predict('c', 1)
                 /* predict('d', 1) */ FROM t`;
    assert.deepEqual(findPredictCalls(sql), []);
  });

  it('ignores calls inside dollar-quoted strings and nested block comments, as DuckDB reads them', () => {
    const sql = `SELECT $$predict('x', 1)$$, $tag$it's predict('y', 1)$tag$,
                 /* a /* b */ predict('z', 1) */ predict('iris', $$v$$) FROM t`;
    assert.deepEqual(
      findPredictCalls(sql).map((c) => [c.model, c.argCount]),
      [['iris', 1]],
    );
    assert.deepEqual(
      findPredictCalls('SELECT predict($m$iris$m$, a, $1) FROM t').map((c) => [c.model, c.argCount]),
      [['iris', 2]],
    );
    assert.throws(() => findPredictCalls("SELECT $q$predict('x', 1)"), /unterminated dollar-quoted string/);
  });

  it('refuses a model name that is not a string literal, and a call with no inputs', () => {
    assert.throws(
      () => findPredictCalls('SELECT predict(m, x) FROM t'),
      /predict\(\): the model name must be a string literal/,
    );
    assert.throws(
      () => findPredictCalls("SELECT predict_output('mlp', x)"),
      /the output name must be a string literal/,
    );
    assert.throws(
      () => findPredictCalls("SELECT predict('iris')"),
      /predict\('iris'\): give the model's inputs as arguments/,
    );
  });

  it('rewrites each call to the given function, keeping the arguments as written', () => {
    const sql = `SELECT predict('a', predict_label('b', x, y)) AS p FROM t`;
    const calls = findPredictCalls(sql);
    assert.equal(rewritePredictCalls(sql, calls, ['f0', 'f1']), 'SELECT f0( f1( x, y)) AS p FROM t');
  });
});
