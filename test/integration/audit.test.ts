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
    ((await req('GET', `/audit?action=${encodeURIComponent(action)}&limit=500`, ADMIN)).json().entries as Array<{ target: string; actor: string; before: unknown; after: unknown; at: string }>).filter((e) => e.target === target);

  beforeAll(async () => {
    await migrate(pool);
    ({ hotline, stop: stopApp } = await startTestHotline('audit', { API_TOKENS: `admin:${ADMIN},supervisor:${SUPERVISOR}` }));
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

  it('only admins read the log', async () => {
    expect((await req('GET', '/audit', SUPERVISOR)).statusCode).toBe(403);
  });
});
