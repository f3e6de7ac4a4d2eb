// Bad command lines exit non-zero before anything starts, with a message on stderr that names
// the option and echoes the bad value. A few run the real binary; the rest parse in-process with
// the same program, which is much faster than spawning one process per case.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInProcess } from '../../helpers/parse-in-process.js';
import { runCli } from './run-cli.js';

const CASES: { args: string[]; message: string }[] = [
  {
    args: ['serve', '-m', 'examples/models', '--http-port', 'abc'],
    message: "error: option '--http-port <port>' argument 'abc' is invalid. expected an integer, got 'abc'",
  },
  {
    args: ['serve', '-m', 'examples/models', '--http-port', '70000'],
    message: "error: option '--http-port <port>' argument '70000' is invalid. expected 0..65535, got 70000",
  },
  {
    args: ['serve', '-m', 'examples/models', '--metrics-port', 'none'],
    message: "error: option '--metrics-port <port|off>' argument 'none' is invalid. expected an integer, got 'none'",
  },
  {
    args: ['serve', '-m', 'examples/models', '--model-control-mode', 'auto'],
    message:
      "error: option '--model-control-mode <mode>' argument 'auto' is invalid. Allowed choices are none, poll, explicit.",
  },
  {
    args: ['serve', '-m', 'examples/models', '--repository-poll-secs', '0'],
    message:
      "error: option '--repository-poll-secs <seconds>' argument '0' is invalid. expected a positive number, got '0'",
  },
  {
    args: ['serve', '-m', 'examples/models', '--max-body-size', '12parsecs'],
    message:
      "error: option '--max-body-size <size>' argument '12parsecs' is invalid. expected a size such as 64MB, 512KB or 1048576, got '12parsecs'",
  },
  {
    args: ['serve', '-m', 'examples/models', '--cpu-cores', '0'],
    message: "error: option '--cpu-cores <n>' argument '0' is invalid. expected 1..4096, got 0",
  },
  {
    args: ['serve', '--http-port', '0'],
    message: "error: required option '-m, --model-repository <path>' not specified",
  },
  {
    args: ['infer', 'simple', '--classification', '0'],
    message: "error: option '--classification <k>' argument '0' is invalid. expected 1..1000, got 0",
  },
  {
    args: ['models', 'list'],
    message: 'error: give the model repository: -m <path> (or the path as the first argument)',
  },
  { args: ['deploy'], message: "error: unknown command 'deploy'" },
];

describe('bad command lines', () => {
  for (const c of CASES) {
    it(`refuses: inferd ${c.args.join(' ')}`, async () => {
      const result = await parseInProcess(c.args);
      assert.equal(result.exitCode, 1);
      assert.equal(result.stderr.split('\n')[0], c.message);
    });
  }
});

describe('bad command lines, run by the binary', { concurrency: true }, () => {
  it('exits 1 on a port that is not a number, printing nothing on stdout', async () => {
    const result = await runCli(['serve', '-m', 'examples/models', '--http-port', 'abc']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      "error: option '--http-port <port>' argument 'abc' is invalid. expected an integer, got 'abc'\n(add --help for usage)\n",
    );
  });

  it('exits 1 and suggests --help on an unknown command', async () => {
    const result = await runCli(['deploy']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "error: unknown command 'deploy'\n(add --help for usage)\n");
  });

  it('exits 1 naming a repository that does not exist', async () => {
    const result = await runCli(['serve', '-m', '/nonexistent/models', '--http-port', '0', '--metrics-port', 'off']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^inferd: .*'\/nonexistent\/models'/m);
  });
});
