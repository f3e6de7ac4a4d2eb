// One WebSocket infer stream: every message is decoded and scheduled as it arrives (so a model's
// dynamic batching and a sequence's order see the requests as sent), and the replies go back in
// request order. At most `maxInFlight` requests are accepted and not yet answered, and none is
// started while the connection has more than UNSENT_BYTES_WATERMARK of replies unsent (a client
// that does not read); past either the connection stops reading, and TCP pushes back on the
// client. A closed connection aborts its queued requests.

import { setMaxListeners } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { InferdError } from '../../errors/index.js';
import { reportError } from '../common/error-handler.js';
import { UNSENT_BYTES_WATERMARK } from '../common/request-gate.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { Routed } from '../../experiments/experiments.js';
import type { ServingPath } from '../../experiments/serving.js';
import type { TensorServingVersion } from '../../model-kinds/model-version.js';
import { requireKind } from '../../model-kinds/serving-kinds.js';
import { decodeInferBody, type DecodedInferRequest } from '../../core/infer-body-decoder.js';
import { encodeInferResponse, outputNamesFor } from '../../core/infer-body-encoder.js';
import { errorMessage, frameReply, requestIdOf, unframeMessage, type InferBody } from './stream-framing.js';

export interface InferStreamOptions {
  readonly repository: ModelRepository;
  /** Runs each request with the request path's monitoring (experiments/serving.ts). */
  readonly serving: ServingPath;
  readonly model: string;
  readonly version: string | undefined;
  /** The experiment variant chosen at the upgrade: every message of the stream goes to it. */
  readonly routed: Routed | undefined;
  readonly maxTensorBytes: number;
  readonly maxInFlight: number;
  /** Prefix of the per-message request ids in logs (the upgrade request's id). */
  readonly connectionId: string;
  readonly log: FastifyBaseLogger;
  /** Counts each error reply by its INF_ERR_* code. */
  readonly countError?: (reason: string) => void;
}

interface Received {
  readonly data: Buffer;
  readonly isBinary: boolean;
  readonly arrivalNs: bigint;
}

/** A reply's place in the connection's order; filled when its request finishes. */
interface ReplySlot {
  message: string | Buffer | undefined;
}

/** The WebSocket close code for a server going away (RFC 6455 §7.4.1). */
const GOING_AWAY = 1001;

