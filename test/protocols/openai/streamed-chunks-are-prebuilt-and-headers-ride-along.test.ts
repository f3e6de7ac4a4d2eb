// A streamed token's chunk is built from fragments serialized once per response; its bytes are
// those JSON.stringify gives for the whole object. The headers of a stream go out in the same
// write as its first event when a token is ready, and on their own when none comes.

import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type {
  GenerationChunk,
  GenerationRequest,
  GenerationResult,
  GenerationStream,
} from '../../../src/generation/engine-types.js';
import {
  chatChunk,
  chatContentChunks,
  completionChunk,
  completionTextChunks,
} from '../../../src/protocols/openai/completion-objects.js';
import { FakeEngine, startFakeApi } from './fake-engine.js';

const TEXTS = [
  '',
  ' the',
  'say "hi"\n',
  'back\\slash',
  'tab\there',
  '\u2028 line sep',
  'é ü 日本 🙂',
  '\u0000\u001f',
  '</s>',
];
const MODELS = ['kjv-tiny', 'a "quoted" model', 'x","choices":[],"y', 'ünï/cödé:1'];

describe('prebuilt chunk JSON', () => {
  it('text_completion chunks are byte for byte JSON.stringify of the object, with and without usage', () => {
    for (const model of MODELS) {
      for (const includeUsage of [false, true]) {
        const head = { id: 'cmpl-0123abcd', created: 1_700_000_000, model };
        const build = completionTextChunks(head, includeUsage);
        for (const [index, text] of TEXTS.entries()) {
          const expected = JSON.stringify(
            completionChunk(head, [{ index, text, logprobs: null, finish_reason: null }], includeUsage),
          );
          assert.equal(build(index, text), expected);
        }
      }
    }
  });

  it('chat.completion.chunk content deltas are byte for byte JSON.stringify of the object', () => {
    for (const model of MODELS) {
      for (const includeUsage of [false, true]) {
        const head = { id: 'chatcmpl-0123abcd', created: 1_700_000_000, model };
        const build = chatContentChunks(head, includeUsage);
        for (const [index, content] of TEXTS.entries()) {
          const expected = JSON.stringify(
            chatChunk(head, [{ index, delta: { content }, logprobs: null, finish_reason: null }], includeUsage),
          );
          assert.equal(build(index, content), expected);
        }
      }
    }
  });
});

/** What each write on the server's sockets handed the kernel, one string per write (a writev joined). */
function recordWrites(server: Server): string[] {
  const writes: string[] = [];
  server.on('connection', (socket: Socket) => {
    const write = socket._write.bind(socket);
    socket._write = (chunk: Buffer | string, encoding, callback) => {
      writes.push(String(chunk));
      write(chunk, encoding, callback);
    };
    const writev = socket._writev?.bind(socket);
    if (writev === undefined) return;
    socket._writev = (chunks, callback) => {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      writev(chunks, callback);
    };
  });
  return writes;
}

/** An engine whose sequences produce nothing until they are aborted. */
class SilentEngine extends FakeEngine {
  override generate(request: GenerationRequest): GenerationStream {
    this.requests.push(request);
    const aborted = new Promise<GenerationResult>((resolve) => {
      const end = (): void =>
        resolve({
          finishReason: 'abort',
          stoppedBy: undefined,
          promptTokens: request.promptTokenIds.length,
          completionTokens: 0,
          cachedTokens: 0,
        });
      if (request.signal?.aborted === true) end();
      else request.signal?.addEventListener('abort', end, { once: true });
    });
    return {
      result: aborted,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<GenerationChunk>> => {
          await aborted;
          return { done: true, value: undefined };
        },
      }),
    };
  }
}

describe('the headers of a stream', () => {
  it('go out in the same write as the first event when a token is ready', async () => {
    const api = await startFakeApi(new FakeEngine({ script: 'Amen', stepMs: 0 }));
    const writes = recordWrites(api.app.server);
    try {
      for (const [path, body] of [
        ['/v1/completions', { model: 'fake-gen', prompt: 'In', max_tokens: 4, stream: true }],
        ['/v1/chat/completions', { model: 'fake-gen', messages: [{ role: 'user', content: 'Hi' }], stream: true }],
      ] as const) {
        writes.length = 0;
        const res = await fetch(api.url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        assert.match(text, /data: \[DONE\]\n\n$/);
        const first = writes[0] ?? '';
        assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(first, /content-type: text\/event-stream/);
        assert.match(first, /\r\n\r\n[0-9a-f]+\r\ndata: \{"id":"(cmpl|chatcmpl)-/, `${path}: ${JSON.stringify(first)}`);
      }
    } finally {
      await api.app.close();
    }
  });

  it('go out on their own when no token comes', async () => {
    const api = await startFakeApi(new SilentEngine());
    try {
      const abort = new AbortController();
      const res = await fetch(api.url + '/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fake-gen', prompt: 'In', max_tokens: 4, stream: true }),
        signal: abort.signal,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(api.engine.requests.length, 1);
      abort.abort();
    } finally {
      await api.app.close();
    }
  });
});
