// Per-key quotas: requests per second (GCRA), concurrent requests (a counter), tokens per minute and
// tensor bytes per minute (GCRA), kept per key id (never the key itself) in one in-process ledger.
// Each operation returns the response headers to send and, when it refuses, the reason, the wait
// and a message naming the limit; the edges turn a refusal into their protocol's 429.
//
// Costs known before the work (the request itself, prompt tokens, a Content-Length) are checked and
// charged only if they fit; costs known after it (completion tokens, bytes read) are charged
// unconditionally and may leave the key in debt, so its next requests wait until it recovers.
// Concurrent requests can therefore overshoot a token quota by what they generate; the debt is
// paid back before the key is served again.

import { GcraLimiter, type GcraResult } from './gcra.js';

/** A key's quotas; an absent field is unlimited. Every present value must be a positive number. */
export interface KeyQuota {
  readonly requestsPerSecond?: number;
  /** Requests that may arrive at once; defaults to requestsPerSecond (at least 1). */
  readonly burst?: number;
  readonly concurrentRequests?: number;
  readonly tokensPerMinute?: number;
  readonly tensorBytesPerMinute?: number;
}

/** Which limit refused: the `reason` label of inferd_key_quota_refusals_total. */
export type QuotaReason = 'requests' | 'concurrency' | 'tokens' | 'tensor_bytes';

export const QUOTA_REASONS: readonly QuotaReason[] = ['requests', 'concurrency', 'tokens', 'tensor_bytes'];

/** Response headers, names in lower case. */
export type QuotaHeaders = Record<string, string>;

/** The ledger's time source, in milliseconds (Date.now in production, a manual clock in tests). */
export interface QuotaClock {
  now(): number;
}

export interface QuotaCounter<L extends string> {
  inc(labels: Record<L, string>, value?: number): void;
}

export interface QuotaGauge<L extends string> {
  set(labels: Record<L, string>, value: number): void;
}

/** The metrics the ledger records; observability's Metrics has them under these names. */
export interface QuotaMetrics {
  readonly keyRequests: QuotaCounter<'key_id' | 'outcome'>;
  readonly keyQuotaRefusals: QuotaCounter<'key_id' | 'reason'>;
  readonly keyPromptTokens: QuotaCounter<'key_id'>;
  readonly keyCompletionTokens: QuotaCounter<'key_id'>;
  readonly keyTensorBytes: QuotaCounter<'key_id'>;
  readonly keyConcurrentRequests: QuotaGauge<'key_id'>;
}

/** A request or a cost let through, with the headers to send on the response. */
export interface QuotaGrant {
  readonly ok: true;
  readonly headers: QuotaHeaders;
}

/** An admitted request: call release() when its response is finished (more calls do nothing). */
export interface Admission extends QuotaGrant {
  release(): void;
}

/** Refused for now: retrying after `retryAfterSeconds` may succeed (a 429 with Retry-After). */
export interface QuotaWait<R extends QuotaReason = QuotaReason> {
  readonly ok: false;
  readonly reason: R;
  readonly tooLarge: false;
  /** Whole seconds, rounded up, at least 1; also in `headers['retry-after']`. */
  readonly retryAfterSeconds: number;
  readonly headers: QuotaHeaders;
  readonly message: string;
}

/**
 * Refused for good: this one request costs more than the key's whole budget, so no wait helps.
 * `headers` has no Retry-After; answer with a client error rather than a 429.
 */
export interface QuotaTooLarge<R extends QuotaReason = QuotaReason> {
  readonly ok: false;
  readonly reason: R;
  readonly tooLarge: true;
  readonly retryAfterSeconds: null;
  readonly headers: QuotaHeaders;
  readonly message: string;
}

export type QuotaRefusal<R extends QuotaReason = QuotaReason> = QuotaWait<R> | QuotaTooLarge<R>;

export type AdmitResult = Admission | QuotaWait<'requests' | 'concurrency'>;

export type TokenReservation = QuotaGrant | QuotaRefusal<'tokens'>;