export class InferStreamConnection {
  private readonly abort = new AbortController();
  /** Replies in request order; the head is sent as soon as it is filled. */
  private readonly replies: ReplySlot[] = [];
  /** Messages received while `maxInFlight` requests were open (ws emits what it had buffered). */
  private readonly backlog: Received[] = [];
  /** Requests accepted whose reply has not yet been written to the socket. */
  private inFlight = 0;
  private counter = 0;
  private closing = false;
  private readonly closed: Promise<void>;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: InferStreamOptions,
  ) {
    // Every accepted request listens on the one connection-wide signal until it settles.
    setMaxListeners(2 * options.maxInFlight, this.abort.signal);
    this.closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('message', (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.receive({ data: buffer, isBinary, arrivalNs: process.hrtime.bigint() });
    });
    socket.once('close', () => {
      // Queued requests are dropped before they reach a worker; their replies have nowhere to go.
      this.abort.abort();
      this.backlog.length = 0;
    });
  }

  /**
   * Stops reading, answers what is waiting unread with 503, lets accepted requests finish and
   * closes with 1001. Resolves when the socket has closed.
   */
  shutdown(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.socket.pause();
      for (const received of this.backlog.splice(0)) this.refuseForShutdown(received);
      this.closeIfDone();
    }
    return this.closed;
  }

  private receive(received: Received): void {
    if (this.closing) {
      this.refuseForShutdown(received);
    } else if (this.backlog.length > 0 || !this.mayStart()) {
      this.backlog.push(received);
      this.socket.pause();
    } else {
      this.start(received);
    }
  }

  /**
   * Whether another request may start: fewer than maxInFlight open, and the replies already written
   * mostly read (each reply's send callback settles it, so this is asked again as they drain).
   */
  private mayStart(): boolean {
    return (
      this.inFlight < this.options.maxInFlight &&
      (this.inFlight === 0 || this.socket.bufferedAmount < UNSENT_BYTES_WATERMARK)
    );
  }

  private start(received: Received): void {
    const slot = this.openSlot();
    let message: InferBody;
    let mv: TensorServingVersion;
    let decoded: DecodedInferRequest;
    try {
      message = unframeMessage(received.data, received.isBinary);
    } catch (err) {
      this.fail(slot, undefined, err);
      return;
    }
    try {
      // Resolved per message: a reload swaps the version, and an unload answers 503 / 404.
      const variant = this.options.routed?.variant;
      mv = requireKind(
        variant === undefined
          ? this.options.repository.resolve(this.options.model, this.options.version)
          : this.options.repository.resolve(variant.definition.model, variant.versionText),
        'v2 infer',
      );
      decoded = decodeInferBody(mv.config, message.body, message.headerLength, {
        maxTensorBytes: this.options.maxTensorBytes,
      });
    } catch (err) {
      this.fail(slot, requestIdOf(message), err);
      return;
    }
    const requestId = `${this.options.connectionId}.${(++this.counter).toString(36)}`;
    const request = {
      requestId,
      inputs: decoded.inputs,
      outputNames: outputNamesFor(mv, decoded),
      batchSize: decoded.batchSize,
      priority: decoded.priority,
      timeoutUs: decoded.timeoutUs,
      arrivalNs: received.arrivalNs,
      signal: this.abort.signal,
      ...(decoded.sequence === undefined ? {} : { sequence: decoded.sequence }),
    };
    const ids = decoded.id === undefined || decoded.id === '' ? [requestId] : [requestId, decoded.id];
    this.options.serving
      .infer({ ...this.options.routed, mv }, request, ids)
      .then(
        (result) => {
          slot.message = frameReply(
            encodeInferResponse(mv, decoded, result.outputs, { maxTensorBytes: this.options.maxTensorBytes }),
          );
          this.flush();
        },
        (err: unknown) => this.fail(slot, decoded.id, err, requestId),
      )
      .catch((err: unknown) => this.fail(slot, decoded.id, err, requestId));
  }

  private openSlot(): ReplySlot {
    this.inFlight++;
    const slot: ReplySlot = { message: undefined };
    this.replies.push(slot);
    return slot;
  }

  private fail(slot: ReplySlot, id: string | undefined, error: unknown, requestId?: string): void {
    const logId = requestId ?? this.options.connectionId;
    const err = reportError(error, logId, this.options.log, { fields: { request_id: requestId } });
    this.options.countError?.(err.code);
    slot.message = errorMessage(id, err, logId);
    this.flush();
  }

  private refuseForShutdown(received: Received): void {
    const slot = this.openSlot();
    let id: string | undefined;
    try {
      id = requestIdOf(unframeMessage(received.data, received.isBinary));
    } catch {
      id = undefined;
    }
    slot.message = errorMessage(id, new InferdError('INF_ERR_UNAVAILABLE', 'server is shutting down'));
    this.flush();
  }

  /** Sends the filled replies at the head of the order. */
  private flush(): void {
    while (this.replies[0]?.message !== undefined) {
      const { message } = this.replies.shift() as ReplySlot & { message: string | Buffer };
      if (this.socket.readyState !== this.socket.OPEN) {
        this.settle();
        continue;
      }
      // The slot stays counted until the bytes reach the socket, so a client that stops reading
      // its replies is paused like one that sends too fast.
      this.socket.send(message, () => this.settle());
    }
  }

  private settle(): void {
    this.inFlight--;
    if (this.closing) {
      this.closeIfDone();
      return;
    }
    while (this.backlog.length > 0 && this.mayStart()) {
      this.start(this.backlog.shift() as Received);
    }
    if (this.backlog.length === 0 && this.mayStart() && this.socket.isPaused) {
      this.socket.resume();
    }
  }

  private closeIfDone(): void {
    if (this.inFlight === 0 && this.socket.readyState === this.socket.OPEN) {
      this.socket.close(GOING_AWAY, 'server shutting down');
      // Read again, so the client's close frame arrives: a paused socket leaves ws waiting 30 s
      // for it before it drops the connection (and shutdown waits with it). Data messages still
      // in flight are answered 503 by receive().
      this.socket.resume();
    }
  }
}
