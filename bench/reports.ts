/**
 * Report query times over a big day. Loads synthetic call events through CallRecordSink (the
 * code path the app's consumers use: the raw insert, then its fold stage — call summaries,
 * the 15-minute and daily rollups — per batch, two loaders side by side) into a fresh
 * database, then times CallReports.calls (every SQL query and the assembly in Node) for a
 * day's report, repeated; reports by day over 7 and 28 days are timed twice, on the daily
 * rollups and (the zone row pointed elsewhere) on the 15-minute ones, over the same data.
 *   node bench/reports.ts [events=10000000] [days=1] [runs=40] [postgres base url] [--keep]
 *
 * Calls (bench/synthetic-calls.ts) start evenly over `days` local days (Asia/Shanghai) and
 * are fed in time order, each batch (5,000 events, a full consumer read) holding pieces of
 * many calls, as a live stream does: a call's summary and rollup rows are rewritten several
 * times before it ends. No agent state changes are loaded (the reports read calls and the
 * rollups only).
 * `--keep` keeps the database (hotline_bench_reports) and reuses it when the same size is asked
 * again, to iterate on queries.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { CallRecordSink } from '../src/records/call-record-sink.ts';
import { createPool } from '../src/records/db.ts';
import { EventStore } from '../src/records/event-store.ts';
import { migrate } from '../src/records/migrate.ts';
import { syncDayZone } from '../src/records/rollup-store.ts';
import { ReportStore } from '../src/records/report-store.ts';
import { CallReports, type CallReportQuery } from '../src/reports/call-reports.ts';
import { payload, timeOrdered } from './synthetic-calls.ts';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const TOTAL = Number(args[0] ?? 10_000_000);
const DAYS = Number(args[1] ?? 1);
const RUNS = Number(args[2] ?? 40);
const BASE = args[3] ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEEP = flags.includes('--keep');
const DB = 'hotline_bench_reports';
const TZ = 'Asia/Shanghai';
/** 2025-03-03 00:00 in Shanghai. */
const DAY0 = Date.parse('2025-03-02T16:00:00Z');
const BATCH = 5_000;
const WRITERS = 2;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Batches of events in time order, as consumer reads would hand them over. */
function* batches(total: number): Generator<string> {
  for (const events of timeOrdered(total, DAY0, DAYS, BATCH)) yield payload(events);
}

// ---- load -----------------------------------------------------------------------------------

async function load(pool: pg.Pool): Promise<void> {
  const sink = new CallRecordSink(pool, new EventStore(pool));
  await syncDayZone(pool, TZ);
  await pool.query(`SELECT call_events_ensure_days($1::date, $2::date)`, [new Date(DAY0 + 8 * 3_600_000).toISOString().slice(0, 10), new Date(DAY0 + (DAYS + 1) * 86_400_000).toISOString().slice(0, 10)]);
  const source = batches(TOTAL);
  let written = 0;
  const started = performance.now();
  let lastReport = started;
  const worker = async () => {
    for (let next = source.next(); !next.done; next = source.next()) {
      const n = await sink.insertJson(next.value);
      await sink.fold.insertJson(next.value);
      written += n;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        console.log(`  ${fmt(written)} events, ${fmt(written / ((lastReport - started) / 1000))}/s`);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, worker));
  const seconds = (performance.now() - started) / 1000;
  console.log(`loaded ${fmt(written)} events through CallRecordSink in ${seconds.toFixed(0)} s: ${fmt(written / seconds)} events/s (events, then summaries + rollups, ${WRITERS} loaders)`);
  await pool.query('VACUUM ANALYZE calls');
  await pool.query('VACUUM ANALYZE call_rollup_15m');
  await pool.query('VACUUM ANALYZE call_rollup_15m_no_agent');
  await pool.query('VACUUM ANALYZE call_rollup_day');
  await pool.query('VACUUM ANALYZE call_rollup_day_no_agent');
}

