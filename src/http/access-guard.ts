import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimit, RateLimiter } from '../redis/rate-limiter.ts';
import { unauthorized, type TokenAuth } from './auth.ts';
import { ROUTE_ROLES, type RouteAccess } from './route-roles.ts';
import { addResponses } from './schemas/common-responses.ts';
import { errors } from './schemas/responses.ts';

const registered = new WeakMap<object, string[]>();

/**
 * Checks every request against ROUTE_ROLES before anything else runs (onRequest: no body is
 * parsed or validated for a caller without credentials), and records every route as it is
 * registered so the route-table test can walk them. A route missing from the table is refused
 * (500 `route_not_listed`): a new route is closed until someone decides who may call it.
 * Route files keep their own requireRole as a second, local statement of the same rule.
 */
export interface RateLimits {
  limiter: RateLimiter;
  /** Per API key, user or env token; null → not limited. */
  perPrincipal: RateLimit | null;
  /** Per client IP for requests without valid credentials (login included); null → not limited. */
  perIp: RateLimit | null;
}

/** Health and metrics are polled by machines on a schedule; they are not limited. */
const UNLIMITED = new Set(['GET /health', 'GET /ready', 'GET /metrics']);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function installAccessGuard(app: FastifyInstance<any, any, any, any, any>, auth: TokenAuth, limits?: RateLimits): void {
  /** True when the request may go on; otherwise the 429 has been sent. */
  const withinLimit = async (req: FastifyRequest, reply: FastifyReply, caller: string, rule: RateLimit | null | undefined): Promise<boolean> => {
    if (!limits || !rule) return true;
    const d = await limits.limiter.hit(caller, rule).catch((err: unknown) => {
      req.log.warn({ err: (err as Error).message }, 'rate limit not checked; request let through');
      return { allowed: true as const };
    });
    if (d.allowed) return true;
    reply.status(429).header('retry-after', String(d.retryAfterSeconds)).send({ error: 'rate_limited', message: `too many requests; retry in ${d.retryAfterSeconds} s` });
    return false;
  };

  const routes: string[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) {
      routes.push(`${m} ${r.url}`);
      // What this guard may answer instead of the route, declared on the route (served and documented like its own).
      const access = accessOf(m, r.url);
      if (!r.schema || r.schema.hide || !access) continue;
      const limited = !UNLIMITED.has(`${m === 'HEAD' ? 'GET' : m} ${r.url}`);
      addResponses(r, { ...(access === 'public' ? {} : errors(401, 403)), ...(limited ? errors(429) : {}) });
    }
  });
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.routeOptions.url;
    if (url === undefined) return; // no route: the 404 handler answers
    const access = accessOf(req.method, url);
    if (access === 'public') {
      if (!UNLIMITED.has(`${req.method} ${url}`) && !(await withinLimit(req, reply, `ip:${req.ip}`, limits?.perIp))) return reply;
      return;
    }
    if (!access) {
      req.log.error({ route: `${req.method} ${url}` }, 'route missing from ROUTE_ROLES; refused');
      return reply.status(500).send({ error: 'route_not_listed', message: 'this route has no access rule yet' });
    }
    const who = await auth.check(bearer(req));
    if (!who.ok) {
      // Guessing credentials costs the guesser's IP its budget.
      if (!(await withinLimit(req, reply, `ip:${req.ip}`, limits?.perIp))) return reply;
      return unauthorized(reply, who.reason);
    }
    if (!(await withinLimit(req, reply, `principal:${who.principal.keyId ?? who.principal.name}`, limits?.perPrincipal))) return reply;
    const role = who.principal.role;
    if (!access.includes(role) && !(role === 'agent' && access.includes('agent:self'))) {
      return reply.status(403).send({ error: 'forbidden', message: `role ${role} may not do this` });
    }
    req.principal = who.principal;
  });
}

/** The routes registered on an app built with the guard, as `METHOD /url`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registeredRoutes(app: FastifyInstance<any, any, any, any, any>): readonly string[] {
  return registered.get(app) ?? [];
}

/** HEAD answers like its GET. */
export function accessOf(method: string, url: string): RouteAccess | undefined {
  return ROUTE_ROLES[`${method === 'HEAD' ? 'GET' : method} ${url}`];
}

/** A browser cannot set headers on a WebSocket, so an upgrade may carry the bearer as `?token=`. */
function bearer(req: FastifyRequest): string | undefined {
  if (req.headers.authorization || req.headers.upgrade?.toLowerCase() !== 'websocket') return req.headers.authorization;
  const token = (req.query as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' ? `Bearer ${token}` : undefined;
}
