import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { ownDatabase } from './helpers/own-database.ts';

const MIGRATIONS = resolve(import.meta.dirname, '../../src/records/migrations');
const DAY = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const partName = (ms: number) => `call_events_${utcDay(ms).replace(/-/g, '')}`;

/**
 * Migration 004 on a database that already has 001's table with rows in it, as a deployed
 * Hotline has: a database of this test's own, built up to 003 by hand.
 */
describe('call_events partitioned by day (migration 004 over an existing table)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let pool: pg.Pool;
  const now = Date.now();
  const callId = randomUUID();
  const legacy: CallEvent[] = [
    ...Array.from({ length: 40 }, (_, i) => ev(callId, i + 1, now - 30 * DAY + i * 1_000)),
    ...Array.from({ length: 60 }, (_, i) => ev(callId, i + 41, now - 60_000 + i * 100)),
    ev(callId, 101, now + 400 * DAY), // a clock far ahead
  ];

  beforeAll(async () => {
    db = await ownDatabase('p4');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined); // idle clients are terminated by DROP DATABASE ... FORCE
    await pool.query('CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const v of ['001_call_events', '002_flows', '003_ops_events']) {
      await pool.query(await readFile(`${MIGRATIONS}/${v}.sql`, 'utf8'));
      await pool.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
    }
    await pool.query(
      `INSERT INTO call_events (id, call_id, seq, type, at, data)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::timestamptz[], $6::jsonb[])`,
      [legacy.map((e) => e.id), legacy.map((e) => e.callId), legacy.map((e) => e.seq), legacy.map((e) => e.type), legacy.map((e) => e.at), legacy.map((e) => JSON.stringify(e.data))],
    );
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const fingerprint = async () =>
    (
      await pool.query<{ n: string; h: string }>(
        `SELECT count(*) AS n, md5(string_agg(concat_ws('|', id, call_id, seq, type, at, data, recorded_at), ',' ORDER BY id)) AS h FROM call_events`,
      )
    ).rows[0]!;
  const where = async () =>
    Object.fromEntries(
      (await pool.query<{ p: string; n: string }>('SELECT tableoid::regclass::text AS p, count(*) AS n FROM call_events GROUP BY 1')).rows.map((r) => [r.p, Number(r.n)]),
    );

  it('keeps every row and its values, routes them by day and makes partitions around today', async () => {
    const before = await fingerprint();
    expect(await migrate(pool)).toContain('004_call_events_by_day');
    expect(await fingerprint()).toEqual(before);
    const { rows } = await pool.query(`SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'call_events'::regclass`);
    expect(rows.length).toBe(1);
    const parts = await where();
    expect(parts[partName(now - 60_000)]).toBe(60 - countOn(legacy.slice(40, 100), now - 60_000, false));
    expect(parts.call_events_default).toBe(41); // 30 days old and 400 days ahead: no partition for those days
    const exists = async (name: string) => (await pool.query('SELECT to_regclass($1) AS r', [name])).rows[0].r !== null;
    expect(await exists(partName(now + 7 * DAY))).toBe(true);
    expect(await exists(partName(now - DAY))).toBe(true);
  });

  it('stays idempotent on the event id: old rows inserted again are no-ops, new rows land', async () => {
    const store = new EventStore(pool);
    expect(await store.insertBatch(legacy)).toBe(0);
    const fresh = [ev(callId, 102, now), ev(callId, 103, now)];
    expect(await store.insertBatch([...fresh, ...legacy.slice(0, 5)])).toBe(2);
    expect(await store.insertBatch(fresh)).toBe(0);
    expect((await store.eventsOfCall(callId)).length).toBe(103);
  });

  it('moves rows out of the default partition when their day is created', async () => {
    const old = now - 30 * DAY;
    await pool.query('SELECT call_events_ensure_day($1::date)', [utcDay(old)]);
    const parts = await where();
    expect(parts[partName(old)]).toBe(countOn(legacy, old, true));
    expect(parts.call_events_default).toBe(41 - countOn(legacy, old, true));
    expect((await fingerprint()).n).toBe('103');
  });

  it('retention drops whole old days and keeps the rest', async () => {
    const store = new EventStore(pool, { retentionDays: 10 });
    await store.maintain();
    const parts = await where();
    expect(parts[partName(now - 30 * DAY)]).toBeUndefined();
    expect((await fingerprint()).n).toBe(String(103 - 40));
    expect(parts.call_events_default).toBe(41 - 40); // the far-future row stays
  });
});

function ev(callId: string, seq: number, at: number): CallEvent {
  return { id: randomUUID(), callId, seq, type: 'dtmf', at: new Date(at).toISOString(), data: { digit: String(seq % 10), seq } };
}

/** Events of `list` on the UTC day of `ms` (or, with `same` false, not on it). */
function countOn(list: readonly CallEvent[], ms: number, same: boolean): number {
  return list.filter((e) => (e.at.slice(0, 10) === utcDay(ms)) === same).length;
}
