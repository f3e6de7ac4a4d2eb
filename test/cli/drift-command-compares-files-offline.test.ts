// `inferd drift --reference a.jsonl --current b.jsonl` tests every feature offline with the
// server's statistics, prints a table and exits 1 when drift is flagged, 0 when not.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inferdFromSource } from '../helpers/cli-from-source.js';
import { normals } from '../monitoring/drift-fixtures.js';

function jsonl(file: string, rows: number, seed: number, shift: number): string {
  const draw = normals(seed);
  const lines = Array.from({ length: rows }, () =>
    JSON.stringify({ input: [draw(), draw() + shift, draw()], segment: Math.floor(Math.abs(draw()) * 2) }),
  );
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('inferd drift, offline', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'inferd-drift-cli-'));
  const reference = jsonl(path.join(dir, 'reference.jsonl'), 2_000, 1, 0);

  it('exits 0 with no drift between samples of one distribution', async () => {
    const r = await inferdFromSource([
      'drift',
      '--reference',
      reference,
      '--current',
      jsonl(path.join(dir, 'same.jsonl'), 500, 2, 0),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^feature\s+test\s+statistic\s+p-value/m);
    assert.match(r.stdout, /^input\[1\]\s+ks\s+0\.\d+/m);
    assert.match(r.stdout, /^segment\[0\]\s+chi2/m, 'an integer column with few values is categorical');
    assert.match(r.stdout, /no drift at α = 0\.01 \(4 features, each tested at α\/4\)/);
  });

  it('exits 1 and marks the feature that moved', async () => {
    const r = await inferdFromSource([
      'drift',
      '--reference',
      reference,
      '--current',
      jsonl(path.join(dir, 'moved.jsonl'), 500, 3, 0.5),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^input\[1\].*DRIFT$/m);
    assert.match(r.stdout, /^input\[0\].*ok$/m);
  });

  it('names the file, line and reason of a bad row', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"input": [1, 2, 3], "segment": 1}\n{"input": [1, 2], "segment": 1}\n');
    const r = await inferdFromSource(['drift', '--reference', reference, '--current', bad]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2: 'input' has 2 values, expected 3`),
    );
  });
});