export type TensorBytesResult = QuotaGrant | QuotaRefusal<'tensor_bytes'>;

/** One key id's counts since the ledger started, for a stats endpoint. */
export interface KeyUsage {
  readonly keyId: string;
  /** Requests admitRequest let through. */
  readonly admitted: number;
  /**
   * Refusals by the limit that refused. `requests` and `concurrency` are refusals at admission;
   * `tokens` and `tensor_bytes` come later, for requests already counted in `admitted`.
   */
  readonly refused: Readonly<Record<QuotaReason, number>>;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly tensorBytes: number;
  /** Requests admitted and not yet released. */
  readonly concurrent: number;
}

/** The wait a concurrency refusal names: a slot frees when some running request ends. */
const CONCURRENCY_RETRY_SECONDS = 1;

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;

/** Float rounding to forgive before rounding a duration up. */
const ROUNDING_MS = 1e-6;

type LimiterKind = 'requests' | 'tokens' | 'tensor_bytes';

interface KeyState {
  admitted: number;
  refused: Record<QuotaReason, number>;
  promptTokens: number;
  completionTokens: number;
  tensorBytes: number;
  concurrent: number;
}

export class QuotaLedger {
  private readonly keys = new Map<string, KeyState>();
  /** One limiter per kind and parameters: keys sharing a quota share a map. */
  private readonly limiters = new Map<string, GcraLimiter>();

  constructor(
    private readonly clock: QuotaClock,
    private readonly metrics: QuotaMetrics,
  ) {}

