// A client that goes away mid-stream aborts its sequences; a full engine queue is a 429 before any
// header is sent, and refusing one choice of n cancels the ones already queued.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeEngine, startFakeApi } from './fake-engine.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), what);
}

test('a client that disconnects mid-stream aborts its sequence', async () => {
  const api = await startFakeApi(new FakeEngine({ stepMs: 5 }));
  try {
    const abort = new AbortController();
    const res = await fetch(api.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'fake-gen',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 40,
        ignore_eos: true,
        stream: true,
      }),
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(res.headers.get('x-request-id'));
    const reader = res.body!.getReader();
    const value: unknown = (await reader.read()).value;
    assert.ok(value instanceof Uint8Array);
    const first = new TextDecoder().decode(value);
    assert.match(first, /^data: \{"id":"chatcmpl-/);
    assert.equal(api.engine.running, 1);
    abort.abort();
    await until(() => api.engine.running === 0, 'the sequence ended');
    assert.equal(api.engine.requests[0]?.signal?.aborted, true);
  } finally {
    await api.app.close();
  }
});

test('a full queue is a 429 rate_limit_error; refusing one of n choices cancels the others', async () => {
  const api = await startFakeApi(new FakeEngine({ stepMs: 5, maxWaiting: 1 }));
  try {
    const res = await fetch(api.url + '/v1/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-gen', prompt: 'x', n: 2, stream: true }),
    });
    assert.equal(res.status, 429);
    assert.deepEqual(await res.json(), {
      error: {
        message: 'the waiting queue is full',
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
    assert.equal(api.engine.requests.length, 1);
    assert.equal(api.engine.requests[0]?.signal?.aborted, true, 'the first choice was cancelled');
    await until(() => api.engine.running === 0, 'the cancelled choice ended');
  } finally {
    await api.app.close();
  }
});
