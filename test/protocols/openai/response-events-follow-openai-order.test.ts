// The Responses stream writer turns chat chunks into OpenAI's events: text then a call become two
// output items, each opened and closed in order; a cut by max tokens ends in response.incomplete
// with the items incomplete; a failure after the start ends in response.failed with the error;
// sequence numbers count every event from 0.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../../src/errors/index.js';
import { chatChunk, usage, type ChatChunkChoice } from '../../../src/protocols/openai/completion-objects.js';
import { ResponseEventWriter, type EventStream } from '../../../src/protocols/openai/response-events.js';
import type { ResponseObject } from '../../../src/protocols/openai/response-objects.js';

interface Written {
  readonly event: string | undefined;
  readonly data: Record<string, unknown>;
}

function recorder(): EventStream & { written: Written[]; opened: boolean; ended: boolean } {
  return {
    written: [],
    opened: false,
    ended: false,
    closed: false,
    open() {
      this.opened = true;
    },
    send(data, event) {
      this.written.push({ event, data: data as Record<string, unknown> });
      return Promise.resolve();
    },
    end() {
      this.ended = true;
    },
  };
}

const HEAD = {
  id: 'resp_test',
  object: 'response',
  status: 'in_progress',
  output: [],
  usage: null,
  error: null,
  incomplete_details: null,
} as unknown as ResponseObject;

const head = { id: 'chatcmpl-1', created: 1, model: 'm' };
const chunk = (choice: Omit<ChatChunkChoice, 'index' | 'logprobs'>) =>
  chatChunk(head, [{ index: 0, logprobs: null, ...choice }], true);

function reportNothing(error: unknown): InferdError {
  return error instanceof InferdError ? error : new InferdError('INF_ERR_INTERNAL', String(error));
}

describe('ResponseEventWriter', () => {
  it('writes text then a call as two items, each opened and closed in order, then response.completed', async () => {
    const out = recorder();
    const writer = new ResponseEventWriter(out, HEAD, reportNothing);
    writer.open();
    await writer.send(chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }));
    await writer.send(chunk({ delta: { content: 'Let me ' }, finish_reason: null }));
    await writer.send(chunk({ delta: { content: 'look.' }, finish_reason: null }));
    await writer.send(
      chunk({
        delta: {
          tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }],
        },
        finish_reason: null,
      }),
    );
    await writer.send(
      chunk({ delta: { tool_calls: [{ index: 0, function: { arguments: '{"city"' } }] }, finish_reason: null }),
    );
    await writer.send(
      chunk({ delta: { tool_calls: [{ index: 0, function: { arguments: ': "Paris"}' } }] }, finish_reason: null }),
    );
    await writer.send(chunk({ delta: {}, finish_reason: 'tool_calls' }));
    await writer.send({ ...chatChunk(head, [], false), usage: usage(7, 5, 2) });
    writer.end();
    const final = await writer.ended();
    assert.ok(out.opened && out.ended);
    assert.deepEqual(
      out.written.map((w) => w.event),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.deepEqual(
      out.written.map((w) => w.data['type']),
      out.written.map((w) => w.event),
    );
    assert.deepEqual(
      out.written.map((w) => w.data['sequence_number']),
      out.written.map((_, i) => i),
    );
    assert.deepEqual(
      out.written.map((w) => w.data['output_index'] ?? null),
      [null, null, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, null],
    );
    assert.equal(final?.status, 'completed');
    assert.deepEqual(
      final?.output.map((item) =>
        item.type === 'message' ? item.content[0]?.text : [item.call_id, item.name, item.arguments],
      ),
      ['Let me look.', ['call_1', 'get_weather', '{"city": "Paris"}']],
    );
    assert.deepEqual(final?.usage, {
      input_tokens: 7,
      input_tokens_details: { cached_tokens: 2 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12,
    });
    const done = out.written.find((w) => w.event === 'response.function_call_arguments.done');
    assert.equal(done?.data['arguments'], '{"city": "Paris"}');
    assert.equal(done?.data['name'], 'get_weather');
  });

  it('ends a response cut by max tokens with response.incomplete, its message incomplete', async () => {
    const out = recorder();
    const writer = new ResponseEventWriter(out, HEAD, reportNothing);
    writer.open();
    await writer.send(chunk({ delta: { content: 'In the' }, finish_reason: null }));
    await writer.send(chunk({ delta: {}, finish_reason: 'length' }));
    writer.end();
    const final = await writer.ended();
    assert.equal(out.written.at(-1)?.event, 'response.incomplete');
    assert.equal(final?.status, 'incomplete');
    assert.deepEqual(final?.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(final?.output[0]?.status, 'incomplete');
    const itemDone = out.written.find((w) => w.event === 'response.output_item.done');
    assert.equal((itemDone?.data['item'] as { status: string }).status, 'incomplete');
  });

  it('answers an empty generation with one empty message, as OpenAI does', async () => {
    const out = recorder();
    const writer = new ResponseEventWriter(out, HEAD, reportNothing);
    writer.open();
    await writer.send(chunk({ delta: {}, finish_reason: 'stop' }));
    writer.end();
    const final = await writer.ended();
    assert.deepEqual(
      out.written.map((w) => w.event).filter((e) => e?.includes('delta')),
      [],
    );
    assert.equal(final?.output.length, 1);
    assert.equal(final?.output[0]?.type === 'message' ? final.output[0].content[0]?.text : undefined, '');
  });

  it('ends a failure after the start with response.failed carrying the error', async () => {
    const out = recorder();
    const reported: unknown[] = [];
    const writer = new ResponseEventWriter(out, HEAD, (err) => {
      reported.push(err);
      return reportNothing(err);
    });
    writer.open();
    await writer.send(chunk({ delta: { content: 'And' }, finish_reason: null }));
    writer.fail(new InferdError('INF_ERR_RUNTIME', 'the decoder worker stopped'));
    const final = await writer.ended();
    assert.equal(reported.length, 1);
    assert.ok(out.ended);
    assert.equal(out.written.at(-1)?.event, 'response.failed');
    assert.equal(final?.status, 'failed');
    assert.deepEqual(final?.error, { code: 'server_error', message: 'the decoder worker stopped' });
  });
});
