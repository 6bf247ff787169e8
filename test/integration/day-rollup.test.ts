import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup/provided.ts';
import { summarizeCalls } from '../../src/kpi/call-summary.ts';
import { callKpis } from '../../src/kpi/kpis.ts';
import { CallRecordSink } from '../../src/records/call-record-sink.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildRollups } from '../../src/records/report-rebuild.ts';
import { ReportStore } from '../../src/records/report-store.ts';
import { syncDayZone } from '../../src/records/rollup-store.ts';
import { rollupTables } from '../../src/records/rollup-tables.ts';
import { CallReports, type CallReportQuery } from '../../src/reports/call-reports.ts';
import { generateCalls } from '../fixtures/report-calls.ts';
import { ownDatabase } from './helpers/own-database.ts';

/*
 * The daily rollups (migration 014) against the 15-minute ones over the same calls: a report by
 * day, week or month in the rollups' zone reads the daily tables and answers exactly what the
 * 15-minute tables answer; other reports keep reading the 15-minute ones. A database of this
 * file's own, since the zone row is global.
 */

const TZ = 'Asia/Shanghai';
const H = 3_600_000;
/** 2024-02-26 (a Monday) 00:00 in Shanghai; calls over the 9 days from there, across a month end. */
const DAY = Date.parse('2024-02-25T16:00:00Z');
const gen = generateCalls(20240226, 600, DAY - 12 * H, DAY + 9 * 24 * H);
let db: Awaited<ReturnType<typeof ownDatabase>>;
let pool: pg.Pool;
let reports: CallReports;

beforeAll(async () => {
  db = await ownDatabase('day_rollup');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined); // the DROP at the end ends clients that are still closing
  await migrate(pool);
  // Half the calls before the zone is set (their days are summed again in Shanghai), half after.
  const sink = new CallRecordSink(pool, new EventStore(pool));
  const half = Math.floor(gen.events.length / 2);
  for (const part of [gen.events.slice(0, half), gen.events.slice(half)]) {
    for (let i = 0; i < part.length; i += 500) {
      const payload = JSON.stringify(part.slice(i, i + 500));
      await sink.insertJson(payload);
      await sink.fold.insertJson(payload);
    }
    if (part.length === half) expect(await syncDayZone(pool, TZ)).toBe(true);
  }
  expect(await syncDayZone(pool, TZ)).toBe(false);
  reports = new CallReports({ source: new ReportStore(pool), timezone: TZ, queuesWithSkill: () => ['billing', 'general'] });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** The report with the daily rollups, and again with the zone row pointed elsewhere (15-minute rollups only). */
async function bothWays(q: CallReportQuery): Promise<[unknown, unknown]> {
  const daily = await reports.calls(q);
  await pool.query(`UPDATE call_rollup_day_zone SET zone = 'America/New_York'`);
  try {
    return [daily, await reports.calls(q)];
  } finally {
    await pool.query('UPDATE call_rollup_day_zone SET zone = $1', [TZ]);
  }
}

describe('daily rollups', () => {
  it('are read for days, weeks and months in their zone and answer what the 15-minute rollups answer', async () => {
    const queries: CallReportQuery[] = [
      { from: '2024-02-26', to: '2024-03-06', interval: 'day' },
      { from: '2024-02-26', to: '2024-03-11', interval: 'week' },
      { from: '2024-02-01', to: '2024-04-01', interval: 'month' },
      { from: '2024-02-26', to: '2024-03-06', interval: 'day', queue: 'general' },
      { from: '2024-02-26', to: '2024-03-06', interval: 'day', agent: 'a2' },
      { from: '2024-02-26', to: '2024-03-06', interval: 'week', skill: 'x', flow: 'main' },
    ];
    for (const q of queries) {
      const [daily, quarter] = await bothWays(q);
      expect(daily, JSON.stringify(q)).toEqual(quarter);
    }
    const month = await reports.calls({ from: '2024-02-01', to: '2024-04-01', interval: 'month' });
    const inRange = summarizeCalls(gen.events).filter((c) => c.startedAt! >= '2024-01-31T16:00:00Z' && c.startedAt! < '2024-03-31T16:00:00Z');
    expect(month.total.offered).toBe(callKpis(inRange).offered);
    expect(month.total.offered).toBeGreaterThan(500);
  });

  it('are not read when a boundary is not a local midnight of their zone', async () => {
    const s = (iso: string) => new Date(iso);
    const midnight = s('2024-02-25T16:00:00Z');
    const next = s('2024-02-26T16:00:00Z');
    expect((await rollupTables(pool, [midnight], midnight, next)).noAgent).toBe('call_rollup_day_no_agent');
    expect((await rollupTables(pool, [midnight, s('2024-02-25T17:00:00Z')], midnight, next)).noAgent).toBe('call_rollup_15m_no_agent');
    expect((await rollupTables(pool, [midnight], midnight, s('2024-02-26T12:00:00Z'))).noAgent).toBe('call_rollup_15m_no_agent');
    expect((await rollupTables(pool, [s('2024-02-26T00:00:00Z')], s('2024-02-26T00:00:00Z'), s('2024-02-27T00:00:00Z'))).withAgent).toBe('call_rollup_15m');
  });

  it('follow a rollup rebuild and a change of zone', async () => {
    const q: CallReportQuery = { from: '2024-02-26', to: '2024-03-06', interval: 'day' };
    const before = await reports.calls(q);
    await pool.query(`UPDATE call_rollup_day SET offered = offered + 1000`);
    await rebuildRollups(pool, { from: new Date(DAY - 12 * H), to: new Date(DAY + 10 * 24 * H) });
    expect(await reports.calls(q)).toEqual(before);

    expect(await syncDayZone(pool, 'UTC')).toBe(true);
    const utc = { ...q, tz: 'UTC' };
    const [daily, quarter] = await bothWays(utc).finally(() => pool.query(`UPDATE call_rollup_day_zone SET zone = 'UTC'`));
    expect(daily).toEqual(quarter);
    const { rows } = await pool.query<{ bad: string }>(`SELECT count(*) AS bad FROM call_rollup_day WHERE bucket <> date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`);
    expect(Number(rows[0]!.bad)).toBe(0);
  });
});
