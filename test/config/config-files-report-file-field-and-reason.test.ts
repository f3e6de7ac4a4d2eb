// Reading a model's config file: every problem names the file, the field and the reason, and a
// YAML or JSON file that passes is returned with the schema's defaults filled in.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import type { ParsedModelConfig } from '../../src/config/model-config-schema.js';
import { readModelConfig, type Loaded } from '../../src/config/model-config-file.js';
import { scanModelFolder } from '../../src/repository/repository-scanner.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';

const repos: string[] = [];
after(async () => {
  await Promise.all(repos.map((r) => removeRepository(r)));
});

/** Writes one model folder (a placeholder model file plus the given files) and reads its config. */
async function readConfig(
  files: Record<string, string>,
  name = 'm',
): Promise<{ dir: string; result: Loaded<ParsedModelConfig> }> {
  const repo = await makeRepository([
    { path: `${name}/1/model.onnx`, bytes: 'not read here' },
    ...Object.entries(files).map(([p, bytes]) => ({ path: `${name}/${p}`, bytes })),
  ]);
  repos.push(repo);
  const folder = await scanModelFolder(repo, name);
  assert.ok(folder !== undefined);
  return { dir: path.join(repo, name), result: await readModelConfig(folder) };
}

function issuesOf(result: Loaded<ParsedModelConfig>): readonly ConfigIssue[] {
  assert.equal(result.ok, false, 'expected the config to be refused');
  return result.ok ? [] : result.issues;
}

describe('readModelConfig', () => {
  it('gives the defaults when there is no config file', async () => {
    const { result } = await readConfig({});
    assert.ok(result.ok);
    assert.deepEqual(result.value, { platform: 'onnxruntime_onnx', version_policy: { latest: { num_versions: 1 } } });
  });

  it('reads config.yaml', async () => {
    const { result } = await readConfig({
      'config.yaml': 'max_batch_size: 4\ninput:\n  - { name: X, data_type: TYPE_FP32, dims: [3, -1] }\n',
    });
    assert.ok(result.ok);
    assert.equal(result.value.max_batch_size, 4);
    assert.deepEqual(result.value.input, [{ name: 'X', data_type: 'TYPE_FP32', dims: [3, -1] }]);
  });

  it('reads config.json the same way', async () => {
    const { result } = await readConfig({
      'config.json': JSON.stringify({ max_batch_size: 4, version_policy: { all: {} } }),
    });
    assert.ok(result.ok);
    assert.equal(result.value.max_batch_size, 4);
    assert.deepEqual(result.value.version_policy, { all: {} });
  });

  it('reads config.yml too', async () => {
    const { result } = await readConfig({ 'config.yml': 'max_batch_size: 2\n' });
    assert.ok(result.ok);
    assert.equal(result.value.max_batch_size, 2);
  });

  it('refuses an unknown field and names it', async () => {
    const { dir, result } = await readConfig({ 'config.yaml': 'max_batch: 8\n' });
    assert.deepEqual(issuesOf(result), [
      { file: path.join(dir, 'config.yaml'), field: '', reason: "unknown field(s) 'max_batch'" },
    ]);
  });

  it('refuses an unknown field inside a tensor with the tensor as the field', async () => {
    const { result } = await readConfig({
      'config.yaml': 'input:\n  - { name: X, data_type: TYPE_FP32, dims: [3], shape: [3] }\n',
    });
    const [issue] = issuesOf(result);
    assert.equal(issue?.field, 'input[0]');
    assert.equal(issue?.reason, "unknown field(s) 'shape'");
  });

  it('refuses a wrong type with the field path', async () => {
    const { dir, result } = await readConfig({ 'config.yaml': 'max_batch_size: eight\n' });
    const issues = issuesOf(result);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.file, path.join(dir, 'config.yaml'));
    assert.equal(issues[0]?.field, 'max_batch_size');
    assert.match(issues[0]?.reason ?? '', /expected number, received string/);
  });

  it('refuses a bad dims value with the index of the dimension', async () => {
    const { result } = await readConfig({
      'config.yaml': 'output:\n  - { name: Y, data_type: TYPE_FP32, dims: [4, -2] }\n',
    });
    assert.deepEqual(
      issuesOf(result).map((i) => [i.field, i.reason]),
      [['output[0].dims[1]', 'dimensions are -1 (dynamic) or a non-negative size']],
    );
  });

  it('refuses a data_type that is not a TYPE_ name', async () => {
    const { result } = await readConfig({
      'config.yaml': 'input:\n  - { name: X, data_type: FP32, dims: [1] }\n',
    });
    const [issue] = issuesOf(result);
    assert.equal(issue?.field, 'input[0].data_type');
  });

  it('lists every problem of a file at once', async () => {
    const { result } = await readConfig({
      'config.yaml': 'max_batch_size: -1\ninstance_group: [{ count: 0 }]\n',
    });
    assert.deepEqual(
      issuesOf(result)
        .map((i) => i.field)
        .sort(),
      ['instance_group[0].count', 'max_batch_size'],
    );
  });

  it('refuses a name that differs from the folder', async () => {
    const { dir, result } = await readConfig({ 'config.yaml': 'name: other\n' }, 'mine');
    assert.deepEqual(issuesOf(result), [
      { file: path.join(dir, 'config.yaml'), field: 'name', reason: "'other' differs from the folder name 'mine'" },
    ]);
  });

  it('accepts a name equal to the folder', async () => {
    const { result } = await readConfig({ 'config.yaml': 'name: mine\n' }, 'mine');
    assert.equal(result.ok, true);
  });

  it('reports a YAML syntax error with its position', async () => {
    const { dir, result } = await readConfig({ 'config.yaml': 'max_batch_size: [8\ninput: {\n' });
    const [issue] = issuesOf(result);
    assert.equal(issue?.file, path.join(dir, 'config.yaml'));
    assert.equal(issue?.field, '');
    assert.match(issue?.reason ?? '', /^cannot parse: .*line 2, column 1/s);
  });

  it('reports a JSON syntax error', async () => {
    const { dir, result } = await readConfig({ 'config.json': '{"max_batch_size": 8,' });
    const [issue] = issuesOf(result);
    assert.equal(issue?.file, path.join(dir, 'config.json'));
    assert.match(issue?.reason ?? '', /^cannot parse: /);
  });

  it('refuses a file that is not a mapping', async () => {
    const { result } = await readConfig({ 'config.yaml': '- 1\n- 2\n' });
    assert.equal(issuesOf(result)[0]?.reason, 'expected a mapping of configuration fields');
  });

  it('treats an empty YAML file as no settings', async () => {
    const { result } = await readConfig({ 'config.yaml': '# nothing yet\n' });
    assert.equal(result.ok, true);
  });

  it('refuses two config files and names both', async () => {
    const { dir, result } = await readConfig({ 'config.yaml': 'max_batch_size: 1\n', 'config.json': '{}' });
    assert.deepEqual(issuesOf(result), [
      {
        file: path.join(dir, 'config.json'),
        field: '',
        reason: 'more than one config file (config.json, config.yaml); keep one',
      },
    ]);
  });
});
