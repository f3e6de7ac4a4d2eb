// The one retry policy of the callers that resubmit work on their own (the batch API's runner and
// `inferd batch run`): which refusals say nothing about the request and are worth another try, and
// how long to wait before it.

import { isInferdError, type ErrorCode } from './inferd-error.js';

/** Refusals of the moment: the queue is full, or the model (or the server) cannot take work yet. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set([
  'INF_ERR_QUEUE_FULL',
  'INF_ERR_MODEL_UNAVAILABLE',
  'INF_ERR_UNAVAILABLE',
]);

/** A model still unavailable after this many tries in a row (a reload that failed, say) fails the request. */
export const MAX_UNAVAILABLE_TRIES = 8;
const BASE_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2000;

/** True for a refusal that says nothing about the request itself: trying again later may succeed. */
export function isTransient(err: unknown): boolean {
  return isInferdError(err) && TRANSIENT.has(err.code);
}

/** The wait before try `attempt + 1` (attempts count from 0): doubling from 50 ms, at most 2 s. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.min(Math.max(0, attempt), 10));
}

/**
 * How long to wait before trying again after try `attempt` (from 0) failed with `err`, or
 * undefined when the failure stands. A full queue drains, so it is retried for as long as it
 * lasts; an unavailable model up to MAX_UNAVAILABLE_TRIES tries in all.
 */
export function retryDelayMs(err: unknown, attempt: number): number | undefined {
  if (!isInferdError(err) || !isTransient(err)) return undefined;
  if (err.code !== 'INF_ERR_QUEUE_FULL' && attempt + 1 >= MAX_UNAVAILABLE_TRIES) return undefined;
  return backoffMs(attempt);
}
