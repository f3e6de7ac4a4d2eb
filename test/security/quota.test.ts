// The per-key quota ledger on a manual clock: admission by rate and by concurrency, the token
// reserve / charge cycle with debt and recovery, tensor bytes, the exact headers, messages and
// Retry-After of each outcome, the usage snapshot and the metrics recorded, with a fake sink and
// with the real Metrics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/observability/metrics.js';
import {
  QuotaLedger,
  formatDuration,
  type AdmitResult,
  type Admission,
  type KeyQuota,
  type QuotaMetrics,
  type QuotaRefusal,
} from '../../src/security/quota.js';

class ManualClock {
  constructor(public ms = 0) {}
  now(): number {
    return this.ms;
  }
}

type Labels = Record<string, string>;

/** Records every metric update as `name{labels} value`. */
class FakeMetrics implements QuotaMetrics {
  readonly calls: string[] = [];
  readonly keyRequests = this.counter('requests');
  readonly keyQuotaRefusals = this.counter('refusals');
  readonly keyPromptTokens = this.counter('prompt');
  readonly keyCompletionTokens = this.counter('completion');
  readonly keyTensorBytes = this.counter('bytes');
  readonly keyConcurrentRequests = {
    set: (labels: Labels, value: number) => this.calls.push(`concurrent${format(labels)} = ${value}`),
  };

  private counter(name: string): { inc(labels: Labels, value?: number): void } {
    return { inc: (labels, value = 1) => this.calls.push(`${name}${format(labels)} += ${value}`) };
  }
}

function format(labels: Labels): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;
}

function setup(startMs = 0): { clock: ManualClock; metrics: FakeMetrics; ledger: QuotaLedger } {
  const clock = new ManualClock(startMs);
  const metrics = new FakeMetrics();
  return { clock, metrics, ledger: new QuotaLedger(clock, metrics) };
}

function admitted(result: AdmitResult): Admission {
  assert.equal(result.ok, true, result.ok ? '' : result.message);
  return result;
}

function refused<R extends QuotaRefusal>(result: { ok: boolean }): R {
  assert.equal(result.ok, false, 'expected a refusal');
  return result as R;
}

