// `inferd infer` prints its answer as JSON a person can read: indented, with each array of plain
// values (a tensor's data, its shape) on one line. It stays JSON: parsing it gives the answer back.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readableJson } from '../../src/cli/infer-command.js';

describe('readableJson', () => {
  it('puts a tensor on one line and nests the rest', () => {
    const text = readableJson({
      model_name: 'simple',
      outputs: [{ name: 'OUTPUT0', shape: [1, 4], data: [2, 3, 4, 5] }],
    });
    assert.equal(
      text,
      [
        '{',
        '  "model_name": "simple",',
        '  "outputs": [',
        '    {',
        '      "name": "OUTPUT0",',
        '      "shape": [1,4],',
        '      "data": [2,3,4,5]',
        '    }',
        '  ]',
        '}',
      ].join('\n'),
    );
  });

  it('parses back to the same value, whatever the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepEqual(JSON.parse(readableJson(value)), JSON.parse(JSON.stringify(value)));
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });
});
