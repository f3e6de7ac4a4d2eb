// The load loop. Concurrency mode is a closed loop: N workers, each with its own kept-alive
// connection, send → await → send again, so exactly N requests are outstanding. Request-rate
// mode is an open loop: sends at Poisson arrival times whatever the replies do, with the number
// outstanding capped so an overloaded server cannot make the client grow without bound.

import type { HttpClient } from './http-client.js';
import type { InferBody } from './infer-body.js';
import type { WindowRecorder } from './measurement-windows.js';

/**
 * A send more than this behind its scheduled time counts as late. Node's timers fire up to about
 * a millisecond after their due time, so lateness under this is timer granularity, not a client
 * that cannot keep up.
 */
export const LATE_SEND_MS = 2;

export type SendResult =
  { readonly ok: true; readonly latencyNs: number } | { readonly ok: false; readonly message: string };

/** One infer request; never rejects (a transport failure is a failed result). */
export type SendOnce = () => Promise<SendResult>;

export function inferSender(client: HttpClient, path: string, body: InferBody): SendOnce {
  return async () => {
    try {
      const reply = await client.request('POST', path, body.headers, body.body, false);
      if (reply.status === 200) return { ok: true, latencyNs: reply.latencyNs };
      let detail = reply.body.toString('utf8').slice(0, 500);
      try {
        const parsed = JSON.parse(detail) as { error?: unknown };
        if (typeof parsed.error === 'string') detail = parsed.error;
      } catch {
        // Not a v2 error body: keep the text.
      }
      return { ok: false, message: `HTTP ${reply.status}: ${detail}` };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  };
}

function record(recorder: WindowRecorder, result: SendResult): void {
  if (result.ok) recorder.recordSuccess(result.latencyNs);
  else recorder.recordError(result.message);
}

export interface LoadLoop {
  /** Stops sending and resolves once every outstanding request has finished. */
  stop(): Promise<void>;
}

/** Starts `concurrency` workers, each looping send → await. */
export function startConcurrencyLoad(send: SendOnce, recorder: WindowRecorder, concurrency: number): LoadLoop {
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped) record(recorder, await send());
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

export interface RateOptions {
  /** Mean arrivals per second. */
  readonly rate: number;
  /** Arrivals that find this many requests outstanding are dropped (and counted). */
  readonly maxOutstanding: number;
  /** Uniform [0, 1) source for the exponential gaps; seeded, so runs repeat. */
  readonly random: () => number;
}

/**
 * Sends at Poisson arrival times: exponential gaps with mean 1/rate. One timer is re-armed for
 * the next arrival; a timer that fires late sends every arrival already due, so the achieved rate
 * holds even when single sends slip.
 */
export function startRateLoad(send: SendOnce, recorder: WindowRecorder, options: RateOptions): LoadLoop {
  let stopped = false;
  let outstanding = 0;
  let drained: (() => void) | undefined;
  const gapMs = (): number => (-Math.log(1 - options.random()) / options.rate) * 1000;
  let nextAt = performance.now() + gapMs();
  let timer: NodeJS.Timeout | undefined;

  const fire = (): void => {
    outstanding += 1;
    void send().then((result) => {
      outstanding -= 1;
      record(recorder, result);
      if (outstanding === 0) drained?.();
    });
  };

  const tick = (): void => {
    const now = performance.now();
    while (!stopped && nextAt <= now) {
      if (outstanding >= options.maxOutstanding) recorder.recordDrop();
      else {
        recorder.recordSend(now - nextAt > LATE_SEND_MS);
        fire();
      }
      nextAt += gapMs();
    }
    if (!stopped) timer = setTimeout(tick, Math.max(0, nextAt - performance.now()));
  };
  timer = setTimeout(tick, Math.max(0, nextAt - performance.now()));

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (outstanding === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (drained = resolve));
    },
  };
}
