// Result writers: CSV quoting and NULLs, JSON values (bigints, dates, float32 text), JSON lines,
// and a table that shows the first rows and counts the rest.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResultWriter, float32Text, type ResultFormat } from '../../src/sql/result-format.js';

const COLUMNS = [
  { name: 'id', type: 'BIGINT' },
  { name: 'note', type: 'VARCHAR' },
  { name: 'scores', type: 'FLOAT[]' },
];
const ROWS = [
  [1n, 'plain', [Math.fround(0.1), Math.fround(2.5)]],
  [2n, 'a, "quoted"\nline', null],
];

function render(format: ResultFormat, maxRows?: number): string {
  let out = '';
  const w = createResultWriter(format, (t) => (out += t), maxRows === undefined ? {} : { maxRows });
  w.columns(COLUMNS);
  w.rows(ROWS);
  w.end();
  return out;
}

describe('result formats', () => {
  it('prints float32 values as their shortest decimal', () => {
    assert.equal(float32Text(Math.fround(0.1)), '0.1');
    assert.equal(float32Text(Math.fround(1 / 3)), '0.33333334');
    assert.equal(float32Text(3), '3');
    assert.equal(float32Text(NaN), 'NaN');
  });

  it('CSV quotes fields with commas, quotes and newlines; NULL is empty', () => {
    assert.equal(render('csv'), 'id,note,scores\n1,plain,"[0.1, 2.5]"\n2,"a, ""quoted""\nline",\n');
  });

  it('JSON is an array of objects; JSON lines one object per line', () => {
    assert.deepEqual(JSON.parse(render('json')), [
      { id: 1, note: 'plain', scores: [0.1, 2.5] },
      { id: 2, note: 'a, "quoted"\nline', scores: null },
    ]);
    assert.deepEqual(
      render('jsonl')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
      JSON.parse(render('json')),
    );
    let empty = '';
    const w = createResultWriter('json', (t) => (empty += t));
    w.columns(COLUMNS);
    w.end();
    assert.equal(empty, '[]\n');
  });

  it('the table right-aligns numbers, shows NULL, and counts the rows it leaves out', () => {
    const full = render('table');
    assert.match(full, /│ {6}1 │ plain +│ \[0\.1, 2\.5\] │/);
    assert.match(full, /│ a, "quoted"\\nline │ NULL +│/);
    assert.match(full, /2 rows\n$/);
    assert.match(render('table', 1), /2 rows \(1 shown; --max-rows or --format csv for all\)\n$/);
  });
});
