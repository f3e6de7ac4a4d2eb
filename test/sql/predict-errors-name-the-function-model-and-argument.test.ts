// Mistakes in predict() calls fail the query with messages that name the function, the model and
// the argument: unknown models and outputs, wrong argument counts, list widths and types.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqlEngine } from '../../src/sql/sql-engine.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

describe('predict() errors', () => {
  let engine: SqlEngine;

  before(async () => {
    engine = await SqlEngine.open({ modelRepository: EXAMPLES_DIR, cpuCores: 2 });
  });

  after(async () => {
    await engine?.close();
  });

  const fails = async (sql: string, message: RegExp): Promise<void> => {
    await assert.rejects(engine.query(sql), (err: Error) => {
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /__inferd_/, 'internal function names do not leak');
      return true;
    });
  };

  it('an unknown model', async () => {
    await fails("SELECT predict('no_such_model', 1)", /^predict\('no_such_model'\): no model folder 'no_such_model'/);
  });

  it('an unknown output of predict_output', async () => {
    await fails(
      "SELECT predict_output('iris', 'logits', 1, 2, 3, 4)",
      /predict_output\('iris', 'logits'\): model 'iris' has no output 'logits'; it has 'probabilities'/,
    );
  });

  it('predict_label on a model without a labels file', async () => {
    await fails("SELECT predict_label('mlp', [1, 2])", /predict_label\('mlp'\): model 'mlp' has no labels file/);
  });

  it('the wrong number of arguments', async () => {
    await fails(
      "SELECT predict('iris', 1, 2, 3)",
      /predict\('iris'\): 3 arguments after the model name, but model 'iris' input 'input' \(FP32, 4 values per row\) takes 4 numeric arguments or one LIST\/ARRAY of 4/,
    );
  });

  it('a list of the wrong width', async () => {
    await fails(
      "SELECT predict('iris', [1, 2, 3]) FROM range(3)",
      /predict\('iris'\): argument 2 has 3 elements in a row, but input 'input' of model 'iris' takes 4 per row/,
    );
  });

  it('a non-numeric column', async () => {
    await fails(
      "SELECT predict('iris', s, 2, 3, 4) FROM (VALUES ('a')) t(s)",
      /predict\('iris'\): argument 2 is VARCHAR, but model 'iris' input needs a number/,
    );
  });

  it('a scalar where the model takes a list', async () => {
    await fails(
      "SELECT predict('mlp', x) FROM (VALUES (1.5)) t(x)",
      /predict\('mlp'\): argument 2 is DECIMAL\(2,1\), but model 'mlp' input needs a LIST\/ARRAY of numbers/,
    );
  });

  it('keeps DuckDB errors readable, in terms of the SQL as written', async () => {
    await fails(
      "SELECT predict('iris', 1, 2, 3, 4) FROM no_such_table",
      /Table with name no_such_table does not exist/,
    );
    await fails(
      "SELECT predict('iris', no_such_column, 2, 3, 4) FROM range(1)",
      // The caret stays under the column in the SQL as written.
      /LINE 1: SELECT predict\('iris', no_such_column, 2, 3, 4\) FROM range\(1\)\n {31}\^/,
    );
  });

  it('still answers after a failed query', async () => {
    const r = await engine.query("SELECT predict_label('iris', 5.1, 3.5, 1.4, 0.2) AS s");
    assert.deepEqual(r.rows, [['setosa']]);
  });
});
