// `--stream-interval n`: a streamed completions or chat answer carries n tokens of text per event
// (the last event of a choice the rest), the text whole; logprobs keep one event per token.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeEngine, startFakeApi } from './fake-engine.js';

interface Chunk {
  choices: {
    index: number;
    text?: string;
    delta?: { content?: string };
    logprobs: unknown;
    finish_reason: string | null;
  }[];
}

/** The events of a streamed answer, parsed, [DONE] left out. */
async function events(url: string, body: unknown): Promise<Chunk[]> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /data: \[DONE\]\n\n$/);
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
    .map((e) => JSON.parse(e.slice('data: '.length)) as Chunk);
}

describe('the stream interval', () => {
  it('sends completions text three tokens to an event, the rest last, for each choice', async () => {
    const api = await startFakeApi(new FakeEngine({ script: 'In the beginning' }), { streamInterval: 3 });
    try {
      const chunks = await events(`${api.url}/v1/completions`, {
        model: 'fake-gen',
        prompt: 'Gen',
        max_tokens: 10,
        n: 2,
        stream: true,
      });
      for (const index of [0, 1]) {
        const texts = chunks
          .flatMap((c) => c.choices)
          .filter((c) => c.index === index && c.finish_reason === null)
          .map((c) => c.text);
        assert.deepEqual(texts, ['In ', 'the', ' be', 'g']);
      }
      assert.equal(chunks.flatMap((c) => c.choices).filter((c) => c.finish_reason === 'length').length, 2);
    } finally {
      await api.app.close();
    }
  });

  it('sends chat content three tokens to an event after the role', async () => {
    const api = await startFakeApi(new FakeEngine({ script: 'Amen, so be it.' }), { streamInterval: 3 });
    try {
      const chunks = await events(`${api.url}/v1/chat/completions`, {
        model: 'fake-gen',
        messages: [{ role: 'user', content: 'Pray' }],
        max_tokens: 15,
        stream: true,
      });
      const deltas = chunks.flatMap((c) => c.choices).map((c) => c.delta?.content);
      assert.deepEqual(deltas, ['', 'Ame', 'n, ', 'so ', 'be ', 'it.', undefined]);
    } finally {
      await api.app.close();
    }
  });

  it('keeps one event per token when logprobs are asked for', async () => {
    const api = await startFakeApi(new FakeEngine({ script: 'Amen' }), { streamInterval: 3 });
    try {
      const chunks = await events(`${api.url}/v1/completions`, {
        model: 'fake-gen',
        prompt: 'Gen',
        max_tokens: 4,
        logprobs: 1,
        stream: true,
      });
      const texts = chunks
        .flatMap((c) => c.choices)
        .filter((c) => c.finish_reason === null)
        .map((c) => c.text);
      assert.deepEqual(texts, ['A', 'm', 'e', 'n']);
    } finally {
      await api.app.close();
    }
  });
});
