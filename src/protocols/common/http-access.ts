// The enforcement point of every HTTP listener (REST, WebSocket, OpenAI, batch API, metrics): an
// onRoute hook that refuses to register a route with no access declaration (route-access.ts), and
// one onRequest hook, ahead of body parsing and every route's own hooks, that authenticates the
// caller, authorizes the route's API group (and the model, for inference), and admits the request
// against the key's quotas. Admin actions are written to the audit log when they have been answered.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonDepthExceeds } from '../../util/bounded-json.js';
import type { AccessPolicy, PresentedCredentials, Principal } from '../../security/access-policy.js';
import type { AuditLog } from '../../security/audit-log.js';
import type { QuotaGate } from '../../security/quota-gate.js';
import { ADMIN_GROUPS } from '../../security/scopes.js';
import { declaredLength } from './body-reader.js';
import { routeAccessOf, type RouteAccess } from './route-access.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's access declaration; set from route-access.ts when the route registers. */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** Who is calling, once the access hook has passed; undefined on routes that need no decision. */
    principal: Principal | undefined;
  }
}

/** A registered route and its access, as the live table holds it. */
export interface RouteRecord {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
}

export interface AccessControlOptions {
  /** Every route registered is appended here (the live route table, for tests and docs). */
  readonly routes?: RouteRecord[];
  readonly policy: AccessPolicy;
  readonly now?: () => number;
  readonly audit?: AuditLog;
  readonly quotas?: QuotaGate;
}

/** Query parameters that carry keys in other servers' conventions; a key there is refused. */
const KEY_PARAMETERS = ['api_key', 'api-key', 'apikey', 'key', 'access_token', 'token'];

function keyInQuery(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  return KEY_PARAMETERS.find((name) => params.has(name));
}

function credentialsOf(request: FastifyRequest): PresentedCredentials {
  const headers = request.headers;
  const auth = headers.authorization;
  return {
    authorization: auth,
    header: (name) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    },
    keyInQuery: keyInQuery(request.url),
    peer: request.ip,
  };
}

/** The model named in a JSON body's `model` field, read only when a key's model limit needs it. */
function bodyModel(body: unknown): string | undefined {
  if (!Buffer.isBuffer(body) || body.length === 0 || jsonDepthExceeds(body)) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'model' in parsed && typeof parsed.model === 'string')
      return parsed.model;
  } catch {
    // The route's own parser answers the malformed body.
  }
  return undefined;
}

function routeText(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? ''}`;
}

/**
 * Installs the access hooks on `app`. Call right after creating the app, before the routes: the
 * onRoute check sees only routes registered after it.
 */
export function installAccessControl(app: FastifyInstance, options: AccessControlOptions): void {
  const { policy, audit, quotas } = options;
  const now = options.now ?? Date.now;
  app.decorateRequest('principal', undefined);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const access = routeAccessOf(method, route.url, route.config?.access);
      if (access === undefined)
        throw new Error(
          `route ${method} ${route.url} has no access declaration: add it to src/protocols/common/route-access.ts`,
        );
      route.config = { ...route.config, access };
      options.routes?.push({ method, url: route.url, access });
    }
  });

  // Callback hooks, not async ones: this runs on every request, and a throw must reach the
  // route's own error handler (its body format) through done().
  const check = (request: FastifyRequest, reply: FastifyReply): void => {
    const access = request.routeOptions.config.access;
    // Unknown routes (404) and the CORS preflight answers need no decision.
    if (access === undefined || access.group === 'public') return;
    const principal = policy.authenticate(credentialsOf(request), now());
    const model = access.model === 'params' ? (request.params as { model?: string } | undefined)?.model : undefined;
    // Known before authorization, so that a refused admin action is audited under its caller.
    request.principal = principal;
    policy.authorize(principal, access.group, routeText(request), model);
    // A v2 infer body's size is its tensor bytes, charged before it is read when it is declared.
    const admission = quotas?.admit(
      principal,
      access.group,
      access.model === 'params' ? declaredLength(request) : undefined,
    );
    if (admission !== undefined) {
      void reply.headers(admission.headers);
      // A WebSocket stream holds its admission until the connection closes.
      const release = (): void => admission.release();
      reply.raw.once('close', release);
      if (request.headers.upgrade !== undefined) request.raw.socket.once('close', release);
    }
  };
  app.addHook('onRequest', (request, reply, done) => {
    try {
      check(request, reply);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });

  // A key limited to some models: for the OpenAI routes the model is in the body, read here after
  // the body arrived and before the route runs. Keys without a model limit skip the parse.
  app.addHook('preHandler', (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    const principal = request.principal;
    // A v2 infer body sent without a Content-Length is charged once read (never refused).
    if (access?.model === 'params' && principal !== undefined && Buffer.isBuffer(request.body)) {
      if (declaredLength(request) === undefined) quotas?.chargeAfter(principal, request.body.length);
    }
    if (access?.model === 'body' && principal !== undefined && principal.grant.models !== null) {
      const model = bodyModel(request.body);
      try {
        if (model !== undefined) policy.authorize(principal, 'inference', routeText(request), model);
      } catch (err) {
        done(err as Error);
        return;
      }
    }
    done();
  });

  if (audit !== undefined)
    app.addHook('onResponse', (request, reply, done) => {
      const access = request.routeOptions.config.access;
      const admin = access !== undefined && access.group !== 'public' && ADMIN_GROUPS.has(access.group);
      if (admin && request.method !== 'GET' && request.method !== 'HEAD')
        audit.record({
          who: request.principal?.id ?? 'unauthenticated',
          peer: request.ip,
          protocol: 'http',
          action: routeText(request),
          target: { ...(request.params as Record<string, string> | undefined) },
          status: reply.statusCode,
          requestId: String(request.id),
        });
      done();
    });
}

/** GET /v2/usage: requests, tokens and tensor bytes per key id, for cost allocation. */
export function registerUsageRoute(app: FastifyInstance, quotas: QuotaGate): void {
  app.get('/v2/usage', (_req, reply) => reply.type('application/json').send(JSON.stringify({ keys: quotas.usage() })));
}
