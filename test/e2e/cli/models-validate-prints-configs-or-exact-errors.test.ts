// `inferd models validate` prints each model's resolved config and exits 0 when all load; with a
// broken model it exits 1, names the file, field and reason on stderr and in the JSON, and still
// prints the configs of the models that load.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository } from '../../helpers/repository-files.js';
import { brokenCases, reasonMatches } from '../repository/fixtures.js';
import { runCli, type CliResult } from './run-cli.js';

interface ConfigView {
  name: string;
  max_batch_size: number;
  input: { name: string; data_type: string; dims: number[] }[];
}

describe('inferd models validate', () => {
  const cases = brokenCases();
  let repo = '';
  let examples: CliResult;
  let broken: CliResult;
  let some: CliResult;

  before(async () => {
    repo = await makeRepository([...simpleModel(), ...cases.flatMap((c) => c.files)]);
    [examples, broken, some] = await Promise.all([
      runCli(['models', 'validate', 'examples/models']),
      runCli(['models', 'validate', repo]),
      runCli(['models', 'validate', repo, 'simple', 'wrong_type']),
    ]);
  });

  after(async () => {
    await removeRepository(repo);
  });

  it('exits 0 on the examples and prints every resolved config', () => {
    assert.equal(examples.code, 0, examples.stderr);
    assert.equal(examples.stderr, '');
    const configs = JSON.parse(examples.stdout) as Record<string, ConfigView>;
    assert.ok(Object.keys(configs).length >= 16);
    for (const [key, config] of Object.entries(configs)) assert.equal(key, `${config.name}/1`);
    assert.equal(configs['simple/1']?.max_batch_size, 8);
    assert.deepEqual(configs['simple/1']?.input[0], { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] });
    // Completed from the graph: no config file beside it.
    assert.equal(configs['identity_fp16/1']?.max_batch_size, 64);
    assert.deepEqual(configs['identity_fp16/1']?.input[0], { name: 'INPUT0', data_type: 'TYPE_FP16', dims: [-1] });
  });

  it('exits 1 when any model fails', () => {
    assert.equal(broken.code, 1);
  });

  it('names the file and field of each failure on stderr', () => {
    for (const c of cases) {
      const prefix = `${c.name}: ${path.join(repo, c.file)}: ${c.field === '' ? '' : `${c.field}: `}`;
      assert.ok(
        broken.stderr.split('\n').some((l) => l.startsWith(prefix)),
        `stderr lacks "${prefix}":\n${broken.stderr}`,
      );
    }
  });

  it('gives each failure with its full reason in the JSON, beside the configs that load', () => {
    const result = JSON.parse(broken.stdout) as Record<string, { error?: string; name?: string }>;
    assert.deepEqual(Object.keys(result).sort(), [...cases.map((c) => c.name), 'simple/1'].sort());
    assert.equal(result['simple/1']?.name, 'simple');
    for (const c of cases) {
      const reason = result[c.name]?.error ?? '';
      assert.ok(reasonMatches(repo, c, reason), `${c.name}: ${reason}`);
    }
  });

  it('checks only the models named', () => {
    assert.equal(some.code, 1);
    assert.deepEqual(Object.keys(JSON.parse(some.stdout) as object).sort(), ['simple/1', 'wrong_type']);
    assert.equal(some.stderr.trimEnd().split('\n').length, 1);
    assert.match(some.stderr, /^wrong_type: .*wrong_type\/config\.yaml: max_batch_size: /);
  });
});
