// The access policy on its own: scopes and model patterns, the key file, verification and expiry,
// the anonymous defaults (loopback, exposed, keyed), Triton's restricted-API rules, and the limit
// on repeated failures. Every refusal is checked for its status and for a message that names the
// problem without echoing a key.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferdError } from '../../src/errors/index.js';
import {
  AccessPolicy,
  isLoopbackHost,
  parseRestrictedApiRules,
  type AccessPolicyOptions,
  type PresentedCredentials,
} from '../../src/security/access-policy.js';
import { digestOf, generateKey, keysFromEnvironment, KeyStore, parseKeyFile } from '../../src/security/api-keys.js';
import { failureGate } from '../../src/security/quota-gate.js';
import { allows, parseScopes, unionGrants } from '../../src/security/scopes.js';
import { writeKeyFile } from '../helpers/api-keys.js';

function creds(authorization?: string, extra: Partial<PresentedCredentials> = {}): PresentedCredentials {
  const headers: Record<string, string> = {};
  return { authorization, header: (n) => headers[n], peer: '10.0.0.1', ...extra };
}

function refusal(fn: () => unknown): InferdError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InferdError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

const T0 = Date.parse('2027-01-01T00:00:00Z');

describe('scopes', () => {
  it('limits inference to model globs, and a plain infer lifts the limit', () => {
    const g = parseScopes(['infer:resnet-*', 'infer:bert-?'], 'test');
    assert.ok(allows(g, 'inference', 'resnet-50'));
    assert.ok(allows(g, 'inference', 'bert-a'));
    assert.ok(!allows(g, 'inference', 'bert-ab'));
    assert.ok(!allows(g, 'inference', 'xresnet-50'), 'anchored at the start');
    assert.ok(!allows(g, 'metadata'));
    assert.ok(allows(parseScopes(['infer:a', 'infer'], 'test'), 'inference', 'zzz'));
    assert.ok(allows(unionGrants([g, parseScopes(['infer'], 't')]), 'inference', 'zzz'));
    assert.ok(!allows(unionGrants([g, parseScopes(['read'], 't')]), 'inference', 'zzz'));
  });

  it('names the known scopes when one is unknown, and refuses globs with other characters', () => {
    assert.match(
      refusal(() => parseScopes(['infer', 'admn'], 'keys.yaml')).message,
      /unknown scope 'admn'.*admin:batch/,
    );
    assert.match(refusal(() => parseScopes(['infer:a/b'], 'k')).message, /model-name pattern/);
    assert.match(refusal(() => parseScopes(['infer:'], 'k')).message, /model-name pattern/);
  });
});

describe('the key file', () => {
  it('reads keys with scopes, expiry and quota, and refuses keys in clear, twice, or malformed', () => {
    const hex = digestOf('k'.repeat(40)).toString('hex');
    const keys = parseKeyFile(
      `keys:\n  - id: a\n    sha256: ${hex}\n    scopes: [read]\n    expires: 2027-06-30T00:00:00Z\n    quota: { requests_per_second: 5, tokens_per_minute: 100 }\n`,
      'keys.yaml',
    );
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.expiresAt, Date.parse('2027-06-30T00:00:00Z'));
    assert.deepEqual(keys[0]?.quota, { requestsPerSecond: 5, tokensPerMinute: 100 });
    const clear = refusal(() => parseKeyFile('keys:\n  - id: a\n    key: secret\n    scopes: [read]\n', 'f'));
    assert.match(clear.message, /in clear/);
    assert.ok(!clear.message.includes('secret'), 'the key is not echoed');
    const twice = `keys:\n  - {id: a, sha256: ${hex}, scopes: [read]}\n  - {id: a, sha256: ${hex.replace(/^./, 'f')}, scopes: [read]}\n`;
    assert.match(refusal(() => parseKeyFile(twice, 'f')).message, /id is used twice/);
    const same = `keys:\n  - {id: a, sha256: ${hex}, scopes: [read]}\n  - {id: b, sha256: ${hex}, scopes: [read]}\n`;
    assert.match(refusal(() => parseKeyFile(same, 'f')).message, /same key as an earlier entry/);
    assert.match(
      refusal(() => parseKeyFile('keys:\n  - {id: a, sha256: abc, scopes: [read]}\n', 'f')).message,
      /64 hex/,
    );
    assert.match(
      refusal(() => parseKeyFile(`keys:\n  - {id: a, sha256: ${hex}, scopes: [read], quota: {rps: 1}}\n`, 'f')).message,
      /rps/,
    );
    assert.match(refusal(() => keysFromEnvironment('short')).message, /shorter than 16/);
  });

  describe('a key store on a real file', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-keys-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('verifies known keys, refuses unknown ones, and knows an expired key', async () => {
      const file = path.join(dir, 'keys.yaml');
      const keys = writeKeyFile(file, [
        { id: 'live', scopes: ['read'] },
        { id: 'old', scopes: ['read'], expires: '2026-12-31T00:00:00Z' },
      ]);
      const store = await KeyStore.open(file, []);
      assert.equal(store.size, 2);
      const live = store.verify(keys['live'] ?? '', T0);
      assert.ok(live.ok && live.key.id === 'live');
      assert.deepEqual(store.verify(generateKey(), T0), { ok: false, reason: 'unknown' });
      const old = store.verify(keys['old'] ?? '', T0);
      assert.ok(!old.ok && old.reason === 'expired');
      assert.ok(store.verify(keys['old'] ?? '', Date.parse('2026-12-01T00:00:00Z')).ok, 'valid before its expiry');
    });

    it('keeps the keys in force when the file changes into something invalid', async () => {
      const file = path.join(dir, 'reload.yaml');
      const first = writeKeyFile(file, [{ id: 'a', scopes: ['read'] }]);
      const store = await KeyStore.open(file, []);
      const failures: unknown[] = [];
      const events = { reloaded: () => undefined, reloadFailed: (err: unknown) => failures.push(err) };
      assert.equal(await store.reloadIfChanged(events), false, 'unchanged');
      writeFileSync(file, 'keys: [ {id: broken');
      assert.equal(await store.reloadIfChanged(events), false);
      assert.equal(failures.length, 1);
      assert.ok(store.verify(first['a'] ?? '', T0).ok, 'the old key still works');
      const second = writeKeyFile(file, [{ id: 'b', scopes: ['read'] }]);
      assert.equal(await store.reloadIfChanged(events), true);
      assert.ok(store.verify(second['b'] ?? '', T0).ok);
      assert.ok(!store.verify(first['a'] ?? '', T0).ok, 'a removed key stops working');
    });
  });
});

