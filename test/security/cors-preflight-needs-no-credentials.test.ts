// @fastify/cors answers preflights in its own onRequest hook, registered first on the HTTP
// listener: a hook that refuses requests without credentials (as an authentication hook does),
// added after, never sees a preflight, while its refusals still carry the CORS headers. The one
// route the plugin adds, OPTIONS *, is marked `config.access: 'public'`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createLogger } from '../../src/observability/logger.js';
import { buildHttpApp } from '../../src/protocols/common/http-app.js';
import type { ServerState } from '../../src/protocols/common/server-state.js';

const STATE: ServerState = { name: 'inferd', version: '0.0.0', phase: () => 'serving', ready: () => true };
const APP = 'https://app.example.com';

function build(corsAllowOrigins: string[]): { app: FastifyInstance; routes: RouteOptions[] } {
  const app = buildHttpApp({ logger: createLogger('silent'), server: STATE, maxBodyBytes: 1024, corsAllowOrigins });
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.get('/v2/models', () => ({ models: [] }));
  // Stands in for an authentication hook: every request without credentials is refused.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.headers.authorization === undefined) void reply.code(401).send({ error: 'no credentials' });
    else done();
  });
  return { app, routes };
}

describe('CORS preflights', () => {
  it('adds one route, OPTIONS *, with config.access public', async () => {
    const { app, routes } = build([APP]);
    await app.ready();
    const options = routes.filter((r) => r.method === 'OPTIONS');
    assert.deepEqual(
      options.map((r) => r.url),
      ['*'],
    );
    const config: Record<string, unknown> = { ...options[0]?.config };
    assert.deepEqual(config.access, { group: 'public' });
    // The router stores it as /*: every path.
    assert.ok(app.hasRoute({ method: 'OPTIONS', url: '/*' }));
    assert.match(app.printRoutes({ commonPrefix: false }), /^└── \* \(OPTIONS\)$/m);
    await app.close();
  });

  it('answers a preflight before a hook that wants credentials; refusals carry the CORS headers', async () => {
    const { app } = build([APP]);
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v2/models',
      headers: {
        origin: APP,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], APP);
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);

    const refused = await app.inject({ method: 'GET', url: '/v2/models', headers: { origin: APP } });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['access-control-allow-origin'], APP);
    assert.match(String(refused.headers['access-control-expose-headers']), /retry-after/);

    const served = await app.inject({
      method: 'GET',
      url: '/v2/models',
      headers: { origin: APP, authorization: 'Bearer k' },
    });
    assert.equal(served.statusCode, 200);
    assert.equal(served.headers['access-control-allow-origin'], APP);
    await app.close();
  });

  it('without origins registers nothing: no OPTIONS route, preflights reach the other hooks', async () => {
    const { app, routes } = build([]);
    await app.ready();
    assert.equal(
      routes.some((r) => r.method === 'OPTIONS'),
      false,
    );
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v2/models',
      headers: { origin: APP, 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.statusCode, 401);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    await app.close();
  });
});
