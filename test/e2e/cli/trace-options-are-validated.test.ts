// inferd serve's --trace-* options: --trace-level is repeatable and replaces its default OFF, a bad
// level or number exits naming the option and echoing the value, and a level with no file or a
// file in a missing folder stops the start with a message naming the option, before listening.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInProcess } from '../../helpers/parse-in-process.js';
import { runCli } from './run-cli.js';

describe('serve --trace-* options', () => {
  for (const [flag, value, expected] of [
    ['--trace-level <level>', 'LOUD', 'expected one of OFF, TIMESTAMPS, TENSORS'],
    ['--trace-rate <n>', '0', 'expected 1..'],
    ['--trace-count <n>', '-2', 'expected -1..'],
    ['--trace-log-frequency <n>', 'often', 'expected an integer'],
  ] as const) {
    it(`refuses ${flag} '${value}'`, async () => {
      const result = await parseInProcess(['serve', '-m', 'examples/models', flag.split(' ')[0] ?? '', value]);
      assert.equal(result.exitCode, 1);
      assert.match(
        result.stderr.split('\n')[0] ?? '',
        new RegExp(`^error: option '${flag}' argument '${value}' is invalid\\. ${expected}`),
      );
    });
  }

  it('collects repeated levels in place of the default, and needs a file for them', async () => {
    const result = await runCli([
      'serve',
      '-m',
      'examples/models',
      '--trace-level',
      'TIMESTAMPS',
      '--trace-level',
      'TENSORS',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--trace-level TIMESTAMPS,TENSORS needs --trace-file/);
  });

  it('refuses a trace file whose folder does not exist', async () => {
    const result = await runCli(['serve', '-m', 'examples/models', '--trace-file', '/no/such/folder/trace.json']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /'--trace-file': the folder \/no\/such\/folder does not exist/);
  });
});
