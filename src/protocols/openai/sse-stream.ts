// Server-sent events as OpenAI streams them: `data: <json>\n\n` per event, `data: [DONE]\n\n` last.
// Writes wait for the socket to drain (a slow reader slows its own sequence, never the server's
// memory), and a client that goes away aborts the request's sequences through its AbortSignal.
// Each write is a system call that wakes the client, so the headers travel with the first event
// when it comes at once (the first token usually does), on their own a timer turn later if not.

import type { FastifyReply } from 'fastify';
import { openaiErrorObject } from '../../errors/index.js';
import { reportError } from '../common/error-handler.js';

/** An AbortSignal that fires when the client closes the connection before the reply finished. */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const abort = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) abort.abort();
  };
  reply.raw.once('close', onClose);
  return abort.signal;
}

/** Frames one SSE event; `event` names it (the Responses API names each event by its type). */
export function sseEvent(data: unknown, event?: string): string {
  const name = event === undefined ? '' : `event: ${event}\n`;
  return `${name}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** What a streamed answer is written to: an SseStream, or a writer that translates the chunks. */
export interface ChunkSink<T> {
  open(): void;
  send(data: T): Promise<void>;
  /**
   * Sends a chunk already serialized (`JSON.stringify(data)` byte for byte), for sinks that write
   * the JSON as it is; a sink that translates the chunks has none, and is given the object.
   */
  sendJson?(json: string): Promise<void>;
  end(): void;
  fail(error: unknown): void;
}

export class SseStream {
  private ended = false;
  /** True once an event (or the end) was written: the headers went out with it. */
  private wrote = false;

  /** `doneMarker` false: no `data: [DONE]` at the end (the Responses API's streams have none). */
  constructor(
    private readonly reply: FastifyReply,
    private readonly doneMarker = true,
  ) {}

  /** Sends the headers; from here on errors travel as events, not statuses. */
  open(): void {
    // The reply leaves fastify's hands: its onSend hooks do not run, so the request id is set here.
    this.reply.hijack();
    this.reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': String(this.reply.request.id),
    });
    // Clients wait for the headers before they read events. They go with the first event when it
    // comes before the loop's next timers run (the engine's first step, queued ahead of them,
    // usually brings the first token), else on their own then: a queued sequence, a long prefill.
    setTimeout(() => {
      if (!this.wrote && !this.reply.raw.destroyed) this.reply.raw.flushHeaders();
    }, 0);
  }

  /** True once the client went away or the stream ended. */
  get closed(): boolean {
    return this.ended || this.reply.raw.destroyed;
  }

  send(data: unknown, event?: string): Promise<void> {
    return this.write(sseEvent(data, event));
  }

  sendJson(json: string): Promise<void> {
    return this.write(`data: ${json}\n\n`);
  }

  private async write(frame: string): Promise<void> {
    if (this.closed) return;
    this.wrote = true;
    const raw = this.reply.raw;
    if (raw.write(frame)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.once('drain', done);
      raw.once('close', done);
    });
  }

  /** `data: [DONE]` (unless turned off), then the end of the response. */
  end(): void {
    if (this.closed) return;
    this.ended = true;
    this.wrote = true;
    if (this.doneMarker) this.reply.raw.end(sseEvent('[DONE]'));
    else this.reply.raw.end();
  }

  /**
   * Ends the stream with an error event (OpenAI's error body), as vLLM does mid-stream; the
   * failure is logged under the request id as the error handler logs the ones before the headers.
   */
  fail(error: unknown): void {
    const requestId = String(this.reply.request.id);
    const err = reportError(error, requestId, this.reply.request.log);
    if (this.closed) return;
    this.ended = true;
    this.wrote = true;
    this.reply.raw.write(sseEvent(openaiErrorObject(err, requestId)));
    this.reply.raw.end(sseEvent('[DONE]'));
  }
}