describe('the access policy', () => {
  let dir: string;
  let store: KeyStore;
  let keys: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-policy-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [
      { id: 'reader', scopes: ['read'] },
      { id: 'vision', scopes: ['infer:resnet-*'] },
      { id: 'expired', scopes: ['*'], expires: '2026-01-01T00:00:00Z' },
    ]);
    store = await KeyStore.open(path.join(dir, 'keys.yaml'), []);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const policy = (options: Partial<AccessPolicyOptions>): AccessPolicy =>
    new AccessPolicy({
      keys: undefined,
      anonymousScopes: undefined,
      loopback: true,
      rules: [],
      ruleHeaderPrefix: '',
      listenAddress: '127.0.0.1',
      ...options,
    });

  it('without keys on loopback: everything open, and a bearer the OpenAI SDK sends is ignored', () => {
    const p = policy({});
    const who = p.authenticate(creds('Bearer sk-no-key-required'), T0);
    assert.equal(who.id, 'anonymous');
    p.authorize(who, 'model-repository', 'POST /v2/repository/index');
    p.authorize(who, 'batch', 'POST /v1/batches');
  });

  it('without keys on another address: admin refused with a 403 that says how to enable it', () => {
    const p = policy({ loopback: false, listenAddress: '0.0.0.0' });
    const who = p.authenticate(creds(), T0);
    p.authorize(who, 'inference', 'POST /v2/models/:model/infer', 'simple');
    const err = refusal(() => p.authorize(who, 'model-repository', 'POST /v2/repository/models/:model/load'));
    assert.equal(err.httpStatus, 403);
    assert.match(
      err.message,
      /listens on 0\.0\.0\.0 without API keys.*admin:repository.*--api-keys-file.*--host 127\.0\.0\.1/,
    );
    assert.match(p.describe(), /refused \(no keys on a non-loopback address\): model-repository, batch/);
  });

  it('with keys: anonymous callers reach health only; keys their scopes; 401 vs 403 told apart', () => {
    const p = policy({ keys: store });
    const anon = p.authenticate(creds(), T0);
    p.authorize(anon, 'health', 'GET /v2/health/ready');
    const missing = refusal(() => p.authorize(anon, 'metadata', 'GET /v2/models'));
    assert.equal(missing.httpStatus, 401);
    assert.match(missing.message, /needs an API key with scope 'read'/);
    assert.match(missing.headers?.['www-authenticate'] ?? '', /^Bearer realm="inferd"$/);
    const reader = p.authenticate(creds(`Bearer ${keys['reader']}`), T0);
    assert.equal(reader.id, 'reader');
    p.authorize(reader, 'metadata', 'GET /v2/models');
    const lacks = refusal(() => p.authorize(reader, 'inference', 'POST /v2/models/:model/infer', 'x'));
    assert.equal(lacks.httpStatus, 403);
    assert.match(lacks.message, /API key 'reader' lacks the scope 'infer'/);
  });

  it('limits a model-scoped key to its models', () => {
    const p = policy({ keys: store });
    const vision = p.authenticate(creds(`Bearer ${keys['vision']}`), T0);
    p.authorize(vision, 'inference', 'POST /v1/completions', 'resnet-50');
    const other = refusal(() => p.authorize(vision, 'inference', 'POST /v1/completions', 'llama'));
    assert.equal(other.httpStatus, 403);
    assert.match(other.message, /may not use model 'llama' \(its inference scopes cover: resnet-\*\)/);
  });

  it('answers malformed, unknown, expired, wrong-scheme and query-string keys 401, never echoing them', () => {
    const p = policy({ keys: store });
    const cases: [PresentedCredentials, RegExp][] = [
      [creds('Bearer inferd_not-a-real-key-0000000000000'), /^invalid API key$/],
      [creds(`Bearer ${keys['expired']}`), /API key 'expired' has expired/],
      [creds('Basic dXNlcjpwYXNz'), /unsupported authorization scheme 'Basic'/],
      [creds('Bearer'), /malformed Authorization header/],
      [creds(`Bearer ${'x'.repeat(10_000)}`), /malformed Authorization header/],
      [creds(undefined, { keyInQuery: 'api_key' }), /API keys in the URL are refused \(query parameter 'api_key'\)/],
    ];
    for (const [c, message] of cases) {
      const err = refusal(() => p.authenticate(c, T0));
      assert.equal(err.httpStatus, 401, err.message);
      assert.equal(err.grpcStatus, 16);
      assert.match(err.message, message);
      assert.ok(!err.message.includes('inferd_not-a-real'), 'the key is not echoed');
      assert.match(err.headers?.['www-authenticate'] ?? '', /error="invalid_token"/);
    }
  });

  it('slows down an address that keeps failing: 429 with Retry-After, even for a right key, then recovers', () => {
    const gate = failureGate(3);
    assert.ok(gate !== undefined);
    const p = policy({ keys: store, failures: gate });
    for (let i = 0; i < 3; i++) refusal(() => p.authenticate(creds('Bearer wrong-key-000000000000'), T0));
    const slowed = refusal(() => p.authenticate(creds(`Bearer ${keys['reader']}`), T0));
    assert.equal(slowed.httpStatus, 429);
    assert.equal(slowed.headers?.['retry-after'], '20', 'one more attempt per 60/3 s');
    // Another address is unaffected.
    assert.equal(p.authenticate(creds(`Bearer ${keys['reader']}`, { peer: '10.0.0.2' }), T0).id, 'reader');
    // After the wait, the right key passes again.
    assert.equal(p.authenticate(creds(`Bearer ${keys['reader']}`), T0 + 20_000).id, 'reader');
    assert.equal(failureGate(0), undefined, '0 turns the limit off');
  });

  it("applies Triton's restricted-API rules: the group needs its header, a wrong value is 401", () => {
    const rules = parseRestrictedApiRules(['model-repository,statistics:admin-key=s3cret'], '--http-restricted-api');
    const p = policy({ rules, loopback: false, listenAddress: '0.0.0.0' });
    const anon = p.authenticate(creds(), T0);
    p.authorize(anon, 'metadata', 'GET /v2/models');
    const err = refusal(() => p.authorize(anon, 'statistics', 'GET /v2/models/stats'));
    assert.equal(err.httpStatus, 401);
    assert.match(err.message, /needs the header 'admin-key'/);
    const headers: Record<string, string> = { 'admin-key': 's3cret' };
    const admin = p.authenticate(creds(undefined, { header: (n) => headers[n] }), T0);
    p.authorize(admin, 'model-repository', 'POST /v2/repository/index');
    p.authorize(admin, 'statistics', 'GET /v2/models/stats');
    const wrong: Record<string, string> = { 'admin-key': 'guess' };
    assert.equal(refusal(() => p.authenticate(creds(undefined, { header: (n) => wrong[n] }), T0)).httpStatus, 401);
    // gRPC names the header triton-grpc-protocol-<key>.
    const g = policy({ rules, ruleHeaderPrefix: 'triton-grpc-protocol-' });
    const meta: Record<string, string> = { 'triton-grpc-protocol-admin-key': 's3cret' };
    g.authorize(
      g.authenticate(creds(undefined, { header: (n) => meta[n] }), T0),
      'model-repository',
      'RepositoryIndex',
    );
  });

  it('refuses Triton rules that are malformed, name an unknown group, or a group twice', () => {
    const flag = '--http-restricted-api';
    assert.match(refusal(() => parseRestrictedApiRules(['model-repository'], flag)).message, /is not <api>/);
    assert.match(refusal(() => parseRestrictedApiRules(['modl:k=v'], flag)).message, /unknown API group 'modl'/);
    assert.match(
      refusal(() => parseRestrictedApiRules(['health:a=1', 'health,metadata:b=2'], flag)).message,
      /'health' is in two rules/,
    );
    const rule = parseRestrictedApiRules(['shared-memory,trace,logging:k=v'], flag)[0];
    assert.deepEqual(rule?.unserved, ['shared-memory']);
    assert.deepEqual(rule?.groups, ['logging'], 'trace guards the trace settings, which share the logging group');
    assert.match(
      refusal(() => parseRestrictedApiRules(['trace:a=1', 'logging:b=2'], flag)).message,
      /'logging' and the API group of another rule are one group here/,
    );
    assert.ok(!refusal(() => parseRestrictedApiRules(['x:k=secret-value'], flag)).message.includes('secret-value'));
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) assert.ok(!isLoopbackHost(h), h);
  });
});
