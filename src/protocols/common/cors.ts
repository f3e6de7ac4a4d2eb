// CORS for the HTTP listener (@fastify/cors), on only when origins are configured
// (--cors-allow-origin). The plugin answers preflights (OPTIONS with Origin and
// Access-Control-Request-Method) in its onRequest hook, before the route and before hooks added
// after it, so a preflight needs no credentials. It sets its headers in that hook, so error
// replies (4xx, 5xx, the not-found reply) carry them too and a browser can read them.

import cors from '@fastify/cors';
import type { FastifyInstance, RouteOptions } from 'fastify';

/** Request headers a browser may send: credentials, JSON and binary infer bodies, request ids. */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'inference-header-content-length',
  'x-request-id',
] as const;

/** Response headers a browser's script may read: request ids, refusals' retry hints, binary bodies. */
export const CORS_EXPOSED_HEADERS = [
  'x-request-id',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'inference-header-content-length',
] as const;

/** The methods the HTTP edges serve. */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'DELETE'] as const;

/** Preflight answers are cached by browsers this long (seconds). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Registers @fastify/cors for `origins` ('*' allows every origin; nothing registered when empty).
 * The plugin adds a wildcard route, OPTIONS *, for preflights; it takes no route config, so an
 * onRoute hook marks that route `config.access: 'public'` (it answers nothing but preflights).
 */
export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.method === 'OPTIONS' && route.url === '*')
      route.config = { ...route.config, access: { group: 'public' } };
  });
  void app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: [...CORS_METHODS],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    // Answered in the hook with 204; never passed on to a route or a later hook.
    preflightContinue: false,
    strictPreflight: true,
  });
}
