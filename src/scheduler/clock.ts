// Where the schedulers read the time: a monotonic nanosecond clock. `systemClock` is
// process.hrtime.bigint(), which the edges stamp a request's arrival with, so deadlines and queue
// times compare like with like. Tests pass a clock driven by node's mock timers (and stamp their
// requests with it), so deadlines are exercised without waiting.

export interface Clock {
  /** Nanoseconds on a monotonic scale (process.hrtime.bigint() by default). */
  nowNs(): bigint;
}

export const systemClock: Clock = { nowNs: () => process.hrtime.bigint() };

/** Node clamps delays past 2^31-1 ms (about 24 days) to 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