describe('QuotaLedger.admitRequest', () => {
  it('admits exactly the burst, then the rate, with exact headers', () => {
    const { clock, ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 50 };
    const first = admitted(ledger.admitRequest('team-a', quota));
    assert.deepEqual(first.headers, {
      'x-ratelimit-limit': '50',
      'x-ratelimit-remaining': '49',
      'x-ratelimit-reset': '1',
    });
    for (let i = 1; i < 50; i++) admitted(ledger.admitRequest('team-a', quota));
    const refusal = refused<QuotaRefusal>(ledger.admitRequest('team-a', quota));
    assert.deepEqual(refusal, {
      ok: false,
      reason: 'requests',
      tooLarge: false,
      retryAfterSeconds: 1,
      headers: {
        'retry-after': '1',
        'x-ratelimit-limit': '50',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1',
      },
      message: "API key 'team-a' is over its quota of 50 requests per second; retry after 1 s",
    });

    // One request replenishes every 20 ms: a greedy client gets exactly 50 per simulated second.
    let count = 0;
    for (let t = 1; t <= 10_000; t++) {
      clock.ms = t;
      if (ledger.admitRequest('team-a', quota).ok) count++;
    }
    assert.equal(count, 500);
  });

  it('rounds Retry-After and X-RateLimit-Reset up to whole seconds', () => {
    const { clock, ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 0.25 };
    assert.deepEqual(admitted(ledger.admitRequest('k', quota)).headers, {
      'x-ratelimit-limit': '1',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '4',
    });
    clock.ms = 500;
    const r = refused<QuotaRefusal>(ledger.admitRequest('k', quota));
    assert.equal(r.retryAfterSeconds, 4);
    assert.equal(r.headers['retry-after'], '4');
    assert.equal(r.headers['x-ratelimit-reset'], '4');
    assert.equal(r.message, "API key 'k' is over its quota of 0.25 requests per second; retry after 4 s");
    clock.ms = 3999;
    assert.equal(ledger.admitRequest('k', quota).ok, false);
    clock.ms = 4000;
    assert.equal(ledger.admitRequest('k', quota).ok, true);
  });

  it('uses an explicit burst as the limit that Remaining counts down from', () => {
    const { ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 10, burst: 3 };
    assert.equal(admitted(ledger.admitRequest('k', quota)).headers['x-ratelimit-limit'], '3');
    admitted(ledger.admitRequest('k', quota));
    assert.equal(admitted(ledger.admitRequest('k', quota)).headers['x-ratelimit-remaining'], '0');
    assert.equal(refused<QuotaRefusal>(ledger.admitRequest('k', quota)).reason, 'requests');
  });

  it('keeps keys independent', () => {
    const { ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 2, concurrentRequests: 5 };
    admitted(ledger.admitRequest('a', quota));
    admitted(ledger.admitRequest('a', quota));
    assert.equal(ledger.admitRequest('a', quota).ok, false);
    assert.equal(admitted(ledger.admitRequest('b', quota)).headers['x-ratelimit-remaining'], '1');
  });

  it('limits concurrent requests, with an idempotent release', () => {
    const { metrics, ledger } = setup();
    const quota: KeyQuota = { concurrentRequests: 2 };
    const one = admitted(ledger.admitRequest('team-a', quota));
    assert.deepEqual(one.headers, {});
    const two = admitted(ledger.admitRequest('team-a', quota));
    const refusal = refused<QuotaRefusal>(ledger.admitRequest('team-a', quota));
    assert.deepEqual(refusal, {
      ok: false,
      reason: 'concurrency',
      tooLarge: false,
      retryAfterSeconds: 1,
      headers: { 'retry-after': '1' },
      message: "API key 'team-a' is over its quota of 2 concurrent requests; retry after 1 s",
    });
    one.release();
    one.release();
    one.release();
    assert.equal(ledger.usage()[0]?.concurrent, 1);
    const three = admitted(ledger.admitRequest('team-a', quota));
    assert.equal(ledger.admitRequest('team-a', quota).ok, false);
    two.release();
    three.release();
    assert.equal(ledger.usage()[0]?.concurrent, 0);
    assert.deepEqual(
      metrics.calls.filter((c) => c.startsWith('concurrent')),
      [1, 2, 1, 2, 1, 0].map((n) => `concurrent{key_id=team-a} = ${n}`),
    );
  });

  it('does not charge the rate for a request refused for concurrency', () => {
    const { ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 2, concurrentRequests: 1 };
    const first = admitted(ledger.admitRequest('k', quota));
    for (let i = 0; i < 5; i++)
      assert.equal(refused<QuotaRefusal>(ledger.admitRequest('k', quota)).reason, 'concurrency');
    first.release();
    assert.equal(admitted(ledger.admitRequest('k', quota)).headers['x-ratelimit-remaining'], '0');
  });

  it('admits everything for a key without quotas, and sends no headers', () => {
    const { ledger } = setup();
    for (let i = 0; i < 1000; i++) assert.deepEqual(admitted(ledger.admitRequest('free', {})).headers, {});
    assert.equal(ledger.usage()[0]?.concurrent, 1000);
  });

  it("adds OpenAI's -requests headers for a key that also has a token quota", () => {
    const { clock, ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 10, tokensPerMinute: 1000 };
    assert.deepEqual(admitted(ledger.admitRequest('k', quota)).headers, {
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '9',
      'x-ratelimit-reset': '1',
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '9',
      'x-ratelimit-reset-requests': '100ms',
    });
    for (let i = 0; i < 9; i++) admitted(ledger.admitRequest('k', quota));
    clock.ms = 50;
    assert.deepEqual(refused<QuotaRefusal>(ledger.admitRequest('k', quota)).headers, {
      'retry-after': '1',
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1',
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '950ms',
    });
  });

  it('starts a key afresh under a changed quota', () => {
    const { ledger } = setup();
    admitted(ledger.admitRequest('k', { requestsPerSecond: 1 }));
    assert.equal(ledger.admitRequest('k', { requestsPerSecond: 1 }).ok, false);
    assert.equal(admitted(ledger.admitRequest('k', { requestsPerSecond: 5 })).headers['x-ratelimit-remaining'], '4');
  });
});

