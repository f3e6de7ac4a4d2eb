// With one running slot and no waiting room, a request whose n choices do not all fit is refused
// as a whole with 429 before anything streams, and the choice already queued is withdrawn.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { metricValue, settledMetric, startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer('text_generation:\n  max_running_sequences: 1\n  max_waiting_sequences: 0\n');
});
after(() => fx.close());

test('the gauges an endpoint picker reads exist before the first request', async () => {
  for (const name of ['vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc']) {
    assert.equal(await metricValue(fx.server, name), 0, name);
  }
  assert.equal(await metricValue(fx.server, 'inferd_saturation'), 0);
});

test('n = 2 with room for one is a 429 rate_limit_error, and the slot stays free', async () => {
  const res = await fetch(fx.server.url + '/v1/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'kjv-tiny', prompt: 'And God said', max_tokens: 8, n: 2, stream: true }),
  });
  assert.equal(res.status, 429);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as { error: { type: string; code: string; message: string } };
  assert.equal(body.error.type, 'rate_limit_error');
  assert.equal(body.error.code, 'rate_limit_exceeded');
  const one = await fx.client.completions.create({ model: 'kjv-tiny', prompt: 'And God said', max_tokens: 4 });
  assert.equal(one.choices.length, 1);
  assert.equal(await settledMetric(fx.server, 'inferd:num_requests_running', 0), 0);
});
