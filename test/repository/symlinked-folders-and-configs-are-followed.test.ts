// Links are followed: a linked model folder is a model, and a linked config file (as Kubernetes
// mounts ConfigMaps) is read; a dangling link is ignored rather than failing the scan.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listModelNames, scanModelFolder } from '../../src/repository/repository-scanner.js';

describe('repository scanner and links', () => {
  let root: string;
  let repo: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'inferd-links-'));
    repo = path.join(root, 'repo');
    const elsewhere = path.join(root, 'elsewhere');
    await mkdir(path.join(elsewhere, 'linked', '1'), { recursive: true });
    await writeFile(path.join(elsewhere, 'linked', '1', 'model.onnx'), 'x');
    await mkdir(path.join(repo, 'plain', '2'), { recursive: true });
    await writeFile(path.join(repo, 'plain', '2', 'model.onnx'), 'x');
    await writeFile(path.join(elsewhere, 'config.yaml'), 'max_batch_size: 0\n');
    await symlink(path.join(elsewhere, 'config.yaml'), path.join(repo, 'plain', 'config.yaml'));
    await symlink(path.join(elsewhere, 'linked'), path.join(repo, 'linked'));
    await symlink(path.join(root, 'nowhere'), path.join(repo, 'dangling'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('lists linked model folders and skips dangling links', async () => {
    assert.deepEqual(await listModelNames(repo), ['linked', 'plain']);
  });

  it('reads versions through a linked folder and a linked config file', async () => {
    const linked = await scanModelFolder(repo, 'linked');
    assert.deepEqual(linked?.versions, [1]);
    const plain = await scanModelFolder(repo, 'plain');
    assert.deepEqual(plain?.configFiles, ['config.yaml']);
    assert.deepEqual(plain?.versions, [2]);
  });
});
