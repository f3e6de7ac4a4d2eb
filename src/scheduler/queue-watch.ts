// What every scheduler does for a request while it waits: a timer at its deadline and a listener
// on its AbortSignal, each taking it out of the queue, and both removed once it leaves.

import { InferdError } from '../errors/index.js';
import type { InferRequest } from '../core/infer-request.js';
import type { FailureReason } from '../observability/metrics.js';

/** Node clamps delays past 2^31-1 ms (about 24 days) to 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Watched {
  readonly request: InferRequest;
  onAbort: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Arms the deadline timer and the cancel listener; `remove` takes the item out of its queue and
 * fails it. Deadlines beyond the timer range are left to dispatch, which checks them too.
 */
export function watchWhileQueued<T extends Watched>(
  item: T,
  deadlineNs: bigint | undefined,
  defaultTimeoutUs: number,
  remove: (item: T, err: InferdError, reason: FailureReason) => void,
): void {
  const ms = deadlineNs === undefined ? Infinity : Math.max(0, Number(deadlineNs - process.hrtime.bigint()) / 1e6);
  if (ms <= MAX_TIMER_MS) {
    item.timer = setTimeout(() => remove(item, queueDeadlineError(item.request, defaultTimeoutUs), 'REJECTED'), ms);
    item.timer.unref();
  }
  const signal = item.request.signal;
  if (signal !== undefined) {
    item.onAbort = () =>
      remove(item, new InferdError('INF_ERR_CANCELLED', 'request was cancelled by the client'), 'CANCELED');
    signal.addEventListener('abort', item.onAbort, { once: true });
  }
}

/** Stops listening for cancellation and the deadline once a request leaves the queue. */
export function unwatch(item: Watched): void {
  if (item.onAbort !== undefined) item.request.signal?.removeEventListener('abort', item.onAbort);
  if (item.timer !== undefined) clearTimeout(item.timer);
}

export function queueDeadlineError(request: InferRequest, defaultTimeoutUs: number): InferdError {
  const us = request.timeoutUs || defaultTimeoutUs;
  return new InferdError(
    'INF_ERR_DEADLINE_EXCEEDED',
    `request timed out: its ${us} µs timeout passed while it waited in the queue`,
  );
}