  /**
   * Admits a request against the key's concurrency and requests-per-second quotas. Concurrency is
   * checked first, so a request refused for it is not charged to the rate. The grant's headers
   * carry the requests-per-second state (none without that quota).
   */
  admitRequest(keyId: string, quota: KeyQuota): AdmitResult {
    const now = this.clock.now();
    const state = this.state(keyId);
    const maxConcurrent = quota.concurrentRequests;
    if (maxConcurrent !== undefined && state.concurrent >= maxConcurrent) {
      const message = overQuota(keyId, `${maxConcurrent} concurrent requests`, CONCURRENCY_RETRY_SECONDS);
      return this.wait(keyId, state, 'concurrency', CONCURRENCY_RETRY_SECONDS, {}, message);
    }
    let headers: QuotaHeaders = {};
    const rps = quota.requestsPerSecond;
    if (rps !== undefined) {
      const limiter = this.limiter('requests', rps, SECOND_MS, quota.burst, now);
      const result = limiter.take(keyId, 1, now);
      headers = requestHeaders(limiter, result, quota.tokensPerMinute !== undefined);
      if (!result.allowed) {
        const seconds = retryAfterSeconds(result.retryAfterMs);
        return this.wait(
          keyId,
          state,
          'requests',
          seconds,
          headers,
          overQuota(keyId, `${rps} requests per second`, seconds),
        );
      }
    }
    state.admitted++;
    state.concurrent++;
    this.metrics.keyRequests.inc({ key_id: keyId, outcome: 'admitted' });
    this.metrics.keyConcurrentRequests.set({ key_id: keyId }, state.concurrent);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      state.concurrent--;
      this.metrics.keyConcurrentRequests.set({ key_id: keyId }, state.concurrent);
    };
    return { ok: true, headers, release };
  }

  /**
   * Before generation: refuses when the prompt alone does not fit the tokens-per-minute budget left
   * (charging nothing), else charges the prompt tokens. Without that quota it only counts them.
   */
  reserveTokens(keyId: string, quota: KeyQuota, promptTokens: number): TokenReservation {
    const now = this.clock.now();
    const state = this.state(keyId);
    const tpm = quota.tokensPerMinute;
    let headers: QuotaHeaders = {};
    if (tpm !== undefined) {
      const limiter = this.limiter('tokens', tpm, MINUTE_MS, undefined, now);
      const result = limiter.take(keyId, promptTokens, now);
      headers = tokenHeaders(limiter, result);
      if (result.exceedsBurst) {
        const message = `this request's ${promptTokens} prompt tokens exceed the key's quota of ${tpm} tokens per minute`;
        return this.tooLarge(keyId, state, 'tokens', headers, message);
      }
      if (!result.allowed) {
        const seconds = retryAfterSeconds(result.retryAfterMs);
        return this.wait(
          keyId,
          state,
          'tokens',
          seconds,
          headers,
          overQuota(keyId, `${tpm} tokens per minute`, seconds),
        );
      }
    }
    state.promptTokens += promptTokens;
    this.metrics.keyPromptTokens.inc({ key_id: keyId }, promptTokens);
    return { ok: true, headers };
  }

  /** After generation: charges the completion tokens, whether they fit or not. */
  chargeTokens(keyId: string, quota: KeyQuota, completionTokens: number): QuotaGrant {
    const now = this.clock.now();
    const state = this.state(keyId);
    const tpm = quota.tokensPerMinute;
    let headers: QuotaHeaders = {};
    if (tpm !== undefined) {
      const limiter = this.limiter('tokens', tpm, MINUTE_MS, undefined, now);
      headers = tokenHeaders(limiter, limiter.charge(keyId, completionTokens, now));
    }
    state.completionTokens += completionTokens;
    this.metrics.keyCompletionTokens.inc({ key_id: keyId }, completionTokens);
    return { ok: true, headers };
  }

  /**
   * Tensor bytes against the tensor-bytes-per-minute quota. With `refuse: true` (the size is known
   * before the body is read, e.g. from Content-Length) bytes that do not fit are refused and not
   * charged; with `refuse: false` (counted after the fact) they are charged whether they fit or
   * not. There are no standard headers for this quota: a grant's headers are empty and a wait
   * refusal's hold only Retry-After.
   */
  chargeTensorBytes(keyId: string, quota: KeyQuota, bytes: number, options: { refuse: boolean }): TensorBytesResult {
    const now = this.clock.now();
    const state = this.state(keyId);
    const bpm = quota.tensorBytesPerMinute;
    if (bpm !== undefined) {
      const limiter = this.limiter('tensor_bytes', bpm, MINUTE_MS, undefined, now);
      if (options.refuse) {
        const result = limiter.take(keyId, bytes, now);
        if (result.exceedsBurst) {
          const message = `this request's ${bytes} tensor bytes exceed the key's quota of ${bpm} tensor bytes per minute`;
          return this.tooLarge(keyId, state, 'tensor_bytes', {}, message);
        }
        if (!result.allowed) {
          const seconds = retryAfterSeconds(result.retryAfterMs);
          const message = overQuota(keyId, `${bpm} tensor bytes per minute`, seconds);
          return this.wait(keyId, state, 'tensor_bytes', seconds, {}, message);
        }
      } else {
        limiter.charge(keyId, bytes, now);
      }
    }
    state.tensorBytes += bytes;
    this.metrics.keyTensorBytes.inc({ key_id: keyId }, bytes);
    return { ok: true, headers: {} };
  }

  /** Every key id seen so far, sorted, with its counts. */
  usage(): KeyUsage[] {
    return [...this.keys]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([keyId, s]) => ({
        keyId,
        admitted: s.admitted,
        refused: { ...s.refused },
        promptTokens: s.promptTokens,
        completionTokens: s.completionTokens,
        tensorBytes: s.tensorBytes,
        concurrent: s.concurrent,
      }));
  }

  private state(keyId: string): KeyState {
    let state = this.keys.get(keyId);
    if (state === undefined) {
      state = {
        admitted: 0,
        refused: { requests: 0, concurrency: 0, tokens: 0, tensor_bytes: 0 },
        promptTokens: 0,
        completionTokens: 0,
        tensorBytes: 0,
        concurrent: 0,
      };
      this.keys.set(keyId, state);
    }
    return state;
  }

  /**
   * The limiter for a kind and its parameters. A key whose quota changes moves to another limiter
   * and starts there fully replenished. Limiters left empty are dropped when a new one is made.
   */
  private limiter(
    kind: LimiterKind,
    limit: number,
    periodMs: number,
    burst: number | undefined,
    nowMs: number,
  ): GcraLimiter {
    const id = `${kind}|${limit}|${periodMs}|${burst ?? 'default'}`;
    let limiter = this.limiters.get(id);
    if (limiter === undefined) {
      for (const [otherId, other] of this.limiters) {
        other.sweep(nowMs);
        if (other.size === 0) this.limiters.delete(otherId);
      }
      limiter = new GcraLimiter({ limit, periodMs, ...(burst === undefined ? {} : { burst }) });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private countRefusal(keyId: string, state: KeyState, reason: QuotaReason): void {
    state.refused[reason]++;
    if (reason === 'requests' || reason === 'concurrency')
      this.metrics.keyRequests.inc({ key_id: keyId, outcome: 'refused' });
    this.metrics.keyQuotaRefusals.inc({ key_id: keyId, reason });
  }

  private wait<R extends QuotaReason>(
    keyId: string,
    state: KeyState,
    reason: R,
    seconds: number,
    headers: QuotaHeaders,
    message: string,
  ): QuotaWait<R> {
    this.countRefusal(keyId, state, reason);
    return {
      ok: false,
      reason,
      tooLarge: false,
      retryAfterSeconds: seconds,
      headers: { 'retry-after': String(seconds), ...headers },
      message,
    };
  }

  private tooLarge<R extends QuotaReason>(
    keyId: string,
    state: KeyState,
    reason: R,
    headers: QuotaHeaders,
    message: string,
  ): QuotaTooLarge<R> {
    this.countRefusal(keyId, state, reason);
    return { ok: false, reason, tooLarge: true, retryAfterSeconds: null, headers, message };
  }
}

function overQuota(keyId: string, quota: string, seconds: number): string {
  return `API key '${keyId}' is over its quota of ${quota}; retry after ${seconds} s`;
}

/** Retry-After: whole seconds, rounded up, at least 1. */
function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil((ms - ROUNDING_MS) / SECOND_MS));
}

