// The repository's timer driven by hand: timers fire only when the test moves the time on, and
// every delay asked for is recorded.

import type { RetryTimer } from '../../src/repository/repository-timer.js';

export class ManualTimer implements RetryTimer {
  readonly delays: number[] = [];
  private nowMs = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  set(fn: () => void, ms: number): () => void {
    const timer = { at: this.nowMs + ms, fn, cancelled: false };
    this.delays.push(ms);
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  now(): number {
    return this.nowMs;
  }

  /** Timers armed and not fired or cancelled. */
  get armed(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advance(ms: number): void {
    this.nowMs += ms;
    const due = this.timers.filter((t) => !t.cancelled && t.at <= this.nowMs);
    this.timers = this.timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  }
}
