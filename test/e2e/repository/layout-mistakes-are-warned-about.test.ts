// What a new user gets wrong first is said at start-up, not left to a silent server: a repository
// with no model folders, and a model file put at the repository root (which is not served), each
// give a warning that names the layout to use; models laid out right are served beside them.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, writeFiles } from '../../helpers/test-server.js';

function warnings(logs: readonly Record<string, unknown>[]): string[] {
  return logs.filter((l) => l.level === 40).map((l) => String(l.msg));
}

describe('repository layout mistakes', () => {
  it('warns that an empty repository serves nothing, and how models are laid out', async () => {
    const repo = await makeRepository([]);
    const server = await startTestServer({ modelRepository: repo });
    try {
      const said = warnings(server.logs).find((m) => m.includes('holds no model folders'));
      assert.ok(said !== undefined, `warned: ${warnings(server.logs).join(' | ')}`);
      assert.match(said, /<repository>\/<model>\/<version>\/model\.onnx/);
      assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200, 'the server still starts');
    } finally {
      await server.close();
      await removeRepository(repo);
    }
  });

  it('warns that a model file at the root is not served, naming the folder it belongs in', async () => {
    const files = simpleModel();
    const repo = await makeRepository(files);
    const onnx = files.find((f) => f.path.endsWith('.onnx'));
    assert.ok(onnx !== undefined);
    await writeFiles(repo, [{ path: 'resnet.onnx', bytes: await readFile(path.join(repo, onnx.path)) }]);
    const server = await startTestServer({ modelRepository: repo });
    try {
      const said = warnings(server.logs).find((m) => m.includes('at the repository root are not served'));
      assert.ok(said !== undefined, `warned: ${warnings(server.logs).join(' | ')}`);
      assert.ok(said.includes(path.join(repo, 'resnet', '1', 'model.onnx')), said);
      assert.ok(!warnings(server.logs).some((m) => m.includes('holds no model folders')));
      assert.equal((await fetch(`${server.url}/v2/models/simple/ready`)).status, 200);
    } finally {
      await server.close();
      await removeRepository(repo);
    }
  });
});