describe('QuotaLedger tokens', () => {
  const quota: KeyQuota = { tokensPerMinute: 10_000 };

  it('reserves the prompt, charges the completion, refuses once spent and recovers on time', () => {
    const { clock, ledger } = setup(1_000_000);
    // One token replenishes every 6 ms.
    const reserved = ledger.reserveTokens('team-a', quota, 4000);
    assert.deepEqual(reserved, {
      ok: true,
      headers: {
        'x-ratelimit-limit-tokens': '10000',
        'x-ratelimit-remaining-tokens': '6000',
        'x-ratelimit-reset-tokens': '24s',
      },
    });
    assert.deepEqual(ledger.chargeTokens('team-a', quota, 5000), {
      ok: true,
      headers: {
        'x-ratelimit-limit-tokens': '10000',
        'x-ratelimit-remaining-tokens': '1000',
        'x-ratelimit-reset-tokens': '54s',
      },
    });
    // 2000 tokens with 1000 left: 1000 more replenish in 6 s.
    const refusal = refused<QuotaRefusal>(ledger.reserveTokens('team-a', quota, 2000));
    assert.deepEqual(refusal, {
      ok: false,
      reason: 'tokens',
      tooLarge: false,
      retryAfterSeconds: 6,
      headers: {
        'retry-after': '6',
        'x-ratelimit-limit-tokens': '10000',
        'x-ratelimit-remaining-tokens': '1000',
        'x-ratelimit-reset-tokens': '54s',
      },
      message: "API key 'team-a' is over its quota of 10000 tokens per minute; retry after 6 s",
    });
    // The refusal charged nothing: a prompt that fits still passes.
    clock.ms += 5999;
    assert.equal(ledger.reserveTokens('team-a', quota, 2000).ok, false);
    clock.ms += 1;
    assert.equal(ledger.reserveTokens('team-a', quota, 2000).ok, true);
    const [usage] = ledger.usage();
    assert.equal(usage?.promptTokens, 6000);
    assert.equal(usage?.completionTokens, 5000);
    assert.equal(usage?.refused.tokens, 2);
  });

  it('lets a completion push the key into debt, refusing every prompt until it is paid', () => {
    const { clock, ledger } = setup();
    assert.equal(ledger.reserveTokens('k', quota, 1000).ok, true);
    // 1000 + 24 000 tokens: 15 000 past the budget, 90 s of debt, full after 150 s.
    assert.deepEqual(ledger.chargeTokens('k', quota, 24_000).headers, {
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '2m30s',
    });
    // A 1-token prompt fits once 15 001 tokens have replenished: 90.006 s.
    const r = refused<QuotaRefusal>(ledger.reserveTokens('k', quota, 1));
    assert.equal(r.retryAfterSeconds, 91);
    clock.ms = 90_005;
    assert.equal(ledger.reserveTokens('k', quota, 1).ok, false);
    clock.ms = 90_006;
    assert.equal(ledger.reserveTokens('k', quota, 1).ok, true);
  });

  it('says when the prompt alone is larger than the whole budget', () => {
    const { clock, metrics, ledger } = setup();
    const r = refused<QuotaRefusal>(ledger.reserveTokens('team-a', quota, 12_000));
    assert.deepEqual(r, {
      ok: false,
      reason: 'tokens',
      tooLarge: true,
      retryAfterSeconds: null,
      headers: {
        'x-ratelimit-limit-tokens': '10000',
        'x-ratelimit-remaining-tokens': '10000',
        'x-ratelimit-reset-tokens': '0s',
      },
      message: "this request's 12000 prompt tokens exceed the key's quota of 10000 tokens per minute",
    });
    clock.ms = 3_600_000;
    assert.equal(refused<QuotaRefusal>(ledger.reserveTokens('team-a', quota, 12_000)).tooLarge, true);
    assert.deepEqual(metrics.calls, [
      'refusals{key_id=team-a,reason=tokens} += 1',
      'refusals{key_id=team-a,reason=tokens} += 1',
    ]);
  });

  it('counts tokens without a token quota, and sends no token headers', () => {
    const { ledger } = setup();
    assert.deepEqual(ledger.reserveTokens('k', {}, 123), { ok: true, headers: {} });
    assert.deepEqual(ledger.chargeTokens('k', {}, 45), { ok: true, headers: {} });
    assert.equal(ledger.usage()[0]?.promptTokens, 123);
    assert.equal(ledger.usage()[0]?.completionTokens, 45);
  });
});

