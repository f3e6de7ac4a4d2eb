// The server-sent events of a streamed response, as OpenAI emits them
// (https://platform.openai.com/docs/api-reference/responses-streaming): response.created and
// response.in_progress first; per output item output_item.added, then for a message
// content_part.added, output_text.delta…, output_text.done, content_part.done, and for a function
// call function_call_arguments.delta…, function_call_arguments.done; then output_item.done; last
// response.completed, response.incomplete (max_output_tokens reached) or response.failed. Every
// event carries its `type` and a `sequence_number` counting from 0.
//
// The writer takes the `chat.completion.chunk`s that the chat path streams (responses.ts runs a
// response as a chat completion) and turns them into these events, so text and tool-call deltas
// reach the Responses stream exactly as they reach a chat stream.

import type { ChatCompletionChunk } from './completion-objects.js';
import {
  itemId,
  outputText,
  responseUsage,
  settle,
  type FunctionCallItem,
  type MessageItem,
  type OutputItem,
  type ResponseObject,
  type ResponseUsage,
} from './response-objects.js';
import type { ChatMessageDelta } from './tool-calls.js';
import type { ChunkSink } from './sse-stream.js';
import type { InferdError } from '../../errors/index.js';

/** Where the events go: an SSE stream that names each event (`event: <type>`). */
export interface EventStream {
  open(): void;
  send(data: unknown, event?: string): Promise<void>;
  /** Ends the response after the last event. */
  end(): void;
  readonly closed: boolean;
}

type OpenItem =
  | { readonly kind: 'message'; readonly item: MessageItem; text: string }
  | { readonly kind: 'call'; readonly item: FunctionCallItem; readonly chatIndex: number; args: string };

export class ResponseEventWriter implements ChunkSink<ChatCompletionChunk> {
  private sequence = 0;
  private readonly output: OutputItem[] = [];
  private open_: OpenItem | undefined;
  private finishReason: string | null = null;
  private usage: ResponseUsage | null = null;
  private settled: ResponseObject | undefined;
  private ending: Promise<void> = Promise.resolve();

  /**
   * `head` is the response in progress (no output, no usage); `report` logs a failure and reduces
   * it to an InferdError (the route's error handler does the same for failures before the stream).
   */
  constructor(
    private readonly events: EventStream,
    private readonly head: ResponseObject,
    private readonly report: (error: unknown) => InferdError,
  ) {}

  get closed(): boolean {
    return this.events.closed;
  }

  private async emit(type: string, fields: Record<string, unknown>): Promise<void> {
    const event = { type, sequence_number: this.sequence++, ...fields };
    await this.events.send(event, type);
  }

  open(): void {
    this.events.open();
    // Queued behind the first chunk's writes by the stream itself: send() only awaits drain.
    void this.emit('response.created', { response: this.head });
    void this.emit('response.in_progress', { response: this.head });
  }

  async send(chunk: ChatCompletionChunk): Promise<void> {
    if (chunk.usage != null) this.usage = responseUsage(chunk.usage);
    const choice = chunk.choices[0];
    if (choice === undefined) return;
    const delta = choice.delta;
    if ('content' in delta && delta.content !== undefined && delta.content !== '') await this.text(delta.content);
    if ('tool_calls' in delta) for (const call of delta.tool_calls) await this.toolCall(call);
    if (choice.finish_reason !== null) this.finishReason = choice.finish_reason;
  }

  private async openMessage(): Promise<Extract<OpenItem, { kind: 'message' }>> {
    if (this.open_?.kind === 'message') return this.open_;
    await this.closeItem();
    const item: MessageItem = {
      id: itemId('msg'),
      type: 'message',
      status: 'in_progress',
      role: 'assistant',
      content: [],
    };
    const open = { kind: 'message' as const, item, text: '' };
    this.open_ = open;
    await this.emit('response.output_item.added', { output_index: this.output.length, item });
    await this.emit('response.content_part.added', {
      item_id: item.id,
      output_index: this.output.length,
      content_index: 0,
      part: outputText(''),
    });
    return open;
  }

  private async text(delta: string): Promise<void> {
    const open = await this.openMessage();
    open.text += delta;
    await this.emit('response.output_text.delta', {
      item_id: open.item.id,
      output_index: this.output.length,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  private async toolCall(
    call: Extract<ChatMessageDelta, { tool_calls: unknown }>['tool_calls'][number],
  ): Promise<void> {
    const chatIndex = call.index;
    if (this.open_?.kind !== 'call' || this.open_.chatIndex !== chatIndex) {
      await this.closeItem();
      const item: FunctionCallItem = {
        id: itemId('fc'),
        type: 'function_call',
        status: 'in_progress',
        call_id: 'id' in call ? call.id : itemId('call'),
        name: 'id' in call ? call.function.name : '',
        arguments: '',
      };
      this.open_ = { kind: 'call', item, chatIndex, args: '' };
      await this.emit('response.output_item.added', { output_index: this.output.length, item });
    }
    const delta = call.function.arguments;
    if (delta === '') return;
    this.open_.args += delta;
    await this.emit('response.function_call_arguments.delta', {
      item_id: this.open_.item.id,
      output_index: this.output.length,
      delta,
    });
  }

  /** The done events of the item being written, which then joins the output. */
  private async closeItem(status: 'completed' | 'incomplete' = 'completed'): Promise<void> {
    const open = this.open_;
    if (open === undefined) return;
    this.open_ = undefined;
    const outputIndex = this.output.length;
    let done: OutputItem;
    if (open.kind === 'message') {
      const part = outputText(open.text);
      const ids = { item_id: open.item.id, output_index: outputIndex, content_index: 0 };
      await this.emit('response.output_text.done', { ...ids, text: open.text, logprobs: [] });
      await this.emit('response.content_part.done', { ...ids, part });
      done = { ...open.item, status, content: [part] };
    } else {
      await this.emit('response.function_call_arguments.done', {
        item_id: open.item.id,
        output_index: outputIndex,
        name: open.item.name,
        arguments: open.args,
      });
      done = { ...open.item, status, arguments: open.args };
    }
    this.output.push(done);
    await this.emit('response.output_item.done', { output_index: outputIndex, item: done });
  }

  /** The last events: every item closed, then response.completed or response.incomplete. */
  end(): void {
    this.ending = this.finish();
  }

  /** Settles once the last event is written: the response as it ended (undefined if it never did). */
  async ended(): Promise<ResponseObject | undefined> {
    await this.ending;
    return this.settled;
  }

  private async finish(): Promise<void> {
    const status = this.finishReason === 'length' ? 'incomplete' : 'completed';
    // A response that produced nothing still answers with one (empty) message, as OpenAI does.
    if (this.open_ === undefined && this.output.length === 0) await this.openMessage();
    await this.closeItem(status);
    const response = settle(this.head, this.output, this.finishReason, this.usage);
    this.settled = response;
    await this.emit(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    this.events.end();
  }

  /** A failure after the stream opened: response.failed with the error, then the end. */
  fail(error: unknown): void {
    const err = this.report(error);
    const response: ResponseObject = {
      ...this.head,
      status: 'failed',
      output: this.output,
      error: { code: err.code === 'INF_ERR_QUEUE_FULL' ? 'rate_limit_exceeded' : 'server_error', message: err.message },
      usage: this.usage,
    };
    this.settled = response;
    this.ending = this.emit('response.failed', { response }).then(() => this.events.end());
  }
}