// ---- queries --------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function time(name: string, reports: CallReports, q: CallReportQuery): Promise<void> {
  await reports.calls(q); // warm
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = await reports.calls(q);
    ms.push(performance.now() - t);
    rows = r.rows.length;
  }
  ms.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(44)} rows ${String(rows).padStart(3)}  p50 ${percentile(ms, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(ms, 99).toFixed(1).padStart(6)} ms  max ${ms.at(-1)!.toFixed(1).padStart(6)} ms`);
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  const url = new URL(BASE);
  url.pathname = `/${DB}`;
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount === 1;
  let pool: pg.Pool | null = null;
  let reuse = false;
  if (exists) {
    pool = createPool(url.toString(), () => undefined);
    const n = await pool.query<{ n: string }>('SELECT count(*) AS n FROM call_events').catch(() => null);
    reuse = KEEP && Number(n?.rows[0]?.n) === TOTAL;
    if (!reuse) {
      await pool.end();
      pool = null;
      await admin.query(`DROP DATABASE ${DB}`);
    }
  }
  if (!reuse) await admin.query(`CREATE DATABASE ${DB}`);
  pool ??= createPool(url.toString(), () => undefined);
  try {
    if (reuse) console.log(`reusing ${DB} with ${fmt(TOTAL)} events`);
    else {
      await migrate(pool);
      console.log(`loading ${fmt(TOTAL)} events over ${DAYS} day(s) ...`);
      await load(pool);
    }
    const sizes = await pool.query<{ calls: string; rollup: string; lite: string; ev: string; ro: string; ca: string }>(
      `SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM call_rollup_15m) AS rollup, (SELECT count(*) FROM call_rollup_15m_no_agent) AS lite,
              pg_size_pretty(pg_total_relation_size('call_events')::bigint + coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'call_events'::regclass), 0)::bigint) AS ev,
              pg_size_pretty(pg_total_relation_size('call_rollup_15m')) AS ro, pg_size_pretty(pg_total_relation_size('calls')) AS ca`,
    );
    const s = sizes.rows[0]!;
    console.log(`calls ${fmt(Number(s.calls))} (${s.ca}), call_events ${s.ev}, call_rollup_15m rows ${fmt(Number(s.rollup))} (${s.ro}), call_rollup_15m_no_agent rows ${fmt(Number(s.lite))}, per day ${fmt(Number(s.rollup) / DAYS)} / ${fmt(Number(s.lite) / DAYS)}`);

    const reports = new CallReports({ source: new ReportStore(pool), timezone: TZ, queuesWithSkill: () => ['q0', 'q1'] });
    const day = { from: '2025-03-03', to: '2025-03-04' };
    console.log(`a day's report (${DAYS === 1 ? 'every event' : `1/${DAYS} of the events`}), CallReports.calls, ${RUNS} runs each:`);
    await time('day by 60m', reports, { ...day, interval: '60m' });
    await time('day by 15m', reports, { ...day, interval: '15m' });
    await time('day by 30m', reports, { ...day, interval: '30m' });
    await time('day as one row', reports, { ...day, interval: 'day' });
    await time('day by 60m, queue=q3', reports, { ...day, interval: '60m', queue: 'q3' });
    await time('day by 60m, agent=q3-a7', reports, { ...day, interval: '60m', agent: 'q3-a7' });
    await time('day by 60m, number=4008005678', reports, { ...day, interval: '60m', number: '4008005678' });
    await time('day by 60m, skill -> q0,q1 & flow=main', reports, { ...day, interval: '60m', skill: 'x', flow: 'main' });
    const long = async (label: string) => {
      if (DAYS >= 7) await time(`week by day${label}`, reports, { from: '2025-03-03', to: '2025-03-10', interval: 'day' });
      if (DAYS >= 28) await time(`month (28 days) as one row${label}`, reports, { from: '2025-03-03', to: '2025-03-31', interval: 'month' });
      if (DAYS >= 28) await time(`28 days by day${label}`, reports, { from: '2025-03-03', to: '2025-03-31', interval: 'day' });
      if (DAYS >= 28) await time(`28 days as one row, agent=q3-a7${label}`, reports, { from: '2025-03-03', to: '2025-03-31', interval: 'month', agent: 'q3-a7' });
    };
    await long(' (daily rollup)');
    // The same reports on the 15-minute rollups: with the zone row elsewhere, no Shanghai midnight is a day boundary.
    await pool.query(`UPDATE call_rollup_day_zone SET zone = 'UTC'`);
    try {
      await long(' (15-min rollup)');
    } finally {
      await pool.query('UPDATE call_rollup_day_zone SET zone = $1', [TZ]);
    }
  } finally {
    await pool.end();
    if (!KEEP) await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.end();
  }
}

await main();
