import { randomInt } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { Hotline } from '../../src/main.ts';
import { startTestHotline } from './helpers/app.ts';
import { ownDatabase } from './helpers/own-database.ts';
import { waitUntil } from './helpers/wait.ts';
import { AuditStore } from '../../src/records/audit-store.ts';
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

describe('audit rows left pending by an instance that stopped mid-change (real Postgres)', () => {
  // A database of its own: a sweep resolves every stale writer's rows, and other files' must not be among them.
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let pool: pg.Pool;
  const entry = (target: string) => ({ actor: 'admin#1', action: 'PUT /queues/:name', target, before: null });
  const outcomes = async (ids: number[]) =>
    Object.fromEntries((await pool.query<{ id: string; outcome: string }>('SELECT id, outcome FROM audit_log WHERE id = ANY($1)', [ids])).rows.map((r) => [Number(r.id), r.outcome]));
  /** The writer's last beat, `ago` back: as if it had stopped then (a running one beats every 20 s). */
  const lastBeat = (store: AuditStore, ago: string) => pool.query('UPDATE audit_writers SET seen_at = now() - $2::interval WHERE id = $1', [store.writer, ago]);

  beforeAll(async () => {
    db = await ownDatabase('audit');
    pool = new pg.Pool({ connectionString: db.url });
    await migrate(pool);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('a writer gone quiet for longer than the bound has its pending rows resolved as interrupted; a writer still beating keeps its own', async () => {
    const crashed = new AuditStore(pool);
    const running = new AuditStore(pool);
    const lost = await crashed.begin(entry('name=lost'));
    const done = await crashed.begin(entry('name=done'));
    await crashed.complete(done, 'applied', { name: 'done' });
    const inFlight = await running.begin(entry('name=in-flight'));
    // A long change on a live writer: its beats go on (here a recent one), so its row is left alone.
    const slow = await running.begin(entry('name=slow'));
    await lastBeat(running, '30 seconds');
    await lastBeat(crashed, '10 minutes');
    // Rows written before migration 015 name no writer: judged by their own age.
    const legacy = async (ago: string) =>
      Number((await pool.query<{ id: string }>("INSERT INTO audit_log (actor, action, target, outcome, at) VALUES ('admin#1', 'PUT /queues/:name', 'name=legacy', 'pending', now() - $1::interval) RETURNING id", [ago])).rows[0]!.id);
    const oldLegacy = await legacy('10 minutes');
    const newLegacy = await legacy('5 seconds');

    expect(await running.resolveInterrupted()).toBe(2);
    expect(await outcomes([lost, done, inFlight, slow, oldLegacy, newLegacy])).toEqual({
      [lost]: 'interrupted',
      [done]: 'applied',
      [inFlight]: 'pending',
      [slow]: 'pending',
      [oldLegacy]: 'interrupted',
      [newLegacy]: 'pending',
    });
    // Another instance sweeping after it finds nothing left; the stale writer is forgotten.
    expect(await new AuditStore(pool).resolveInterrupted()).toBe(0);
    expect((await pool.query('SELECT 1 FROM audit_writers WHERE id = $1', [crashed.writer])).rowCount).toBe(0);

    // The live writer's requests end: their rows get their outcomes.
    await running.complete(inFlight, 'applied', { name: 'in-flight' });
    await running.complete(slow, 'refused', null);
    // A request that outlived its writer's beats (cut off from Postgres, not dead) still records what it did.
    await crashed.complete(lost, 'failed', null);
    expect(await outcomes([lost, inFlight, slow])).toEqual({ [lost]: 'failed', [inFlight]: 'applied', [slow]: 'refused' });
  });

  it('the app resolves its previous life\'s pending row when it starts, GET /audit says interrupted; another running instance\'s row stays pending', async () => {
    const previousLife = new AuditStore(pool);
    const otherInstance = new AuditStore(pool);
    const target = `name=restarted${randomInt(1_000_000, 9_999_999)}`;
    const lost = await previousLife.begin(entry(target));
    await lastBeat(previousLife, '5 minutes');
    const live = await otherInstance.begin(entry(`${target}-live`));
    const { hotline, stop } = await startTestHotline('audit-restart', { DATABASE_URL: db.url, API_TOKENS: `admin:${ADMIN}`, REDIS_PREFIX: `${inject('redisPrefix')}audit-restart:` });
    try {
      const rows = async () =>
        ((await hotline.app.inject({ method: 'GET', url: '/audit?action=PUT%20/queues/:name&limit=500', headers: { authorization: `Bearer ${ADMIN}` } })).json().entries as Array<{ id: number; outcome: string }>).filter(
          (e) => e.id === lost || e.id === live,
        );
      await waitUntil(async () => (await rows()).some((e) => e.id === lost && e.outcome === 'interrupted'), 10_000, () => `row ${lost} still not interrupted`);
      expect(await rows()).toEqual([expect.objectContaining({ id: live, outcome: 'pending' }), expect.objectContaining({ id: lost, target, outcome: 'interrupted' })]);
    } finally {
      await stop();
    }
  });
});
