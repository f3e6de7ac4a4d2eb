// Calls from the main thread into a worker thread, and the worker's answers: requests carry an id
// and the answer the same id, buffers in a transfer list move instead of being copied, a failure
// in the worker rejects its call, and a worker that exits unexpectedly rejects every call in flight
// and is replaced by a fresh one (a bounded number of times a minute) that the owner brings into
// service (loads the model again) before calls reach it. The worker side is worker-serve.ts.
//
// The owner supplies how errors are told: a worker's failure crosses as whatever its encoder made
// (a message by default) and `decodeError` turns it into the Error the call rejects with, so this
// module knows nothing of the project's error type.

import type { TransferListItem, Worker } from 'node:worker_threads';

/** One request type: what it carries to the worker, what it answers, and what it emits while it runs. */
export interface Method<Body, Result, Event = never> {
  readonly body: Body;
  readonly result: Result;
  readonly event: Event;
}

/** The request types a worker serves, by name. */
export type Protocol<P> = { readonly [K in keyof P]: Method<unknown, unknown, unknown> };

/** A request on the wire. Id 0 is a notification: the worker does not answer it. */
export interface RpcRequest {
  readonly id: number;
  readonly type: string;
  readonly body: unknown;
}

export const ANSWER_RESULT = 0;
export const ANSWER_FAILURE = 1;
export const ANSWER_EVENT = 2;

/** An answer on the wire: the result, the encoded failure, or one event of a call still running. */
export interface RpcAnswer {
  readonly id: number;
  readonly kind: typeof ANSWER_RESULT | typeof ANSWER_FAILURE | typeof ANSWER_EVENT;
  readonly body: unknown;
}

/** How a worker ended: its exit code, and the uncaught error that ended it, if one did. */
export interface WorkerExit {
  readonly code: number;
  readonly error: Error | undefined;
}

/** Sends a request straight to the current worker (init hooks use it: calls wait for init). */
export type Send<P extends Protocol<P>> = <K extends keyof P & string>(
  type: K,
  body: P[K]['body'],
  transfer?: readonly TransferListItem[],
) => Promise<P[K]['result']>;

export interface RpcClientOptions<P extends Protocol<P>> {
  /** Starts a worker: the first one, and each replacement. */
  spawn(): Worker;
  /**
   * Brings a fresh worker into service before any call reaches it (opens the model; after a crash,
   * rebuilds the state the owner keeps in the worker). A rejection fails start(), or stops the
   * client when it re-initialises a replacement.
   */
  init?(send: Send<P>, restarted: boolean): Promise<void>;
  /** The Error a call rejects with, from the failure its worker sent back. */
  decodeError(error: unknown, type: keyof P & string): Error;
  /** The Error calls in flight reject with when their worker exits. */
  crashError(exit: WorkerExit): Error;
  /** The Error calls reject with once the client has stopped: `reason` is why (undefined: closed). */
  stoppedError(reason: Error | undefined): Error;
  /** The Error a call rejects with when its request cannot be posted (not cloneable, say). */
  sendError?(cause: Error, type: keyof P & string): Error;
  /** Told of each crash, after its calls in flight (`inFlight` of them) were rejected with `error`. */
  onCrash?(inFlight: number, error: Error): void;
  /** Replacements allowed within `restartWindowMs` before the client stops for good (default 3; 0: never). */
  maxRestarts?: number;
  restartWindowMs?: number;
}

interface Pending<T> {
  readonly type: T;
  resolve(result: unknown): void;
  reject(err: unknown): void;
  readonly onEvent: ((event: never, id: number) => void) | undefined;
}

