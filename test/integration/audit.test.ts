import { randomInt } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { Hotline } from '../../src/main.ts';
import { startTestHotline } from './helpers/app.ts';
import { migrate } from '../../src/records/migrate.ts';

const ADMIN = 'admin-token-audit-test-000';
const SUPERVISOR = 'supervisor-token-audit-test';

describe('audit log of admin changes (real Postgres)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  let hotline: Hotline;
  let stopApp: (() => Promise<void>) | undefined;
  const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, bearer: string, payload?: object) =>
    hotline.app.inject({ method, url, headers: { authorization: `Bearer ${bearer}` }, ...(payload ? { payload } : {}) });
  const rowsFor = async (action: string, target: string) =>
    ((await req('GET', `/audit?action=${encodeURIComponent(action)}&limit=500`, ADMIN)).json().entries as Array<{ target: string; actor: string; before: unknown; after: unknown; at: string; outcome: string }>).filter((e) => e.target === target);

  beforeAll(async () => {
    await migrate(pool);
    // A Redis prefix of its own: the queue this file creates must not show up in other files' routing config.
    ({ hotline, stop: stopApp } = await startTestHotline('audit', { API_TOKENS: `admin:${ADMIN},supervisor:${SUPERVISOR}`, REDIS_PREFIX: `${inject('redisPrefix')}audit:` }));
    // The flows are synced once Postgres is migrated: mapping a number needs them.
    for (let i = 0; i < 100 && (await req('GET', '/flows', ADMIN)).json().flows.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    await stopApp?.();
    await pool.end();
  });

  it('a number mapped and unmapped leaves two rows with who, before and after', async () => {
    const number = `7${randomInt(10_000_000, 99_999_999)}`;
    expect((await req('PUT', `/numbers/${number}`, ADMIN, { flowId: 'main' })).statusCode).toBe(200);
    expect((await req('DELETE', `/numbers/${number}`, ADMIN)).statusCode).toBe(204);
    expect(await rowsFor('PUT /numbers/:number', `number=${number}`)).toEqual([expect.objectContaining({ actor: 'admin#1', before: null, after: 'main' })]);
    expect(await rowsFor('DELETE /numbers/:number', `number=${number}`)).toEqual([expect.objectContaining({ actor: 'admin#1', before: 'main', after: null })]);
  });

  it('a refused change writes no row', async () => {
    const number = `7${randomInt(10_000_000, 99_999_999)}`;
    expect((await req('PUT', `/numbers/${number}`, ADMIN, { flowId: 'no-such-flow' })).statusCode).toBe(422);
    expect(await rowsFor('PUT /numbers/:number', `number=${number}`)).toEqual([]);
  });

  it('key creation and revocation are audited without the key itself', async () => {
    const created = await req('POST', '/keys', ADMIN, { name: 'audited', role: 'supervisor' });
    const { key, id } = created.json() as { key: string; id: string };
    expect((await req('DELETE', `/keys/${id}`, ADMIN)).statusCode).toBe(204);
    const all = JSON.stringify((await req('GET', '/audit?limit=500', ADMIN)).json());
    expect(all).not.toContain(key);
    const made = ((await req('GET', '/audit?action=POST%20/keys&limit=500', ADMIN)).json().entries as Array<{ after: { id?: string } }>).filter((e) => e.after?.id === id);
    expect(made).toEqual([expect.objectContaining({ actor: 'admin#1', after: expect.objectContaining({ id, name: 'audited', role: 'supervisor' }) })]);
    const [revoked] = await rowsFor('DELETE /keys/:id', `id=${id}`);
    expect(revoked).toMatchObject({ before: { id, revokedAt: null }, after: { id } });
    expect((revoked!.after as { revokedAt: string | null }).revokedAt).not.toBeNull();
  });

  it('a Postgres change and its audit row commit together: when the row cannot be written, the change is not made', async () => {
    const number = `7${randomInt(10_000_000, 99_999_999)}`;
    const user = `doomed${randomInt(1_000_000, 9_999_999)}`;
    expect((await req('POST', '/users', ADMIN, { username: user, role: 'supervisor', password: 'a long enough password' })).statusCode).toBe(201);
    // A CHECK that refuses exactly these two rows makes the audit INSERT fail inside the change's transaction.
    const constraint = `audit_refuses_${number}`;
    await pool.query(`ALTER TABLE audit_log ADD CONSTRAINT ${constraint} CHECK (target NOT IN ('number=${number}', 'username=${user}')) NOT VALID`);
    try {
      const mapped = await req('PUT', `/numbers/${number}`, ADMIN, { flowId: 'main' });
      expect(mapped.statusCode).toBe(500);
      expect(mapped.json().error).toBe('internal_error');
      expect((await req('GET', '/numbers', ADMIN)).json().numbers[number]).toBeUndefined();
      expect((await pool.query('SELECT 1 FROM flow_numbers WHERE number = $1', [number])).rowCount).toBe(0);
      expect((await req('DELETE', `/users/${user}`, ADMIN)).statusCode).toBe(500);
      expect((await pool.query('SELECT 1 FROM users WHERE username = $1', [user])).rowCount).toBe(1);
    } finally {
      await pool.query(`ALTER TABLE audit_log DROP CONSTRAINT ${constraint}`);
    }
    // Control: with the log writable the same changes go through, each with its row.
    expect((await req('PUT', `/numbers/${number}`, ADMIN, { flowId: 'main' })).statusCode).toBe(200);
    expect((await req('DELETE', `/users/${user}`, ADMIN)).statusCode).toBe(204);
    expect(await rowsFor('PUT /numbers/:number', `number=${number}`)).toEqual([expect.objectContaining({ before: null, after: 'main', outcome: 'applied' })]);
    expect(await rowsFor('DELETE /users/:username', `username=${user}`)).toHaveLength(1);
  });

  it('a Redis change is audited first: no row, no change; otherwise the row is completed with its outcome', async () => {
    const { name: _n, ...general } = (await req('GET', '/queues/general', ADMIN)).json() as Record<string, unknown>;
    const queue = `auditq${randomInt(1_000_000, 9_999_999)}`;
    const constraint = `audit_refuses_${queue}`;
    await pool.query(`ALTER TABLE audit_log ADD CONSTRAINT ${constraint} CHECK (target <> 'name=${queue}') NOT VALID`);
    try {
      const refused = await req('PUT', `/queues/${queue}`, ADMIN, general);
      expect(refused.statusCode).toBe(503);
      expect(refused.json().error).toBe('audit_unavailable');
      expect((await req('GET', `/queues/${queue}`, ADMIN)).statusCode).toBe(404);
    } finally {
      await pool.query(`ALTER TABLE audit_log DROP CONSTRAINT ${constraint}`);
    }
    expect((await req('PUT', `/queues/${queue}`, ADMIN, general)).statusCode).toBe(201);
    // Refused by the config validator in the handler: the pending row says so.
    expect((await req('PUT', `/queues/${queue}`, ADMIN, { ...general, wrapUpSeconds: -1 })).statusCode).toBe(422);
    expect((await req('DELETE', `/queues/${queue}`, ADMIN)).statusCode).toBe(204);
    expect(await rowsFor('PUT /queues/:name', `name=${queue}`)).toEqual([
      expect.objectContaining({ outcome: 'refused', before: expect.objectContaining({ name: queue }), after: null }),
      expect.objectContaining({ outcome: 'applied', before: null, after: expect.objectContaining({ name: queue }) }),
    ]);
    expect(await rowsFor('DELETE /queues/:name', `name=${queue}`)).toEqual([expect.objectContaining({ outcome: 'applied', before: expect.objectContaining({ name: queue }), after: null })]);
  });

  it('only admins read the log', async () => {
    expect((await req('GET', '/audit', SUPERVISOR)).statusCode).toBe(403);
  });
});
