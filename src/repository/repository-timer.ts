// The repository's timer and clock: retry loads after a failure, on-demand load timeouts and the
// memory budget's waits for a model to fall idle. Injectable, so tests drive them without sleeping.

/** Arms a timer; `set` returns what cancels it. */
export interface RetryTimer {
  set(fn: () => void, ms: number): () => void;
  /** Milliseconds on a steady scale. */
  now(): number;
}

export const systemRetryTimer: RetryTimer = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  now: () => Date.now(),
};
