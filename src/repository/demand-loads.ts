// Loads on demand under the memory budget: every request for an unloaded model shares one load,
// the requests waiting on a model are bounded, and each waits at most the load timeout. Past
// either bound a request is a 503 with Retry-After; the load itself goes on for the next ones.

import { InferdError } from '../errors/index.js';
import type { RetryTimer } from './repository-timer.js';

export interface DemandLoadLimits {
  /** Requests one model may have waiting for its load. */
  readonly maxWaiters: number;
  /** How long one request waits for the load. */
  readonly timeoutMs: number;
}

interface PendingLoad {
  readonly done: Promise<void>;
  waiters: number;
}

export class DemandLoads {
  private readonly pending = new Map<string, PendingLoad>();

  constructor(
    private readonly limits: DemandLoadLimits,
    private readonly timer: RetryTimer,
  ) {}

  /** Requests waiting for the model's load now. */
  waiters(name: string): number {
    return this.pending.get(name)?.waiters ?? 0;
  }

  /** A load of the model is under way. */
  loading(name: string): boolean {
    return this.pending.has(name);
  }

  /**
   * Starts the model's load (unless one is under way) without waiting for it: edges that cannot
   * wait answer 503 with Retry-After and the load goes on.
   */
  start(name: string, load: () => Promise<void>): Promise<void> {
    let p = this.pending.get(name);
    if (p === undefined) {
      const entry: PendingLoad = {
        done: load().finally(() => {
          if (this.pending.get(name) === entry) this.pending.delete(name);
        }),
        waiters: 0,
      };
      // Each waiter reports the failure; an unwaited load must not be an unhandled rejection.
      entry.done.catch(() => undefined);
      this.pending.set(name, entry);
      p = entry;
    }
    return p.done;
  }

  /** Waits for the model's load, starting it unless one is under way; bounded in number and time. */
  async wait(name: string, load: () => Promise<void>): Promise<void> {
    const current = this.pending.get(name);
    if (current !== undefined && current.waiters >= this.limits.maxWaiters)
      throw unavailable(
        `model '${name}' is loading and ${current.waiters} requests already wait for it (--model-load-max-waiters); retry shortly`,
        1,
      );
    const done = this.start(name, load);
    const p = this.pending.get(name);
    if (p !== undefined) p.waiters++;
    let cancel: () => void = () => undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        cancel = this.timer.set(() => {
          const seconds = Math.ceil(this.limits.timeoutMs / 1000);
          reject(
            unavailable(
              `model '${name}' did not load within ${seconds} s (--model-load-timeout-secs); the load goes on, retry shortly`,
              Math.max(1, Math.min(seconds, 5)),
            ),
          );
        }, this.limits.timeoutMs);
        done.then(resolve, reject);
      });
    } finally {
      cancel();
      if (p !== undefined) p.waiters--;
    }
  }
}

function unavailable(message: string, retryAfterSeconds: number): InferdError {
  return new InferdError('INF_ERR_MODEL_UNAVAILABLE', message, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}
