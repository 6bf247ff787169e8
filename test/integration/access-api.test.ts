import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Hotline } from '../../src/main.ts';
import { startTestHotline } from './helpers/app.ts';
import { AccessStore } from '../../src/records/access-store.ts';
import { migrate } from '../../src/records/migrate.ts';

const ADMIN = 'admin-token-access-api-test';
const JWT_SECRET = 'access-api-test-secret-0123456789abcdef';

describe('API keys, users and login (real Postgres)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  let hotline: Hotline;
  let stopApp: (() => Promise<void>) | undefined;
  const req = (method: 'GET' | 'POST' | 'DELETE', url: string, bearer?: string, payload?: unknown) =>
    hotline.app.inject({ method, url, headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });

  beforeAll(async () => {
    await migrate(pool);
    ({ hotline, stop: stopApp } = await startTestHotline('access-api', {
      API_TOKENS: `admin:${ADMIN}`,
      JWT_SECRET,
      // Access only here; the limits have their own test (rate-limit.test.ts).
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    }));
  });
  afterAll(async () => {
    await stopApp?.();
    await pool.end();
  });

  it('an admin creates a key (shown once, stored only as a digest), it works, and once revoked it is refused', async () => {
    const name = `crm-${randomUUID().slice(0, 8)}`;
    const created = await req('POST', '/keys', ADMIN, { name, role: 'supervisor' });
    expect(created.statusCode).toBe(201);
    const { key, id } = created.json() as { key: string; id: string };
    expect(key).toMatch(/^hk_/);
    const { rows } = await pool.query<{ key_digest: Buffer }>('SELECT key_digest FROM api_keys WHERE id = $1', [id]);
    expect(rows[0]!.key_digest.toString('hex')).not.toContain(Buffer.from(key).toString('hex'));
    expect(JSON.stringify((await req('GET', '/keys', ADMIN)).json())).not.toContain(key);
    expect((await req('GET', '/keys', ADMIN)).json().keys.find((k: { id: string }) => k.id === id)).toMatchObject({ name, role: 'supervisor', createdBy: 'admin#1', revokedAt: null });

    expect((await req('GET', '/flows', key)).statusCode).toBe(200);
    expect((await req('GET', '/keys', key)).statusCode).toBe(403);

    expect((await req('DELETE', `/keys/${id}`, ADMIN)).statusCode).toBe(204);
    const refused = await req('GET', '/flows', key);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error).toBe('credentials_expired');
    expect((await req('DELETE', `/keys/${id}`, ADMIN)).statusCode).toBe(404);
  });

  it('an agent key needs an agentId; an expiry in the past is refused; unknown fields are refused', async () => {
    const noAgent = await req('POST', '/keys', ADMIN, { name: 'a', role: 'agent' });
    expect(noAgent.statusCode).toBe(400);
    expect(noAgent.json().errors).toEqual([expect.objectContaining({ path: 'agentId' })]);
    expect((await req('POST', '/keys', ADMIN, { name: 'a', role: 'admin', expiresAt: '2001-01-01T00:00:00Z' })).statusCode).toBe(400);
    expect((await req('POST', '/keys', ADMIN, { name: 'a', role: 'admin', scope: 'all' })).statusCode).toBe(400);
  });

  it('an agent credential reads and changes only its own state, and reads live stats', async () => {
    const own = `ag-${randomUUID().slice(0, 8)}`;
    const { key } = (await req('POST', '/keys', ADMIN, { name: 'softphone', role: 'agent', agentId: own })).json() as { key: string };
    expect((await req('GET', '/agents/someone-else', key)).statusCode).toBe(403);
    expect((await req('POST', '/agents/someone-else/pause', key, {})).statusCode).toBe(403);
    expect((await req('GET', '/agents', key)).statusCode).toBe(403);
    // Its own id passes access; the agent is not configured, so routing answers (not 401/403).
    expect([401, 403]).not.toContain((await req('GET', `/agents/${own}`, key)).statusCode);
    expect([401, 403]).not.toContain((await req('POST', `/agents/${own}/login`, key, {})).statusCode);
    expect((await req('GET', '/live', key)).statusCode).toBe(200);
  });

  it('an admin creates a user; login gives a JWT with the user\'s role; a wrong password or a taken name is refused', async () => {
    const username = `sup${randomUUID().slice(0, 8)}`;
    const password = 'a long enough password';
    expect((await req('POST', '/users', ADMIN, { username, role: 'supervisor', password })).statusCode).toBe(201);
    expect((await req('POST', '/users', ADMIN, { username, role: 'admin', password })).statusCode).toBe(409);
    const { rows } = await pool.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = $1', [username]);
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$/);
    expect(rows[0]!.password_hash).not.toContain(password);

    const bad = await req('POST', '/auth/login', undefined, { username, password: 'wrong password here' });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error).toBe('login_failed');
    expect((await req('POST', '/auth/login', undefined, { username: 'nobody-at-all', password })).json().error).toBe('login_failed');

    const login = await req('POST', '/auth/login', undefined, { username, password });
    expect(login.statusCode).toBe(200);
    const { token } = login.json() as { token: string };
    expect((await req('GET', '/flows', token)).statusCode).toBe(200);
    expect((await req('POST', '/users', token, { username: `x${username}`, role: 'admin', password })).statusCode).toBe(403);
  });

  it('without JWT_SECRET, login is off and JWT-shaped bearers are refused', async () => {
    const app = await buildApp({
      logger: createLogger('silent'),
      readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
      access: { store: new AccessStore(pool), auth: new TokenAuth(`admin:${ADMIN}`) },
    });
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'a', password: 'b' } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('login_disabled');
    expect((await app.inject({ url: '/keys', headers: { authorization: 'Bearer a.b.c' } })).statusCode).toBe(401);
    await app.close();
  });
});