describe('QuotaLedger tensor bytes', () => {
  const quota: KeyQuota = { tensorBytesPerMinute: 6_000_000 };

  it('refuses bytes known up front, charges bytes known after, and recovers', () => {
    const { clock, ledger } = setup();
    // One byte replenishes every 0.01 ms.
    assert.deepEqual(ledger.chargeTensorBytes('k', quota, 4_000_000, { refuse: true }), { ok: true, headers: {} });
    assert.deepEqual(ledger.chargeTensorBytes('k', quota, 5_000_000, { refuse: false }), { ok: true, headers: {} });
    // 9 MB charged: 3 MB of debt; 1 MB more fits once 4 MB have replenished, after 40 s.
    const r = refused<QuotaRefusal>(ledger.chargeTensorBytes('k', quota, 1_000_000, { refuse: true }));
    assert.deepEqual(r, {
      ok: false,
      reason: 'tensor_bytes',
      tooLarge: false,
      retryAfterSeconds: 40,
      headers: { 'retry-after': '40' },
      message: "API key 'k' is over its quota of 6000000 tensor bytes per minute; retry after 40 s",
    });
    clock.ms = 39_999;
    assert.equal(ledger.chargeTensorBytes('k', quota, 1_000_000, { refuse: true }).ok, false);
    clock.ms = 40_000;
    assert.equal(ledger.chargeTensorBytes('k', quota, 1_000_000, { refuse: true }).ok, true);
    assert.equal(ledger.usage()[0]?.tensorBytes, 10_000_000);
  });

  it('says when one body is larger than the whole budget', () => {
    const { ledger } = setup();
    const r = refused<QuotaRefusal>(ledger.chargeTensorBytes('k', quota, 7_000_000, { refuse: true }));
    assert.equal(r.tooLarge, true);
    assert.equal(r.retryAfterSeconds, null);
    assert.deepEqual(r.headers, {});
    assert.equal(
      r.message,
      "this request's 7000000 tensor bytes exceed the key's quota of 6000000 tensor bytes per minute",
    );
    // After the fact, it is charged all the same.
    assert.equal(ledger.chargeTensorBytes('k', quota, 7_000_000, { refuse: false }).ok, true);
    assert.equal(ledger.chargeTensorBytes('k', quota, 1, { refuse: true }).ok, false);
  });
});

