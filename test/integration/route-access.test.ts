import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { apiKeyDigest, newApiKey } from '../../src/access/api-key.ts';
import { signJwt } from '../../src/access/jwt.ts';
import { registeredRoutes } from '../../src/http/access-guard.ts';
import { ROUTE_ROLES } from '../../src/http/route-roles.ts';
import type { Hotline } from '../../src/main.ts';
import { startTestHotline } from './helpers/app.ts';
import { AccessStore } from '../../src/records/access-store.ts';
import { migrate } from '../../src/records/migrate.ts';

const TOKENS = { admin: 'admin-token-route-access-test', supervisor: 'supervisor-token-route-access', agent: 'agent-token-route-access-test' } as const;
const JWT_SECRET = 'route-access-test-secret-0123456789abcdef';
/** The only routes that take no credentials; making another one public is a decision this list records. */
const PUBLIC = new Set([
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'POST /auth/login',
  'GET /wallboard',
  ...['', '/', '/json', '/yaml', '/static/index.html', '/static/swagger-initializer.js', '/static/*'].map((p) => `GET /docs${p}`),
]);
/** Values for path parameters that pass every route's schema, so only access decides the answer. */
const PARAMS: Record<string, string> = { id: 'a1', version: '1', number: '5000', name: 'q1', action: 'pause', flow: 'main', node: 'hours_check', username: 'nobody-here' };

const urlOf = (route: string) =>
  route
    .split(' ')[1]!
    .replace(/:([a-z]+)/g, (_m, p: string) => (route.startsWith('DELETE /keys') ? randomUUID() : PARAMS[p]!));

describe('every registered route and who may call it (the app as main.ts builds it; real Postgres and Redis)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  const store = new AccessStore(pool);
  let hotline: Hotline;
  let stopApp: (() => Promise<void>) | undefined;
  const bearers: Record<string, string> = {};

  beforeAll(async () => {
    await migrate(pool);
    ({ hotline, stop: stopApp } = await startTestHotline('route-access', {
      API_TOKENS: Object.entries(TOKENS).map(([r, t]) => `${r}:${t}`).join(','),
      JWT_SECRET,
      // Access only here; the limits have their own test (rate-limit.test.ts).
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    }));
    const nowS = Math.floor(Date.now() / 1000);
    // Expired or revoked credentials of the most powerful role: their 401 cannot be a role refusal.
    const expired = newApiKey();
    await store.createKey({ name: `expired-${randomUUID()}`, role: 'admin', agentId: null, digest: expired.digest, createdBy: 'test', expiresAt: new Date(Date.now() - 60_000) });
    const revoked = newApiKey();
    const rk = await store.createKey({ name: `revoked-${randomUUID()}`, role: 'admin', agentId: null, digest: revoked.digest, createdBy: 'test', expiresAt: null });
    await store.revokeKey(rk.id);
    bearers.expiredKey = expired.key;
    bearers.revokedKey = revoked.key;
    bearers.expiredJwt = signJwt({ sub: 'old-admin', role: 'admin', uid: randomUUID(), ver: 0, jti: randomUUID(), iat: nowS - 3600, exp: nowS - 60 }, JWT_SECRET);
    // An agent bound to another agent than the one in PARAMS: agent:self routes refuse it. A real user: JWTs are checked against their user's token version.
    const other = await store.createUser({ username: `other${randomUUID().slice(0, 8)}`, role: 'agent', agentId: 'someone-else', passwordHash: 'unused', createdBy: 'test' });
    bearers.otherAgent = signJwt({ sub: other!.username, role: 'agent', agentId: 'someone-else', uid: other!.id, ver: 0, jti: randomUUID(), iat: nowS, exp: nowS + 600 }, JWT_SECRET);
  });
  afterAll(async () => {
    await stopApp?.();
    await pool.end();
  });

  const call = (route: string, bearer?: string) =>
    hotline.app.inject({
      method: route.split(' ')[0] as 'GET',
      url: urlOf(route),
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      ...(route.startsWith('GET') || route.startsWith('DELETE') ? {} : { payload: {} }),
    });

  const protectedRoutes = () => [...new Set(registeredRoutes(hotline.app).map((r) => r.replace(/^HEAD /, 'GET ')))].filter((r) => !PUBLIC.has(r));

  it('the table names every registered route, and every listed route is registered', () => {
    const registered = new Set(registeredRoutes(hotline.app).map((r) => r.replace(/^HEAD /, 'GET ')));
    expect(registered.size).toBeGreaterThan(30);
    expect([...registered].filter((r) => !(r in ROUTE_ROLES)), 'routes without an entry in src/http/route-roles.ts').toEqual([]);
    expect(Object.keys(ROUTE_ROLES).filter((r) => !registered.has(r)), 'entries for routes that do not exist').toEqual([]);
    expect(Object.keys(ROUTE_ROLES).filter((r) => ROUTE_ROLES[r] === 'public'), 'public routes').toEqual([...PUBLIC]);
  });

  it('every route except the public ones answers 401 without credentials, with a wrong token, and with expired or revoked ones', async () => {
    for (const route of protectedRoutes()) {
      for (const bearer of [undefined, 'not-a-real-token-at-all', bearers.expiredKey, bearers.revokedKey, bearers.expiredJwt]) {
        const res = await call(route, bearer);
        expect(res.statusCode, `${route} with ${bearer ? bearer.slice(0, 12) : 'no credentials'}`).toBe(401);
      }
      expect((await call(route, bearers.expiredJwt)).json().error, route).toBe('credentials_expired');
    }
  });

  it('every role outside a route\'s entry gets 403; every role inside it gets past access (no 401/403)', async () => {
    const roles = ['admin', 'supervisor', 'agent'] as const;
    for (const route of protectedRoutes()) {
      const access = ROUTE_ROLES[route]!;
      if (access === 'public') continue;
      for (const role of roles) {
        const res = await call(route, TOKENS[role]);
        const allowed = access.includes(role) || (role === 'agent' && access.includes('agent:self'));
        if (allowed && !access.includes(role)) {
          // API_TOKENS agents are bound to no agent: an agent:self route refuses them in the handler.
          expect(res.statusCode, `${route} as unbound agent`).toBe(403);
        } else if (allowed) {
          expect([401, 403], `${route} as ${role}: ${res.body}`).not.toContain(res.statusCode);
        } else {
          expect(res.statusCode, `${route} as ${role}`).toBe(403);
          expect(res.json().error).toBe('forbidden');
        }
      }
      if (Array.isArray(access) && access.includes('agent:self')) {
        expect((await call(route, bearers.otherAgent)).statusCode, `${route} as another agent`).toBe(403);
      }
    }
  });

  it('a body is not even parsed for a caller without credentials (401 before 400)', async () => {
    const res = await hotline.app.inject({ method: 'POST', url: '/flows/x/rollback', payload: '{not json', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(401);
  });

  it('the public routes answer without credentials', async () => {
    expect((await hotline.app.inject({ url: '/health' })).statusCode).toBe(200);
    expect([200, 503]).toContain((await hotline.app.inject({ url: '/ready' })).statusCode);
    expect((await hotline.app.inject({ url: '/metrics' })).statusCode).toBe(200);
    expect(apiKeyDigest('x')).toHaveLength(32);
  });
});
