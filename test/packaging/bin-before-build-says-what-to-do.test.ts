// bin/inferd.js in a checkout without a build (no dist/cli/main.js) prints one line that says
// to run `npm run build` and exits 1, instead of a module-not-found stack trace.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('bin/inferd.js before a build', () => {
  let dir = '';

  before(async () => {
    // A copy of bin/ with no dist/ next to it, as in a fresh clone.
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bin-'));
    await cp(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
    await cp(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const args of [['serve', '-m', 'examples/models'], ['--help'], []]) {
    it(`inferd ${args.join(' ') || '(no arguments)'}: one line naming npm run build, exit 1`, () => {
      const result = spawnSync(process.execPath, [path.join(dir, 'bin', 'inferd.js'), ...args], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
      assert.match(lines[0]!, /^inferd: .*dist\/cli\/main\.js.*`npm run build`/);
      assert.doesNotMatch(result.stderr, /ERR_MODULE_NOT_FOUND|\n\s+at /);
    });
  }
});