describe('QuotaLedger usage and metrics', () => {
  it('reports per key id what it admitted, refused and charged, sorted by key id', () => {
    const { ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 1, concurrentRequests: 1, tokensPerMinute: 100 };
    const a = admitted(ledger.admitRequest('zeta', quota));
    ledger.admitRequest('zeta', quota); // concurrency
    a.release();
    ledger.admitRequest('zeta', quota); // requests
    ledger.reserveTokens('zeta', quota, 30);
    ledger.reserveTokens('zeta', quota, 500); // tokens, too large
    ledger.chargeTokens('zeta', quota, 20);
    ledger.chargeTensorBytes('alpha', {}, 64, { refuse: true });
    assert.deepEqual(ledger.usage(), [
      {
        keyId: 'alpha',
        admitted: 0,
        refused: { requests: 0, concurrency: 0, tokens: 0, tensor_bytes: 0 },
        promptTokens: 0,
        completionTokens: 0,
        tensorBytes: 64,
        concurrent: 0,
      },
      {
        keyId: 'zeta',
        admitted: 1,
        refused: { requests: 1, concurrency: 1, tokens: 1, tensor_bytes: 0 },
        promptTokens: 30,
        completionTokens: 20,
        tensorBytes: 0,
        concurrent: 0,
      },
    ]);
  });

  it('records each outcome in the metrics sink', () => {
    const { metrics, ledger } = setup();
    const quota: KeyQuota = { requestsPerSecond: 1, tokensPerMinute: 100, tensorBytesPerMinute: 100 };
    admitted(ledger.admitRequest('k', quota)).release();
    ledger.admitRequest('k', quota);
    ledger.reserveTokens('k', quota, 40);
    ledger.reserveTokens('k', quota, 80);
    ledger.chargeTokens('k', quota, 7);
    ledger.chargeTensorBytes('k', quota, 60, { refuse: true });
    ledger.chargeTensorBytes('k', quota, 60, { refuse: true });
    ledger.chargeTensorBytes('k', quota, 60, { refuse: false });
    assert.deepEqual(metrics.calls, [
      'requests{key_id=k,outcome=admitted} += 1',
      'concurrent{key_id=k} = 1',
      'concurrent{key_id=k} = 0',
      'requests{key_id=k,outcome=refused} += 1',
      'refusals{key_id=k,reason=requests} += 1',
      'prompt{key_id=k} += 40',
      'refusals{key_id=k,reason=tokens} += 1',
      'completion{key_id=k} += 7',
      'bytes{key_id=k} += 60',
      'refusals{key_id=k,reason=tensor_bytes} += 1',
      'bytes{key_id=k} += 60',
    ]);
  });

  it('writes to the real Metrics, which satisfies the sink', async () => {
    const metrics = new Metrics();
    const sink: QuotaMetrics = metrics;
    const ledger = new QuotaLedger(new ManualClock(), sink);
    const quota: KeyQuota = { requestsPerSecond: 2, tokensPerMinute: 1000 };
    const held = admitted(ledger.admitRequest('team-a', quota));
    admitted(ledger.admitRequest('team-a', quota));
    ledger.admitRequest('team-a', quota);
    ledger.reserveTokens('team-a', quota, 300);
    ledger.chargeTokens('team-a', quota, 200);
    ledger.chargeTensorBytes('team-a', {}, 4096, { refuse: false });
    held.release();
    const text = await metrics.registry.metrics();
    for (const line of [
      'inferd_key_requests_total{key_id="team-a",outcome="admitted"} 2',
      'inferd_key_requests_total{key_id="team-a",outcome="refused"} 1',
      'inferd_key_quota_refusals_total{key_id="team-a",reason="requests"} 1',
      'inferd_key_prompt_tokens_total{key_id="team-a"} 300',
      'inferd_key_completion_tokens_total{key_id="team-a"} 200',
      'inferd_key_tensor_bytes_total{key_id="team-a"} 4096',
      'inferd_key_concurrent_requests{key_id="team-a"} 1',
    ])
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  });
});

describe('formatDuration', () => {
  it("writes durations the way OpenAI's headers do", () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [-5, '0s'],
      [0.2, '1ms'],
      [12, '12ms'],
      [999, '999ms'],
      [1000, '1s'],
      [1500, '1.5s'],
      [1020, '1.02s'],
      [59_999, '59.999s'],
      [60_000, '1m0s'],
      [360_000, '6m0s'],
      [61_004, '1m1.004s'],
      [3_600_000, '1h0m0s'],
      [3_723_000, '1h2m3s'],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
  });
});
