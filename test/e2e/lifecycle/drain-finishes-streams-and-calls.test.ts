// A drain lets long work finish: an SSE chat completion that is streaming when the signal comes
// runs to its last token and `[DONE]`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ShutdownTimers } from '../../../src/server.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

/** The grace period never ends by itself: the stream has all the time it needs. */
const noDelay: ShutdownTimers = { sleep: () => new Promise<void>(() => undefined) };

describe('drain: SSE streams finish', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(
      { modelRepository: EXAMPLES_DIR, modelControlMode: 'explicit', loadModels: ['kjv-tiny'] },
      { timers: noDelay },
    );
  });

  after(async () => {
    await server.close();
  });

  it('streams a chat completion that was running to [DONE]', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'kjv-tiny',
        messages: [{ role: 'user', content: 'In the beginning' }],
        max_tokens: 48,
        ignore_eos: true,
        stream: true,
      }),
    });
    assert.equal(res.status, 200);
    assert.ok(res.body !== null);
    const decoder = new TextDecoder();
    let text = '';
    let closing: Promise<void> | undefined;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      // The signal comes once the first event has arrived: the stream is running.
      closing ??= server.close();
    }
    const events = text
      .split('\n\n')
      .map((e) => e.trim())
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice('data: '.length));
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { finish_reason: string | null }[] });
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length', 'the stream ran to max_tokens');

    assert.ok(closing !== undefined);
    await closing;
  });
});
