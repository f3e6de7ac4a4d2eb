// The Generic Cell Rate Algorithm (ATM Forum TM 4.1; the crate governor uses it too): one number
// per key, the theoretical arrival time (TAT). With emission interval T = period ÷ limit
// and capacity burst × T (the tolerance τ = T × (burst − 1), plus T), a cost c at time t gives
// N = max(TAT, t) + c × T; it fits when N − t ≤ burst × T, and otherwise fits again after
// N − burst × T − t. This equals a token bucket of `burst` units refilled one unit every T.
//
// The caller passes the time in (milliseconds on one scale, e.g. a clock's now()), so tests drive
// it without waiting. A key whose TAT is in the past is fully replenished, which is exactly what an
// absent key means, so such keys are dropped by a sweep that runs every so many charges: memory
// stays bounded by the keys active within one period, and no timer is involved.

/** Absorbs float rounding when T is not exactly representable (e.g. 1000 ms ÷ 3): one nanosecond. */
const TOLERANCE_MS = 1e-6;

/** A sweep runs once this many charges have happened since the last one (or the map's size, if larger). */
const MIN_CHARGES_PER_SWEEP = 64;

export interface GcraOptions {
  /** Units allowed per period, sustained; a positive finite number. */
  readonly limit: number;
  /** The period, in milliseconds; a positive finite number. */
  readonly periodMs: number;
  /**
   * The most units that may be spent at once, from a fully replenished key. Defaults to `limit`
   * (at least 1): a key idle for one period may spend that whole period's quota at once, which is
   * what a per-period quota promises. A smaller burst smooths traffic; a larger one lets a key
   * save up past one period. At least 1, so that a unit cost can pass.
   */
  readonly burst?: number;
}

/** The verdict on a cost and the key's state after the operation. */
export interface GcraResult {
  /**
   * Whether the cost fits the key's budget at this time. For `take` it was charged only when this
   * is true; `check` never charges; `charge` charged it either way (false: the key is now in debt).
   */
  readonly allowed: boolean;
  /** Whole units that could still be taken now, after the operation: 0 to burst. */
  readonly remaining: number;
  /** Milliseconds until the key is fully replenished (`remaining` = burst), after the operation; ≥ 0. */
  readonly resetMs: number;
  /**
   * Milliseconds until this cost would fit (0 when it fits now), measured from the state before the
   * operation. Infinity when `exceedsBurst`: no wait helps.
   */
  readonly retryAfterMs: number;
  /** The cost is larger than the burst: it can never pass, however long the caller waits. */
  readonly exceedsBurst: boolean;
}

export class GcraLimiter {
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
  /** T: the time one unit takes to replenish, in milliseconds. */
  readonly emissionIntervalMs: number;
  /** burst × T: how far the TAT may run ahead of now for a cost to fit. */
  private readonly capacityMs: number;
  private readonly tat = new Map<string, number>();
  private chargesSinceSweep = 0;

  constructor(options: GcraOptions) {
    const { limit, periodMs } = options;
    if (!(Number.isFinite(limit) && limit > 0)) throw new RangeError(`GCRA limit must be positive, got ${limit}`);
    if (!(Number.isFinite(periodMs) && periodMs > 0))
      throw new RangeError(`GCRA period must be positive, got ${periodMs} ms`);
    const burst = options.burst ?? Math.max(1, limit);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`GCRA burst must be at least 1, got ${burst}`);
    this.limit = limit;
    this.periodMs = periodMs;
    this.burst = burst;
    this.emissionIntervalMs = periodMs / limit;
    this.capacityMs = burst * this.emissionIntervalMs;
  }

  /** Keys held: those not fully replenished at the last sweep. */
  get size(): number {
    return this.tat.size;
  }

  /** Whether `cost` would fit now; charges nothing. */
  check(key: string, cost: number, nowMs: number): GcraResult {
    const verdict = this.verdict(key, cost, nowMs);
    return this.result(verdict, verdict.before, nowMs);
  }

  /** Charges `cost` if it fits now; otherwise leaves the key as it was. */
  take(key: string, cost: number, nowMs: number): GcraResult {
    const verdict = this.verdict(key, cost, nowMs);
    if (!verdict.allowed) return this.result(verdict, verdict.before, nowMs);
    this.store(key, verdict.next, nowMs);
    return this.result(verdict, verdict.next, nowMs);
  }

  /**
   * Charges `cost` whether it fits or not: for costs known only after the work is done (completion
   * tokens, bytes read). A charge past the budget leaves the key in debt, and it refuses every cost
   * until it has recovered.
   */
  charge(key: string, cost: number, nowMs: number): GcraResult {
    const verdict = this.verdict(key, cost, nowMs);
    this.store(key, verdict.next, nowMs);
    return this.result(verdict, verdict.next, nowMs);
  }

  /** Drops the keys that are fully replenished at `nowMs`; returns how many. */
  sweep(nowMs: number): number {
    this.chargesSinceSweep = 0;
    let dropped = 0;
    for (const [key, tat] of this.tat) {
      if (tat <= nowMs) {
        this.tat.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  private verdict(key: string, cost: number, nowMs: number): Verdict {
    if (!(Number.isFinite(cost) && cost >= 0))
      throw new RangeError(`GCRA cost must be a finite number ≥ 0, got ${cost}`);
    if (!Number.isFinite(nowMs)) throw new RangeError(`GCRA time must be finite, got ${nowMs}`);
    const before = Math.max(this.tat.get(key) ?? nowMs, nowMs);
    const next = before + cost * this.emissionIntervalMs;
    const exceedsBurst = cost > this.burst;
    const waitMs = next - this.capacityMs - nowMs;
    const allowed = !exceedsBurst && waitMs <= TOLERANCE_MS;
    const retryAfterMs = exceedsBurst ? Number.POSITIVE_INFINITY : allowed ? 0 : waitMs;
    return { before, next, allowed, exceedsBurst, retryAfterMs };
  }

  private store(key: string, tat: number, nowMs: number): void {
    if (tat > nowMs) this.tat.set(key, tat);
    else this.tat.delete(key);
    if (++this.chargesSinceSweep >= Math.max(MIN_CHARGES_PER_SWEEP, this.tat.size)) this.sweep(nowMs);
  }

  private result(verdict: Verdict, tat: number, nowMs: number): GcraResult {
    const aheadMs = Math.max(0, tat - nowMs);
    const units = Math.floor((this.capacityMs - aheadMs) / this.emissionIntervalMs + TOLERANCE_MS);
    return {
      allowed: verdict.allowed,
      remaining: Math.min(Math.floor(this.burst), Math.max(0, units)),
      resetMs: aheadMs,
      retryAfterMs: verdict.retryAfterMs,
      exceedsBurst: verdict.exceedsBurst,
    };
  }
}

interface Verdict {
  /** max(TAT, now): the TAT as the key stands now. */
  readonly before: number;
  /** The TAT once the cost is charged. */
  readonly next: number;
  readonly allowed: boolean;
  readonly exceedsBurst: boolean;
  readonly retryAfterMs: number;
}
