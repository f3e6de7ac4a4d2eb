// How loud an error is: a client's mistake is an info line without a stack, an overload refusal, a
// client's deadline or a model not ready is a warning without a stack, and only the server's own
// failures are errors with the stack trace.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../../src/errors/index.js';
import { reportError, type ErrorLog } from '../../../src/protocols/common/error-handler.js';

interface Line {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

function capture(): { log: ErrorLog; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (fields: unknown, msg?: unknown): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, msg: String(msg) });
    };
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('reportError log levels', () => {
  const cases: [string, unknown, Line['level'], boolean][] = [
    ['a bad request', new InferdError('INF_ERR_INVALID_ARGUMENT', 'bad shape'), 'info', false],
    ['a full queue (429)', new InferdError('INF_ERR_QUEUE_FULL', 'queue is full'), 'info', false],
    ['a 1 µs deadline (504)', new InferdError('INF_ERR_DEADLINE_EXCEEDED', 'deadline exceeded'), 'warn', false],
    ['an overload refusal (503)', new InferdError('INF_ERR_UNAVAILABLE', 'starting'), 'warn', false],
    ['a model not ready (503)', new InferdError('INF_ERR_MODEL_UNAVAILABLE', 'not ready'), 'warn', false],
    ['a runtime failure (500)', new InferdError('INF_ERR_RUNTIME', 'onnxruntime failed'), 'error', true],
    ['an unknown exception', new TypeError('x is undefined'), 'error', true],
  ];
  for (const [what, thrown, level, withStack] of cases) {
    it(`${what}: ${level}${withStack ? ' with the stack' : ', no stack'}`, () => {
      const { log, lines } = capture();
      reportError(thrown, 'req-1', log);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]?.level, level);
      assert.equal('err' in (lines[0]?.fields ?? {}), withStack);
    });
  }
});
