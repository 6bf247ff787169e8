import type { FastifyInstance, RouteOptions } from 'fastify';
import { errors, Unavailable } from './responses.ts';

/**
 * Routes that never reach Postgres: public (no credential to look up) and served from memory or
 * Redis. Every other route can answer 503 `database_unavailable`: its handler reads or writes
 * Postgres, or the access guard looks up an API key or a login's token version there.
 */
const NO_DATABASE = new Set(['GET /health', 'GET /ready', 'GET /metrics', 'GET /wallboard']);

const declared = new WeakMap<object, Map<string, RouteOptions>>();

/**
 * Declares, on every route as it is registered, the refusals the app itself gives before a
 * handler runs (the error handler in app.ts): 400 for a malformed path, query or body, and for
 * a body also 413 (too large) and 415 (not JSON); and the error handler's 503
 * `database_unavailable` on every route that reaches Postgres (not NO_DATABASE). The access
 * guard adds its own 401/403/429 the same way, and the audit hook its 503 `audit_unavailable`,
 * so route files declare only their answers and their handlers' refusals. Also records every
 * route, so the route-table test can read back what each one declares (Fastify
 * keeps a route's schema to itself once registered). Install before any route.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function declareCommonResponses(app: FastifyInstance<any, any, any, any, any>): void {
  const routes = new Map<string, RouteOptions>();
  declared.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) routes.set(`${m} ${r.url}`, r);
    const s = r.schema;
    if (!s || s.hide || (r as { websocket?: boolean }).websocket) return;
    const takesBody = [r.method].flat().some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
    const refusals = takesBody ? errors(400, 413, 415) : s.params || s.querystring ? errors(400) : {};
    const reachesDatabase = [r.method].flat().some((m) => !NO_DATABASE.has(`${m === 'HEAD' ? 'GET' : m} ${r.url}`));
    addResponses(r, { ...refusals, ...(reachesDatabase ? { 503: Unavailable } : {}) });
  });
}

/** Adds `extra` to a route's response schemas; the route's own declaration of a status wins. */
export function addResponses(r: RouteOptions, extra: Record<number, unknown>): void {
  r.schema = { ...r.schema, response: { ...extra, ...(r.schema?.response as object | undefined) } };
}

/** `METHOD /url` → the statuses with a response schema, for an app built with declareCommonResponses. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function declaredResponses(app: FastifyInstance<any, any, any, any, any>): ReadonlyMap<string, readonly string[]> {
  // Read when asked: hooks that run after the recording one (the access guard's) add theirs too.
  return new Map([...(declared.get(app) ?? new Map<string, RouteOptions>())].map(([route, r]) => [route, Object.keys((r.schema?.response as object | undefined) ?? {})]));
}
