// `--help` on the program and on each command exits 0 and documents the commands and options.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './run-cli.js';

const HELP: Record<string, string[]> = {
  '': [
    'Usage: inferd',
    'serve',
    'models',
    'infer',
    'bench',
    'batch',
    'sql',
    '--version',
    // What the server speaks, in one line: the protocols, the OpenAI API, streams and batch.
    'REST, gRPC and WebSocket streams, an OpenAI-compatible API',
    'batch inference over files and SQL',
  ],
  serve: [
    'Usage: inferd serve',
    '--model-repository <path>',
    '--host <address>',
    '--http-port <port>',
    '--metrics-port <port|off>',
    '--model-control-mode <mode>',
    '(choices: "none", "poll", "explicit", default: "none")',
    '--load-model <name>',
    '--repository-poll-secs <seconds>',
    '--log-level <level>',
    '--max-body-size <size>',
    '--max-tensor-size <size>',
    '--cpu-cores <n>',
    '--shutdown-grace-secs <seconds>',
    'Examples:',
  ],
  models: ['Usage: inferd models', 'list', 'validate', 'schema'],
  infer: [
    'Usage: inferd infer',
    '<model>',
    '--input <name=file>',
    '--request <file>',
    '--url <url>',
    '--model-repository <path>',
    '--model-version <n>',
    '--output <name>',
    '--classification <k>',
    '--output-dir <dir>',
  ],
  'models list': ['Usage: inferd models list', '[repository]', '-m, --model-repository <path>', '--json'],
  'models validate': ['Usage: inferd models validate', '[repository]', '[models...]', '-m, --model-repository <path>'],
};

describe('inferd --help', { concurrency: true }, () => {
  for (const [command, mentions] of Object.entries(HELP)) {
    it(`documents ${command === '' ? 'the program' : command}`, async () => {
      const args = command === '' ? ['--help'] : [...command.split(' '), '--help'];
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      // Descriptions wrap at the terminal width: compare with whitespace collapsed.
      const text = result.stdout.replace(/\s+/g, ' ');
      for (const m of mentions) assert.ok(text.includes(m), `help for '${command}' lacks ${m}:\n${result.stdout}`);
    });
  }

  it('prints the version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