/**
 * The requests-per-second headers: X-RateLimit-Limit is the burst (the most requests a fully
 * replenished key may send at once, which Remaining counts down from; the per-second quota unless
 * `burst` is set), X-RateLimit-Reset the whole seconds, rounded up, until the key is full again.
 * A key with a token quota also gets OpenAI's -requests counterparts.
 */
function requestHeaders(limiter: GcraLimiter, result: GcraResult, openAi: boolean): QuotaHeaders {
  const headers: QuotaHeaders = {
    'x-ratelimit-limit': String(limiter.burst),
    'x-ratelimit-remaining': String(result.remaining),
    'x-ratelimit-reset': String(Math.max(0, Math.ceil((result.resetMs - ROUNDING_MS) / SECOND_MS))),
  };
  if (openAi) {
    headers['x-ratelimit-limit-requests'] = String(limiter.burst);
    headers['x-ratelimit-remaining-requests'] = String(result.remaining);
    headers['x-ratelimit-reset-requests'] = formatDuration(result.resetMs);
  }
  return headers;
}

/** OpenAI's token headers: the tokens per minute, the whole tokens left, the time until full. */
function tokenHeaders(limiter: GcraLimiter, result: GcraResult): QuotaHeaders {
  return {
    'x-ratelimit-limit-tokens': String(limiter.burst),
    'x-ratelimit-remaining-tokens': String(result.remaining),
    'x-ratelimit-reset-tokens': formatDuration(result.resetMs),
  };
}

/**
 * A duration as OpenAI's rate-limit headers write it (Go's time.Duration format), rounded up to
 * the millisecond: `0s`, `12ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`.
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms - ROUNDING_MS));
  if (total === 0) return '0s';
  if (total < SECOND_MS) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / MINUTE_MS);
  const msOfMinute = total % MINUTE_MS;
  const whole = Math.floor(msOfMinute / SECOND_MS);
  const fraction = msOfMinute % SECOND_MS;
  const seconds = fraction === 0 ? `${whole}` : `${whole}.${String(fraction).padStart(3, '0').replace(/0+$/, '')}`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
