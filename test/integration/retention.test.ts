import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildCalls, rebuildRollups } from '../../src/records/report-rebuild.ts';
import { ROLLUP_RETENTION } from '../../src/records/retention.ts';
import { uuidOf } from '../fixtures/report-calls.ts';
import { ownDatabase } from './helpers/own-database.ts';

/*
 * CALL_RETENTION_DAYS and ROLLUP_RETENTION_DAYS through the mechanism EVENT_RETENTION_DAYS
 * uses (EventStore.maintain, which the writers run hourly), in a database of the test's own:
 * retention deletes by age, and other test files keep old days in the shared one.
 * Calls started 400, 45 and 1 days ago, kept 30 days in `calls` and 60 days in the rollups.
 */

const DAY = 86_400_000;
let db: Awaited<ReturnType<typeof ownDatabase>>;
let pool: pg.Pool;

const now = Date.now();
const AGES = [400, 45, 1];
const callOf = (age: number) => uuidOf(`retention:${age}`);

function call(age: number): CallEvent[] {
  const t0 = now - age * DAY;
  const callId = callOf(age);
  const steps: [number, CallEvent['type'], Record<string, unknown>][] = [
    [0, 'call.started', { caller: '+8613700000000', dialed: '4008001234', flow: 'main', version: 1 }],
    [0, 'flow.node_entered', { flow: 'main', version: 1, node: 'menu', type: 'menu' }],
    [5, 'call.ended', { cause: 'caller_hangup' }],
  ];
  return steps.map(([s, type, data], i) => ({ id: uuidOf(`retention:${age}:${i}`), callId, seq: i + 1, type, at: new Date(t0 + s * 1000).toISOString(), data }));
}

async function calls(): Promise<string[]> {
  return (await pool.query<{ call_id: string }>('SELECT call_id FROM calls ORDER BY started_at')).rows.map((r) => r.call_id);
}

/** Per rollup table, the ages of the calls that still have a row (the row whose bucket holds the call's start). */
async function rollupAges(): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const { table, width } of ROLLUP_RETENTION) {
    out[table] = [];
    for (const age of AGES) {
      const start = new Date(now - age * DAY);
      const { rows } = await pool.query(`SELECT 1 FROM ${table} WHERE bucket <= $1 AND bucket > $1::timestamptz - $2::interval`, [start, width]);
      if (rows.length > 0) out[table].push(age);
    }
  }
  return out;
}

beforeAll(async () => {
  db = await ownDatabase('ret');
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  pool.on('error', () => undefined);
  await migrate(pool);
  const store = new EventStore(pool);
  await store.maintain();
  await store.insertBatch(AGES.flatMap(call));
  const range = { from: new Date(Math.floor((now - 401 * DAY) / DAY) * DAY), to: new Date(Math.ceil((now + DAY) / DAY) * DAY) };
  await rebuildCalls(pool, range);
  await rebuildRollups(pool, range);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('retention of calls and rollups', () => {
  it('keeps everything while the retention days are 0', async () => {
    await new EventStore(pool).maintain();
    expect(await calls()).toEqual(AGES.map(callOf));
    const ages = await rollupAges();
    expect(Object.keys(ages)).toEqual(['call_rollup_15m', 'call_rollup_15m_no_agent', 'call_node_rollup_15m', 'call_rollup_day', 'call_rollup_day_no_agent']);
    for (const table of Object.keys(ages)) expect(ages[table], table).toEqual(AGES);
  });

  it('drops calls rows and rollup rows older than their days, keeps the recent ones, and the events', async () => {
    const store = new EventStore(pool, { callRetentionDays: 30, rollupRetentionDays: 60 });
    await store.maintain();
    expect(await calls()).toEqual([callOf(1)]);
    for (const [table, ages] of Object.entries(await rollupAges())) expect(ages, table).toEqual([45, 1]);
    // EVENT_RETENTION_DAYS is 0 here: the events stay.
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM call_events');
    expect(rows[0]!.n).toBe(9);
    // Idempotent: a second hourly run finds nothing more.
    await store.maintain();
    expect(await calls()).toEqual([callOf(1)]);
  });

  it('with a shorter rollup retention the 45-day-old rollup rows go too', async () => {
    await new EventStore(pool, { rollupRetentionDays: 10 }).maintain();
    for (const [table, ages] of Object.entries(await rollupAges())) expect(ages, table).toEqual([1]);
    expect(await calls()).toEqual([callOf(1)]);
  });
});
