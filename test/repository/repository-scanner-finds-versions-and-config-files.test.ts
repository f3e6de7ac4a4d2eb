// Scanning the repository layout: model folders, version folders holding a model file, config
// files, and a fingerprint that changes when any of them does (what poll mode watches).

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { listModelNames, scanModelFolder } from '../../src/repository/repository-scanner.js';
import { makeRepository, removeRepository, writeFiles } from '../helpers/repository-files.js';

const repos: string[] = [];
after(async () => {
  await Promise.all(repos.map((r) => removeRepository(r)));
});

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await makeRepository(Object.entries(files).map(([p, bytes]) => ({ path: p, bytes })));
  repos.push(dir);
  return dir;
}

describe('repository scanner', () => {
  it('lists model folders sorted, skipping hidden folders and plain files', async () => {
    const dir = await repo({ 'b/1/model.onnx': 'x', 'a/1/model.onnx': 'x', '.git/HEAD': 'x', 'README.md': 'x' });
    assert.deepEqual(await listModelNames(dir), ['a', 'b']);
  });

  it('counts only numbered folders that hold model.onnx as versions', async () => {
    const dir = await repo({
      'm/1/model.onnx': 'x',
      'm/10/model.onnx': 'x',
      'm/2/model.onnx': 'x',
      'm/3/notes.txt': 'x',
      'm/01/model.onnx': 'x',
      'm/latest/model.onnx': 'x',
      'm/config.yaml': '',
      'm/labels.txt': '',
    });
    const folder = await scanModelFolder(dir, 'm');
    assert.deepEqual(folder?.versions, [1, 2, 10]);
    assert.deepEqual(folder?.configFiles, ['config.yaml']);
    assert.equal(folder?.dir, path.join(dir, 'm'));
  });

  it('lists every config file present so the loader can refuse more than one', async () => {
    const dir = await repo({ 'm/1/model.onnx': 'x', 'm/config.yml': '', 'm/config.json': '{}', 'm/config.yaml': '' });
    assert.deepEqual((await scanModelFolder(dir, 'm'))?.configFiles, ['config.json', 'config.yaml', 'config.yml']);
  });

  it('finds nothing for a missing folder or an invalid name', async () => {
    const dir = await repo({ 'm/1/model.onnx': 'x' });
    assert.equal(await scanModelFolder(dir, 'absent'), undefined);
    assert.equal(await scanModelFolder(dir, '..'), undefined);
  });

  it('changes the fingerprint when a version, the config or a labels file changes', async () => {
    const dir = await repo({ 'm/1/model.onnx': 'x' });
    const first = (await scanModelFolder(dir, 'm'))?.fingerprint;
    assert.equal((await scanModelFolder(dir, 'm'))?.fingerprint, first, 'stable while nothing changes');

    await writeFiles(dir, [{ path: 'm/2/model.onnx', bytes: 'x' }]);
    const second = (await scanModelFolder(dir, 'm'))?.fingerprint;
    assert.notEqual(second, first);

    await writeFile(path.join(dir, 'm/config.yaml'), 'max_batch_size: 1\n');
    const third = (await scanModelFolder(dir, 'm'))?.fingerprint;
    assert.notEqual(third, second);

    await writeFile(path.join(dir, 'm/labels.txt'), 'a\nb\n');
    assert.notEqual((await scanModelFolder(dir, 'm'))?.fingerprint, third);
  });
});
