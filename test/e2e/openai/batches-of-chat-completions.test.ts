// The Batch API runs OpenAI lines: a /v1/chat/completions batch, submitted and read back with the
// official openai client, answers each line with what POSTing its body answers.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toFile } from 'openai';
import { startOpenAIServer, type OpenAIFixture } from './openai-fixture.js';

let fx: OpenAIFixture;
before(async () => {
  fx = await startOpenAIServer();
});
after(() => fx.close());

const line = (customId: string, body: Record<string, unknown>) =>
  JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body });

test('a chat completions batch answers every line as the endpoint does', async () => {
  const chat = {
    model: 'kjv-tiny',
    messages: [{ role: 'user', content: 'And God said' }],
    max_tokens: 6,
    temperature: 0,
  };
  const jsonl = [
    line('greedy', chat),
    line('too-hot', { ...chat, temperature: 3 }),
    line('unknown', { ...chat, model: 'nope' }),
  ].join('\n');
  const file = await fx.client.files.create({ file: await toFile(Buffer.from(jsonl), 'chat.jsonl'), purpose: 'batch' });
  let batch = await fx.client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  for (let i = 0; i < 600 && !['completed', 'failed', 'expired', 'cancelled'].includes(batch.status); i++) {
    await new Promise((r) => setTimeout(r, 50));
    batch = await fx.client.batches.retrieve(batch.id);
  }
  assert.equal(batch.status, 'completed', JSON.stringify(batch.errors));
  assert.deepEqual(batch.request_counts, { total: 3, completed: 1, failed: 2 });

  const read = async (id: string | null | undefined) =>
    (await (await fx.client.files.content(id ?? '')).text())
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: Record<string, unknown> } },
      );
  const [ok] = await read(batch.output_file_id);
  assert.equal(ok?.custom_id, 'greedy');
  assert.equal(ok?.response.status_code, 200);
  assert.equal(ok?.response.body.object, 'chat.completion');
  const direct = await fx.client.chat.completions.create({
    ...chat,
    messages: [{ role: 'user', content: 'And God said' }],
  });
  const choices = ok?.response.body.choices as { message: { content: string } }[];
  assert.equal(
    choices[0]?.message.content,
    direct.choices[0]?.message.content,
    'greedy: the same text as the endpoint',
  );

  const failed = await read(batch.error_file_id);
  const byId = new Map(failed.map((f) => [f.custom_id, f.response]));
  assert.equal(byId.get('too-hot')?.status_code, 400);
  assert.equal((byId.get('too-hot')?.body.error as { param: string }).param, 'temperature');
  assert.equal(byId.get('unknown')?.status_code, 404);
  assert.equal((byId.get('unknown')?.body.error as { code: string }).code, 'model_not_found');
});
