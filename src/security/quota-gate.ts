// Between the edges and the quota ledger: a principal with a key is admitted (or refused with the
// 429 and its headers, or a 400/413 for one request larger than the whole budget), its usage is
// counted per key id whether it has quotas or not, and the OpenAI edge gets a token budget that
// reserves prompt tokens before generation and charges completion tokens after it. Also the limiter
// of repeated authentication failures per address.

import { InferdError } from '../errors/index.js';
import type { FailureGate, Principal } from './access-policy.js';
import { GcraLimiter } from './gcra.js';
import type { KeyQuota, QuotaLedger, QuotaRefusal, QuotaHeaders } from './quota.js';
import type { ApiGroup } from './scopes.js';

const UNLIMITED: KeyQuota = {};

/** A refusal as the error every edge answers: 429 with Retry-After, or a client error when no wait helps. */
function refusalError(refusal: QuotaRefusal): InferdError {
  if (refusal.tooLarge)
    return new InferdError(
      refusal.reason === 'tokens' ? 'INF_ERR_INVALID_ARGUMENT' : 'INF_ERR_BODY_TOO_LARGE',
      refusal.message,
      {
        headers: refusal.headers,
        apiCode: 'quota_exceeded',
      },
    );
  return new InferdError('INF_ERR_RATE_LIMITED', refusal.message, {
    headers: refusal.headers,
    apiCode: 'rate_limit_exceeded',
  });
}

/** An admitted request: headers for its answer; release() when it is answered. */
export interface GateAdmission {
  readonly headers: QuotaHeaders;
  release(): void;
}

/** The OpenAI edge's view of a key's token quota. */
export interface TokenBudget {
  /** Before generation: throws the refusal when the prompt does not fit; returns headers to send. */
  reserve(promptTokens: number): QuotaHeaders;
  /** After generation: charges what was generated. */
  charge(completionTokens: number): void;
}

export class QuotaGate {
  constructor(private readonly ledger: QuotaLedger) {}

  /**
   * Admits a call of a keyed principal (anonymous callers have no quota). `tensorBytes`, when the
   * size of an inference body is known before it is read, is checked and charged now.
   */
  admit(principal: Principal, group: ApiGroup, tensorBytes?: number): GateAdmission | undefined {
    const key = principal.key;
    if (key === undefined) return undefined;
    const quota = key.quota ?? UNLIMITED;
    const admitted = this.ledger.admitRequest(key.id, quota);
    if (!admitted.ok) throw refusalError(admitted);
    if (group === 'inference' && tensorBytes !== undefined && tensorBytes > 0) {
      const charged = this.ledger.chargeTensorBytes(key.id, quota, tensorBytes, { refuse: true });
      if (!charged.ok) {
        admitted.release();
        throw refusalError(charged);
      }
    }
    return { headers: admitted.headers, release: () => admitted.release() };
  }

  /** Tensor bytes of one message (gRPC) checked and charged; throws the refusal. */
  chargeMessage(principal: Principal, bytes: number): void {
    const key = principal.key;
    if (key === undefined || bytes <= 0) return;
    const charged = this.ledger.chargeTensorBytes(key.id, key.quota ?? UNLIMITED, bytes, { refuse: true });
    if (!charged.ok) throw refusalError(charged);
  }

  /** Tensor bytes learnt after the body was read (no Content-Length): charged, never refused. */
  chargeAfter(principal: Principal, bytes: number): void {
    const key = principal.key;
    if (key === undefined || bytes <= 0) return;
    this.ledger.chargeTensorBytes(key.id, key.quota ?? UNLIMITED, bytes, { refuse: false });
  }

  /** The token budget of a keyed principal, or undefined for anonymous callers. */
  tokenBudget(principal: Principal | undefined): TokenBudget | undefined {
    const key = principal?.key;
    if (key === undefined) return undefined;
    const quota = key.quota ?? UNLIMITED;
    return {
      reserve: (promptTokens) => {
        const reserved = this.ledger.reserveTokens(key.id, quota, promptTokens);
        if (!reserved.ok) throw refusalError(reserved);
        return reserved.headers;
      },
      charge: (completionTokens) => {
        this.ledger.chargeTokens(key.id, quota, completionTokens);
      },
    };
  }

  usage(): ReturnType<QuotaLedger['usage']> {
    return this.ledger.usage();
  }
}

/**
 * Failed authentications per client address: `perMinute` may fail within a minute (all at once),
 * then one more per 60/perMinute seconds. A blocked address is answered 429 before its key is
 * looked at, so guessing keys costs the guesser time and the server nothing.
 */
export function failureGate(perMinute: number): FailureGate | undefined {
  if (perMinute <= 0) return undefined;
  const limiter = new GcraLimiter({ limit: perMinute, periodMs: 60_000 });
  return {
    blockedFor(peer, nowMs) {
      const r = limiter.check(peer, 1, nowMs);
      return r.allowed ? undefined : Math.max(1, Math.ceil(r.retryAfterMs / 1000));
    },
    failed(peer, nowMs) {
      limiter.charge(peer, 1, nowMs);
    },
  };
}
