// Fuzzing the access check: arbitrary Authorization headers (other schemes, bearer tokens of every
// shape and length, control and non-ASCII characters that fetch lets through), query strings with
// key-like parameters, and Triton rule headers, in-process against the policy and over HTTP and
// gRPC against the real server. Every answer is a 2xx, 401, 403 or 429; never a 5xx or a reset;
// the key is never echoed; and the server still answers a valid key afterwards.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { InferdError } from '../../src/errors/index.js';
import { AccessPolicy, parseRestrictedApiRules } from '../../src/security/access-policy.js';
import { KeyStore } from '../../src/security/api-keys.js';
import { connect, simpleRawRequest, type Clients } from '../e2e/grpc/grpc-client.js';
import { bearer, writeKeyFile } from '../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../helpers/test-server.js';
import { CaseCounter, SERVER_RUNS, params } from './fuzz-support.js';

const counter = new CaseCounter();

/** Header values fetch and grpc-js accept: visible ASCII and spaces (others are refused by the client). */
const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 600,
});
const authorization = fc.oneof(
  headerText,
  headerText.map((t) => `Bearer ${t}`),
  headerText.map((t) => `bearer  ${t}  `),
  fc.constantFrom('Basic', 'Digest', 'Negotiate', 'Token', 'ApiKey').chain((s) => headerText.map((t) => `${s} ${t}`)),
);

describe('fuzzing credentials', () => {
  let dir: string;
  let server: TestServer;
  let clients: Clients;
  let keys: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-fuzz-keys-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [{ id: 'ok', scopes: ['*'] }]);
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      apiKeysFile: path.join(dir, 'keys.yaml'),
      httpRestrictedApi: ['statistics:stats-key=s3cret-value'],
      authFailuresPerMinute: 0,
    });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the policy answers every Authorization header with a principal or a 401, never echoing it', async () => {
    const store = await KeyStore.open(path.join(dir, 'keys.yaml'), []);
    const policy = new AccessPolicy({
      keys: store,
      anonymousScopes: undefined,
      loopback: false,
      rules: parseRestrictedApiRules(['statistics:stats-key=s3cret-value'], '--http-restricted-api'),
      ruleHeaderPrefix: '',
      listenAddress: '0.0.0.0',
    });
    fc.assert(
      fc.property(authorization, headerText, (auth, rule) => {
        counter.add('policy');
        const headers: Record<string, string> = { 'stats-key': rule };
        try {
          const who = policy.authenticate({ authorization: auth, header: (n) => headers[n], peer: 'p' }, 0);
          assert.ok(who.id === 'anonymous' || who.id === 'ok');
        } catch (err) {
          assert.ok(err instanceof InferdError, String(err));
          assert.equal(err.httpStatus, 401);
          const secret = auth.replace(/^\S+\s+/, '').trim();
          if (secret.length >= 8) assert.ok(!err.message.includes(secret), 'the presented key is not echoed');
        }
      }),
      params(),
    );
  });

  it('REST answers 2xx / 401 / 403 / 429 to arbitrary credentials and key-like query strings', async () => {
    const param = fc.constantFrom('api_key', 'key', 'token', 'access_token', 'apikey', 'x', 'model');
    await fc.assert(
      fc.asyncProperty(authorization, param, headerText, async (auth, name, value) => {
        counter.add('rest');
        const url = `${server.url}/v2/models/simple?${name}=${encodeURIComponent(value)}`;
        const res = await fetch(url, { headers: { authorization: auth } });
        const text = await res.text();
        assert.ok([200, 401, 403, 429].includes(res.status), `${res.status} ${text}`);
        if (res.status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="inferd"/);
      }),
      params(SERVER_RUNS),
    );
    assert.equal((await fetch(`${server.url}/v2/models/simple`, { headers: bearer(keys['ok'] ?? '') })).status, 200);
  });

  it('gRPC answers OK / UNAUTHENTICATED / PERMISSION_DENIED to arbitrary authorization metadata', async () => {
    const allowed = new Set([grpc.status.OK, grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]);
    await fc.assert(
      fc.asyncProperty(authorization, async (auth) => {
        counter.add('grpc');
        const metadata = new grpc.Metadata();
        metadata.set('authorization', auth);
        const code = await new Promise<number>((resolve) => {
          (
            clients.inference as unknown as Record<
              string,
              (r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void
            >
          )['ModelInfer']?.call(clients.inference, simpleRawRequest(), metadata, (err) => resolve(err?.code ?? 0));
        });
        assert.ok(allowed.has(code), grpc.status[code]);
      }),
      params(SERVER_RUNS),
    );
  });
});

it('reports the cases run', (t) => {
  assert.ok(counter.total > 0);
  counter.report(t, 'credentials');
});
