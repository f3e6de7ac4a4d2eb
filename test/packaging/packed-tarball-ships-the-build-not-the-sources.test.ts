// The npm package (`npm pack`) carries what `npx inferd serve` needs (bin/, the built dist/,
// proto/, the example models) and none of the sources, tests or source maps.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface PackResult {
  readonly files: readonly { readonly path: string }[];
}

describe('npm pack', () => {
  let files: string[] = [];

  before(async () => {
    // --ignore-scripts: the file list comes from package.json's `files` and the dist/ already
    // built (the test script builds before the tests), without rebuilding it through `prepare`.
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [result] = JSON.parse(stdout) as PackResult[];
    assert.ok(result, 'npm pack printed a result');
    files = result.files.map((f) => f.path).sort();
  });

  it('ships the command, the built server and the protos', () => {
    for (const needed of [
      'package.json',
      'bin/inferd.js',
      'dist/cli/main.js',
      'dist/server.js',
      'proto/grpc_service.proto',
      'proto/health.proto',
      'proto/model_config.proto',
      'examples/models/simple/1/model.onnx',
    ]) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
  });

  it('ships no sources, tests, tools or source maps', () => {
    const unwanted = files.filter(
      (f) =>
        /^(src|test|tools|bench|scripts|deploy|docs|node_modules|\.ci)\//.test(f) ||
        f.endsWith('.map') ||
        f.endsWith('.ts'),
    );
    assert.deepEqual(unwanted, []);
  });

  it('ships only bin/, dist/, examples/, proto/ and the files npm always adds', () => {
    const tops = [...new Set(files.map((f) => (f.includes('/') ? `${f.split('/')[0]}/` : f)))].sort();
    assert.deepEqual(tops, ['README.md', 'bin/', 'dist/', 'examples/', 'package.json', 'proto/']);
  });
});
