// `inferd models list` loads the repository as the server would and lists every model with its
// state, versions and tensors, as a table or as JSON.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT, runCli, type CliResult } from './run-cli.js';

const EXAMPLE_MODELS = readdirSync(path.join(ROOT, 'examples', 'models'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

interface ListRow {
  name: string;
  version: string;
  state: string;
  reason: string;
  task: string;
  inputs: string;
  outputs: string;
}

describe('inferd models list examples/models', () => {
  let table: CliResult;
  let json: CliResult;

  before(async () => {
    [table, json] = await Promise.all([
      runCli(['models', 'list', 'examples/models']),
      runCli(['models', 'list', 'examples/models', '--json']),
    ]);
  });

  it('takes the repository as -m too, as every other command does', async () => {
    const withFlag = await runCli(['models', 'list', '-m', 'examples/models', '--json']);
    assert.equal(withFlag.code, 0, withFlag.stderr);
    assert.deepEqual(JSON.parse(withFlag.stdout), JSON.parse(json.stdout));
    const validate = await runCli(['models', 'validate', '-m', 'examples/models', 'simple', 'iris']);
    assert.equal(validate.code, 0, validate.stderr);
    assert.deepEqual(Object.keys(JSON.parse(validate.stdout) as object), ['iris/1', 'simple/1']);
  });

  it('exits 0 with nothing on stderr', () => {
    assert.equal(table.code, 0, table.stderr);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(table.stderr, '');
  });

  it('prints a header and one READY row per example model', () => {
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^MODEL\s+VERSION\s+STATE\s+TASK\s+INPUTS -> OUTPUTS \/ REASON$/);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    assert.deepEqual(
      rows.map((r) => r[0]),
      EXAMPLE_MODELS,
    );
    for (const r of rows) assert.deepEqual([r[1], r[2]], ['1', 'READY'], r.join(' '));
    assert.ok(EXAMPLE_MODELS.length >= 16);
  });

  it('shows inputs and outputs with datatypes and batch shapes', () => {
    const simple = table.stdout.split('\n').find((l) => l.startsWith('simple '));
    assert.match(
      simple ?? '',
      /READY\s+tensor\s+INPUT0:INT32\[-1,16\] INPUT1:INT32\[-1,16\] -> OUTPUT0:INT32\[-1,16\] OUTPUT1:INT32\[-1,16\]$/,
    );
  });

  it('shows what text-generation and embedding models take and give', () => {
    const rows = JSON.parse(json.stdout) as ListRow[];
    const tiny = rows.find((r) => r.name === 'kjv-tiny');
    assert.deepEqual(
      [tiny?.task, tiny?.inputs, tiny?.outputs],
      ['text-generation', 'text (prompt or chat messages)', 'text'],
    );
    const embed = rows.find((r) => r.name === 'kjv-embed');
    assert.equal(embed?.task, 'embedding');
    assert.match(embed?.inputs ?? '', /^text via \/v1\/embeddings, or input_ids:INT64/);
  });

  it('prints the same rows as parseable JSON with --json', () => {
    const rows = JSON.parse(json.stdout) as ListRow[];
    assert.deepEqual(
      rows.map((r) => [r.name, r.version, r.state, r.reason]),
      EXAMPLE_MODELS.map((m) => [m, '1', 'READY', '']),
    );
    assert.deepEqual(
      rows.find((r) => r.name === 'iris'),
      {
        name: 'iris',
        version: '1',
        state: 'READY',
        reason: '',
        task: 'tensor',
        inputs: 'input:FP32[-1,4]',
        outputs: 'probabilities:FP32[-1,3]',
      },
    );
  });
});
