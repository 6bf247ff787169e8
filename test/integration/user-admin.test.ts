import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup/provided.ts';
import type { Hotline } from '../../src/main.ts';
import { migrate } from '../../src/records/migrate.ts';
import { startTestHotline } from './helpers/app.ts';
import { ownDatabase } from './helpers/own-database.ts';

/*
 * User management and revocable JWTs through the app main.ts builds, on real Postgres and
 * Redis. The file has a database of its own: "the last admin user" is about every user in
 * the database, and other files create users in the run's shared one.
 */

const ADMIN = 'admin-token-user-admin-test';
const JWT_SECRET = 'user-admin-test-secret-0123456789abcdef';
const PASSWORD = 'a long enough password';

describe('user management and revocable logins (real Postgres and Redis)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let pool: pg.Pool;
  let hotline: Hotline;
  let stopApp: (() => Promise<void>) | undefined;
  type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
  const req = (method: Method, url: string, bearer?: string, payload?: object) =>
    hotline.app.inject({ method, url, headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, ...(payload ? { payload } : {}) });
  const login = async (username: string, password = PASSWORD) => {
    const res = await req('POST', '/auth/login', undefined, { username, password });
    return res.statusCode === 200 ? (res.json().token as string) : null;
  };
  const createUser = async (username: string, role: 'admin' | 'supervisor' | 'agent', extra: object = {}) =>
    expect((await req('POST', '/users', ADMIN, { username, role, password: PASSWORD, ...extra })).statusCode).toBe(201);
  /** A refused token: 401 with the id clients renew on. */
  const expectRevoked = async (token: string, url = '/flows') => {
    const res = await req('GET', url, token);
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json().error).toBe('credentials_expired');
  };

  beforeAll(async () => {
    db = await ownDatabase('users');
    pool = new pg.Pool({ connectionString: db.url });
    await migrate(pool);
    ({ hotline, stop: stopApp } = await startTestHotline('user-admin', {
      DATABASE_URL: db.url,
      API_TOKENS: `admin:${ADMIN}`,
      JWT_SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    }));
  });
  afterAll(async () => {
    await stopApp?.();
    await pool?.end();
    await db?.drop();
  });

  it('an admin lists users (no password hash) and changes a role: the old JWT is refused, a fresh login carries the new role', async () => {
    await createUser('rolly', 'supervisor');
    const old = (await login('rolly'))!;
    expect((await req('GET', '/keys', old)).statusCode).toBe(403);
    const list = await req('GET', '/users', ADMIN);
    expect(list.json().users).toContainEqual(expect.objectContaining({ username: 'rolly', role: 'supervisor', agentId: null, tokenVersion: 0 }));
    expect(list.body).not.toContain('scrypt');

    const changed = await req('PUT', '/users/rolly/role', ADMIN, { role: 'admin' });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ username: 'rolly', role: 'admin', tokenVersion: 1 });
    await expectRevoked(old);
    const fresh = (await login('rolly'))!;
    expect((await req('GET', '/keys', fresh)).statusCode).toBe(200);

    const agentWithout = await req('PUT', '/users/rolly/role', ADMIN, { role: 'agent' });
    expect(agentWithout.statusCode).toBe(400);
    expect(agentWithout.json().errors).toEqual([expect.objectContaining({ path: 'agentId' })]);
    expect((await req('PUT', '/users/nobody/role', ADMIN, { role: 'admin' })).json()).toMatchObject({ error: 'user_not_found' });
    expect((await req('PUT', '/users/rolly/role', ADMIN, { role: 'admin', extra: 1 })).statusCode).toBe(400);
  });

  it('an admin resets a password: earlier tokens and the old password stop working, the new one logs in', async () => {
    await createUser('resetme', 'supervisor');
    const old = (await login('resetme'))!;
    const reset = await req('PUT', '/users/resetme/password', ADMIN, { password: 'a brand new password' });
    expect(reset.statusCode).toBe(204);
    await expectRevoked(old);
    expect(await login('resetme')).toBeNull();
    expect(await login('resetme', 'a brand new password')).not.toBeNull();
    expect((await req('PUT', '/users/resetme/password', ADMIN, { password: 'short' })).statusCode).toBe(400);
    expect((await req('PUT', '/users/nobody/password', ADMIN, { password: 'a brand new password' })).json()).toMatchObject({ error: 'user_not_found' });
  });

  it('anyone logged in changes their own password only with the current one; every earlier token of theirs is revoked', async () => {
    await createUser('selfie', 'agent', { agentId: 'a-selfie' });
    const first = (await login('selfie'))!;
    const second = (await login('selfie'))!;
    const wrong = await req('POST', '/auth/password', first, { currentPassword: 'not my password at all', newPassword: 'my next password' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toBe('wrong_password');
    expect((await req('GET', '/live', first)).statusCode).toBe(200);
    // An API token has no password of its own to change.
    expect((await req('POST', '/auth/password', ADMIN, { currentPassword: PASSWORD, newPassword: 'my next password' })).json()).toMatchObject({ error: 'not_a_user' });

    expect((await req('POST', '/auth/password', first, { currentPassword: PASSWORD, newPassword: 'my next password' })).statusCode).toBe(204);
    await expectRevoked(first, '/live');
    await expectRevoked(second, '/live');
    expect(await login('selfie')).toBeNull();
    expect((await req('GET', '/live', (await login('selfie', 'my next password'))!)).statusCode).toBe(200);
  });

  it('logout revokes the presented token only; the same user\'s other session goes on', async () => {
    await createUser('leaver', 'supervisor');
    const here = (await login('leaver'))!;
    const there = (await login('leaver'))!;
    expect((await req('POST', '/auth/logout', here)).statusCode).toBe(204);
    await expectRevoked(here);
    expect((await req('GET', '/flows', there)).statusCode).toBe(200);
    expect((await req('POST', '/auth/logout', ADMIN)).json()).toMatchObject({ error: 'not_a_session' });
    expect((await req('GET', '/flows', (await login('leaver'))!)).statusCode).toBe(200);
  });

  it('a deleted user\'s tokens are refused at once, their name can be taken again without inheriting them', async () => {
    await createUser('goner', 'supervisor');
    const old = (await login('goner'))!;
    expect((await req('GET', '/flows', old)).statusCode).toBe(200); // its version is now cached in Redis
    expect((await req('DELETE', '/users/goner', ADMIN)).statusCode).toBe(204);
    await expectRevoked(old);
    expect(await login('goner')).toBeNull();
    expect((await req('DELETE', '/users/goner', ADMIN)).json()).toMatchObject({ error: 'user_not_found' });
    await createUser('goner', 'supervisor');
    await expectRevoked(old);
    expect(await login('goner')).not.toBeNull();
  });

  it('the last admin user is neither deleted nor demoted; with a second admin either may go', async () => {
    const admins = (await req('GET', '/users', ADMIN)).json().users.filter((u: { role: string }) => u.role === 'admin') as Array<{ username: string }>;
    // This database's admins so far: rolly (promoted above). Make it the only one.
    expect(admins.map((a) => a.username)).toEqual(['rolly']);
    const demote = await req('PUT', '/users/rolly/role', ADMIN, { role: 'supervisor' });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error).toBe('last_admin');
    expect((await req('DELETE', '/users/rolly', ADMIN)).json()).toMatchObject({ error: 'last_admin' });
    const token = (await login('rolly'))!;
    expect((await req('GET', '/keys', token)).statusCode).toBe(200); // a refused change revokes nothing

    await createUser('second', 'admin');
    // Both admins demoted at once: one wins, the other is refused — never none left.
    const both = await Promise.all([req('PUT', '/users/rolly/role', ADMIN, { role: 'supervisor' }), req('PUT', '/users/second/role', ADMIN, { role: 'supervisor' })]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const left = (await req('GET', '/users', ADMIN)).json().users.filter((u: { role: string }) => u.role === 'admin');
    expect(left).toHaveLength(1);
  });

  it('every user change is audited in its transaction, with before and after and never a password hash', async () => {
    const rows = async (action: string) => (await req('GET', `/audit?action=${encodeURIComponent(action)}&limit=500`, ADMIN)).json().entries as Array<Record<string, unknown>>;
    expect(await rows('PUT /users/:username/role')).toContainEqual(
      expect.objectContaining({ actor: 'admin#1', target: 'username=rolly', outcome: 'applied', before: expect.objectContaining({ role: 'supervisor' }), after: expect.objectContaining({ role: 'admin' }) }),
    );
    expect(await rows('DELETE /users/:username')).toContainEqual(expect.objectContaining({ target: 'username=goner', before: expect.objectContaining({ username: 'goner' }), after: null }));
    expect(await rows('POST /auth/password')).toContainEqual(expect.objectContaining({ actor: 'user:selfie', target: 'username=selfie', after: expect.objectContaining({ passwordChanged: true }) }));
    expect(await rows('PUT /users/:username/password')).toHaveLength(1);
    // Refused changes (last admin, unknown user, wrong password) wrote nothing: one role row per applied change.
    expect((await rows('PUT /users/:username/role')).length).toBe(2);
    const all = JSON.stringify((await req('GET', '/audit?limit=500', ADMIN)).json());
    expect(all).not.toContain('scrypt$');
    expect(all).not.toContain(PASSWORD);
  });
});