const STARTING = 0;
const READY = 1;
const STOPPED = 2;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class RpcClient<P extends Protocol<P>> {
  private current: Worker | undefined;
  private state: typeof STARTING | typeof READY | typeof STOPPED = STARTING;
  /** Settles (never rejects) when the worker being started is ready or the client stopped. */
  private gate: Promise<void> | undefined;
  private stopReason: Error | undefined;
  private lastExit: WorkerExit | undefined;
  private closing: Promise<void> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending<keyof P & string>>();
  private restartCount = 0;
  private readonly recentRestarts: number[] = [];
  private readonly maxRestarts: number;
  private readonly restartWindowMs: number;
  private readonly direct: Send<P>;
  private readonly onAnswer = (msg: RpcAnswer): void => this.answer(msg);

  constructor(private readonly options: RpcClientOptions<P>) {
    this.maxRestarts = options.maxRestarts ?? 3;
    this.restartWindowMs = options.restartWindowMs ?? 60_000;
    this.direct = (type, body, transfer) => this.send(type, body, transfer, undefined);
  }

  /** False once closed, or when a crashed worker could not be replaced. */
  get alive(): boolean {
    return this.state !== STOPPED;
  }

  /** Times a crashed worker was replaced. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The worker now serving, if one is (tests end it to stand in for a crash). */
  get worker(): Worker | undefined {
    return this.current;
  }

  /** Starts the first worker and runs init on it; rejects with init's reason (the worker is ended). */
  start(): Promise<void> {
    const started = this.boot(false);
    this.gate = started.then(
      () => {
        this.state = READY;
      },
      (err: unknown) => this.stop(asError(err)),
    );
    return started;
  }

  /**
   * Sends a request and resolves with the worker's result. Buffers in `transfer` move to the worker
   * (detached here). `onEvent` receives what the worker emits for this call while it runs; if it
   * throws, the call rejects with what it threw. While a replacement worker starts, calls wait for it.
   */
  call<K extends keyof P & string>(
    type: K,
    body: P[K]['body'],
    transfer?: readonly TransferListItem[],
    onEvent?: (event: P[K]['event'], id: number) => void,
  ): Promise<P[K]['result']> {
    if (this.state === READY) return this.send(type, body, transfer, onEvent);
    return this.later(type, body, transfer, onEvent);
  }

  /** Posts a request the worker does not answer; dropped when no worker is running. */
  notify<K extends keyof P & string>(type: K, body: P[K]['body'], transfer?: readonly TransferListItem[]): void {
    this.current?.postMessage({ id: 0, type, body } satisfies RpcRequest, transfer);
  }

  /**
   * Stops the client: waits for a replacement being started, sends `type` (the worker's own
   * clean-up, given `timeoutMs` to answer), then ends the worker. Calls still in flight reject.
   */
  close<K extends keyof P & string>(type?: K, body?: P[K]['body'], timeoutMs = 5000): Promise<void> {
    this.closing ??= this.shutdown(type, body, timeoutMs);
    return this.closing;
  }

  private async shutdown(type: (keyof P & string) | undefined, body: unknown, timeoutMs: number): Promise<void> {
    while (this.state === STARTING && this.gate !== undefined) await this.gate;
    const ready = this.state === READY;
    this.state = STOPPED;
    this.stopReason = undefined;
    const worker = this.current;
    if (worker === undefined) return;
    if (ready && type !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.send(type, body, undefined, undefined).catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    this.current = undefined;
    await worker.terminate();
    this.rejectAll(this.options.stoppedError(undefined));
  }

  private async later(
    type: keyof P & string,
    body: unknown,
    transfer: readonly TransferListItem[] | undefined,
    onEvent: ((event: never, id: number) => void) | undefined,
  ): Promise<never> {
    while (this.state === STARTING && this.gate !== undefined) await this.gate;
    if (this.state !== READY) throw this.options.stoppedError(this.stopReason);
    return this.send(type, body, transfer, onEvent);
  }

  private send(
    type: keyof P & string,
    body: unknown,
    transfer: readonly TransferListItem[] | undefined,
    onEvent: ((event: never, id: number) => void) | undefined,
  ): Promise<never> {
    const worker = this.current;
    // Only init hooks send past the gate without a check: their worker has died under them.
    if (worker === undefined)
      return Promise.reject(this.options.crashError(this.lastExit ?? { code: 1, error: undefined }));
    const id = this.nextId++;
    return new Promise<never>((resolve, reject) => {
      this.pending.set(id, { type, resolve, reject, onEvent });
      try {
        worker.postMessage({ id, type, body } satisfies RpcRequest, transfer);
      } catch (err) {
        this.pending.delete(id);
        const cause = asError(err);
        reject(this.options.sendError?.(cause, type) ?? cause);
      }
    });
  }

  private answer(msg: RpcAnswer): void {
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    if (msg.kind === ANSWER_EVENT) {
      try {
        p.onEvent?.(msg.body as never, msg.id);
      } catch (err) {
        this.pending.delete(msg.id);
        p.reject(err);
      }
      return;
    }
    this.pending.delete(msg.id);
    if (msg.kind === ANSWER_RESULT) p.resolve(msg.body);
    else p.reject(this.options.decodeError(msg.body, p.type));
  }

  private async boot(restarted: boolean): Promise<void> {
    const worker = this.options.spawn();
    this.current = worker;
    let error: Error | undefined;
    worker.on('message', this.onAnswer);
    worker.on('error', (err) => {
      error = err;
    });
    worker.once('exit', (code) => this.exited(worker, { code, error }));
    try {
      await this.options.init?.(this.direct, restarted);
    } catch (err) {
      if (this.current === worker) this.current = undefined;
      await worker.terminate();
      throw err;
    }
  }

  private exited(worker: Worker, exit: WorkerExit): void {
    // A worker this client ended itself (closing, or after a failed init) is not a crash.
    if (worker !== this.current) return;
    this.current = undefined;
    this.lastExit = exit;
    const error = this.options.crashError(exit);
    const inFlight = this.pending.size;
    this.rejectAll(error);
    // While starting, the init hook sees its call rejected and decides; a stopped client stays so.
    if (this.state !== READY) return;
    this.options.onCrash?.(inFlight, error);
    const now = Date.now();
    while (this.recentRestarts.length > 0 && now - (this.recentRestarts[0] ?? 0) > this.restartWindowMs)
      this.recentRestarts.shift();
    if (this.recentRestarts.length >= this.maxRestarts) {
      // Crashing in a loop: stop rather than restart again.
      this.stop(error);
      return;
    }
    this.recentRestarts.push(now);
    this.restartCount++;
    this.state = STARTING;
    this.gate = this.boot(true).then(
      () => {
        if (this.state === STARTING) this.state = READY;
      },
      (err: unknown) => this.stop(asError(err)),
    );
  }

  private stop(reason: Error): void {
    this.state = STOPPED;
    this.stopReason = reason;
  }

  private rejectAll(err: Error): void {
    if (this.pending.size === 0) return;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const p of calls) p.reject(err);
  }
}
