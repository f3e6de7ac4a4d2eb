// --log-format: json (the default) writes one JSON object per line for log collectors; pretty
// writes pino-pretty's readable lines (time, level, message, then the fields) for a terminal.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';

function capture(): { stream: Writable; text: () => string } {
  let out = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString('utf8');
        done();
      },
    }),
    text: () => out,
  };
}

describe('log format', () => {
  it('writes JSON lines by default', () => {
    const sink = capture();
    createLogger('info', sink.stream).info({ model: 'simple' }, 'model version ready');
    const line = JSON.parse(sink.text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'model version ready');
    assert.equal(line.model, 'simple');
    assert.equal(line.level, 30);
  });

  it('writes readable lines with pretty, without colour codes when not a terminal', async () => {
    const sink = capture();
    const logger = createLogger('info', sink.stream, 'pretty');
    logger.warn({ model: 'simple', retryInMs: 1000 }, 'model version unavailable');
    logger.debug('not written at info');
    await new Promise((resolve) => setImmediate(resolve));
    const text = sink.text();
    assert.match(text, /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: model version unavailable\n/);
    assert.match(text, /\n {4}model: "simple"\n {4}retryInMs: 1000\n/);
    assert.ok(!text.includes('\u001b['), 'no colour codes');
    assert.ok(!text.includes('not written'));
    assert.throws(() => JSON.parse(text.split('\n')[0] ?? ''), 'not JSON');
  });
});
