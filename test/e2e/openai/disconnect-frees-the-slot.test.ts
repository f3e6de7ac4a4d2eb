// With one running slot, a client that disconnects mid-stream frees it at the next step: the next
// request is served, and the running gauge goes back to 0.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { metricValue, settledMetric, startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer('text_generation:\n  max_running_sequences: 1\n  max_waiting_sequences: 4\n');
});
after(() => fx.close());

test('aborting a stream mid-way frees the only slot for the next request', async () => {
  const abort = new AbortController();
  const stream = await fx.client.chat.completions.create(
    {
      model: 'kjv-tiny',
      messages: [{ role: 'user', content: 'In the beginning' }],
      // Nearly the whole 256-token context, so the abort has as long as possible to land.
      max_tokens: 240,
      ignore_eos: true,
      stream: true,
    } as Parameters<typeof fx.client.chat.completions.create>[0] & { stream: true },
    { signal: abort.signal },
  );
  let received = 0;
  for await (const chunk of stream) {
    if ((chunk.choices[0]?.delta.content ?? '') !== '') received++;
    if (received === 3) break; // leaving the loop aborts the response
  }
  abort.abort();
  const next = await fx.client.completions.create({ model: 'kjv-tiny', prompt: 'And', max_tokens: 4 });
  assert.ok(next.choices[0]?.finish_reason === 'length' || next.choices[0]?.finish_reason === 'stop');
  assert.equal(await settledMetric(fx.server, 'inferd:num_requests_running', 0), 0);
  // Run to the end, the first sequence would have made 240 tokens, the second 4.
  const generated = await metricValue(fx.server, 'inferd:generation_tokens_total');
  assert.ok(generated !== undefined && generated < 244, `generated ${generated} tokens`);
});
