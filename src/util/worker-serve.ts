// The worker side of worker-rpc.ts: serves the requests posted to this worker thread by type. A
// handler's result (or the Reply wrapping it with a transfer list) goes back under the request's
// id; what it throws goes back encoded (its message by default); notifications get no answer.

import { parentPort, type TransferListItem } from 'node:worker_threads';
import {
  ANSWER_EVENT,
  ANSWER_FAILURE,
  ANSWER_RESULT,
  type Protocol,
  type RpcAnswer,
  type RpcRequest,
} from './worker-rpc.js';

/** A result sent with a transfer list: its buffers move to the main thread instead of being copied. */
export class Reply<T> {
  constructor(
    readonly value: T,
    readonly transfer: readonly TransferListItem[],
  ) {}
}

type Answer<T> = T | Reply<T>;

/** One handler per request type; `id` names the call (for emit), 0 for a notification. */
export type Handlers<P extends Protocol<P>> = {
  readonly [K in keyof P]: (body: P[K]['body'], id: number) => Answer<P[K]['result']> | Promise<Answer<P[K]['result']>>;
};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Serves requests arriving on this worker's parent port until the worker ends. */
export function serve<P extends Protocol<P>>(
  handlers: Handlers<P>,
  encodeError: (err: unknown) => unknown = messageOf,
): void {
  const port = parentPort;
  if (port === null) throw new Error('serve() must run in a worker thread');
  const table = handlers as unknown as Record<string, ((body: unknown, id: number) => unknown) | undefined>;
  const fail = (id: number, err: unknown): void => {
    // A notification that fails has no caller to tell.
    if (id !== 0) port.postMessage({ id, kind: ANSWER_FAILURE, body: encodeError(err) } satisfies RpcAnswer);
  };
  const answer = (id: number, out: unknown): void => {
    if (id === 0) return;
    try {
      if (out instanceof Reply) {
        const reply = out as Reply<unknown>;
        port.postMessage({ id, kind: ANSWER_RESULT, body: reply.value } satisfies RpcAnswer, reply.transfer);
      } else port.postMessage({ id, kind: ANSWER_RESULT, body: out } satisfies RpcAnswer);
    } catch (err) {
      fail(id, err);
    }
  };
  port.on('message', (msg: RpcRequest) => {
    const handler = table[msg.type];
    if (handler === undefined) return fail(msg.id, new Error(`no handler for '${msg.type}' requests`));
    let out: unknown;
    try {
      out = handler(msg.body, msg.id);
    } catch (err) {
      return fail(msg.id, err);
    }
    if (out instanceof Promise)
      out.then(
        (value: unknown) => answer(msg.id, value),
        (err: unknown) => fail(msg.id, err),
      );
    else answer(msg.id, out);
  });
}

/** Sends one event of the running call `id` to its caller's onEvent. */
export function emit<E>(id: number, event: E, transfer?: readonly TransferListItem[]): void {
  parentPort?.postMessage({ id, kind: ANSWER_EVENT, body: event } satisfies RpcAnswer, transfer);
}

/** Runs the work handed to it one piece after another, in the order handed over. */
export function sequential(): <T>(work: () => T | Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => T | Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };
}
