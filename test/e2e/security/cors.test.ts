// CORS (--cors-allow-origin): a preflight from an allowed origin is answered 204 by @fastify/cors
// with the allowed methods and headers, and no credentials; a disallowed origin gets no
// Access-Control-Allow-Origin; replies, errors included, carry the CORS headers for an allowed
// origin so a browser's script can read them. Without the option there are no CORS headers.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServerConfigInput } from '../../../src/config/server-config.js';
import { writeKeyFile } from '../../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { createTestPki, removeTestPki, type TestPki } from '../../helpers/test-certs.js';
import { httpRequest, type HttpReply } from './tls-wire.js';

const APP = 'https://app.example.com';
const OTHER_APP = 'http://localhost:5173';
const EXPOSED =
  'x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, inference-header-content-length';

function preflight(server: TestServer, path: string, origin: string, tls?: { ca: Buffer }): Promise<HttpReply> {
  return httpRequest(`${server.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    },
    ...(tls === undefined ? {} : { tls }),
  });
}

describe('CORS', () => {
  let server: TestServer;

  before(async () => {
    server = await startExamples({ corsAllowOrigins: [APP, OTHER_APP] });
  });
  after(() => server.close());

  it('answers a preflight from an allowed origin with 204 and the allow headers', async () => {
    const reply = await preflight(server, '/v2/models/simple/infer', APP);
    assert.equal(reply.status, 204);
    assert.equal(reply.text, '');
    assert.equal(reply.headers['access-control-allow-origin'], APP);
    assert.equal(reply.headers['access-control-allow-methods'], 'GET, HEAD, POST, DELETE');
    assert.equal(
      reply.headers['access-control-allow-headers'],
      'authorization, content-type, inference-header-content-length, x-request-id',
    );
    assert.equal(reply.headers['access-control-max-age'], '600');
    assert.equal(reply.headers['access-control-allow-credentials'], undefined);
    assert.match(String(reply.headers.vary), /Origin/);
    // Every allowed origin is answered with itself.
    const other = await preflight(server, '/v1/chat/completions', OTHER_APP);
    assert.equal(other.status, 204);
    assert.equal(other.headers['access-control-allow-origin'], OTHER_APP);
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin', async () => {
    const reply = await preflight(server, '/v2/models/simple/infer', 'https://evil.example.com');
    assert.equal(reply.headers['access-control-allow-origin'], undefined);
    const get = await httpRequest(`${server.url}/v2/health/ready`, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
  });

  it('a reply to an allowed origin carries allow-origin and the exposed headers', async () => {
    const reply = await httpRequest(`${server.url}/v2/health/ready`, { headers: { origin: APP } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], APP);
    assert.equal(reply.headers['access-control-expose-headers'], EXPOSED);
    assert.ok(reply.headers['x-request-id'] !== undefined);
  });

  it('error replies carry the CORS headers: 404s, a 400, an OpenAI error', async () => {
    const missing = await httpRequest(`${server.url}/v2/models/no-such-model`, { headers: { origin: APP } });
    assert.equal(missing.status, 404);
    assert.match(missing.text, /"error"/);
    assert.equal(missing.headers['access-control-allow-origin'], APP);
    assert.equal(missing.headers['access-control-expose-headers'], EXPOSED);

    const unrouted = await httpRequest(`${server.url}/no/such/route`, { headers: { origin: APP } });
    assert.equal(unrouted.status, 404);
    assert.equal(unrouted.headers['access-control-allow-origin'], APP);

    const bad = await httpRequest(`${server.url}/v2/models/simple/infer`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: '{"inputs": [',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['access-control-allow-origin'], APP);

    // The OpenAI edge writes its own error bodies; the headers are there too.
    const openai = await httpRequest(`${server.url}/v1/embeddings`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no-such-model', input: 'x' }),
    });
    assert.equal(openai.status, 404, openai.text);
    assert.match(openai.text, /"type"/);
    assert.equal(openai.headers['access-control-allow-origin'], APP);
  });

  it('an OPTIONS request that is not a preflight is a 400, not passed to a route', async () => {
    const reply = await httpRequest(`${server.url}/v2/models/simple/infer`, { method: 'OPTIONS' });
    assert.equal(reply.status, 400);
    assert.equal(reply.text, 'Invalid Preflight Request');
  });
});

describe('CORS with API keys', () => {
  let server: TestServer;
  let dir: string;
  let keys: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-cors-keys-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [{ id: 'web', scopes: ['infer'] }]);
    server = await startExamples({ corsAllowOrigins: [APP], apiKeysFile: path.join(dir, 'keys.yaml') });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the preflight without a key, and the 401 and 403 carry the CORS headers', async () => {
    const reply = await preflight(server, '/v2/models/simple/infer', APP);
    assert.equal(reply.status, 204);
    assert.equal(reply.headers['access-control-allow-origin'], APP);
    const refused = await httpRequest(`${server.url}/v2/models/simple`, { method: 'GET', headers: { origin: APP } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['access-control-allow-origin'], APP);
    assert.match(refused.text, /needs an API key with scope 'read'/);
    const forbidden = await httpRequest(`${server.url}/v2/models/simple`, {
      method: 'GET',
      headers: { origin: APP, authorization: `Bearer ${keys['web']}` },
    });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers['access-control-allow-origin'], APP);
  });
});

describe('CORS with every origin, over TLS', () => {
  let pki: TestPki;
  let server: TestServer;

  before(async () => {
    pki = await createTestPki();
    server = await startExamples({
      corsAllowOrigins: ['*'],
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
  });
  after(async () => {
    await server.close();
    await removeTestPki(pki);
  });

  it("'*' answers every origin with *", async () => {
    const reply = await preflight(server, '/v2/models/simple/infer', 'https://anywhere.example', { ca: pki.caPem });
    assert.equal(reply.status, 204);
    assert.equal(reply.headers['access-control-allow-origin'], '*');
  });
});

describe('without --cors-allow-origin', () => {
  let server: TestServer;

  before(async () => {
    server = await startExamples({});
  });
  after(() => server.close());

  it('there are no CORS headers, and a preflight is a 404', async () => {
    const reply = await preflight(server, '/v2/models/simple/infer', APP);
    assert.equal(reply.status, 404);
    assert.equal(reply.headers['access-control-allow-origin'], undefined);
    const get = await httpRequest(`${server.url}/v2/health/ready`, { headers: { origin: APP } });
    assert.equal(get.status, 200);
    for (const name of Object.keys(get.headers)) assert.doesNotMatch(name, /^access-control-/);
  });
});

function startExamples(options: Partial<ServerConfigInput>): Promise<TestServer> {
  return startTestServer({
    modelRepository: EXAMPLES_DIR,
    modelControlMode: 'explicit',
    loadModels: ['simple'],
    logLevel: 'warn',
    ...options,
  });
}
