/**
 * Node heat map report times (GET /reports/nodes' work: nodeReport, SQL and sort) over a node
 * rollup of realistic size. The rollup has one row per 15-minute bucket, flow version and node
 * that saw a call, whatever the call volume, so a busy day (10 M events) has at most
 * 96 x nodes x versions rows: the bench fills `days` days with every node busy in every bucket
 * (40 nodes x 3 flow versions) straight into call_node_rollup_15m, in a database of its own.
 *   node bench/node-report.ts [days=90] [postgres base url]
 */
import pg from 'pg';

import { migrate } from '../src/records/migrate.ts';
import { ReportStore } from '../src/records/report-store.ts';
import { nodeReport } from '../src/reports/node-report.ts';

const pool = new pg.Pool({ connectionString: `${(process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/$/, '')}/hotline_bench_nodes` });
await migrate(pool);
const DAYS = Number(process.argv[2] ?? 90);
const NODES = 40;
const FLOWS = [['main', 1], ['main', 2], ['promo', 1]] as const;
const t0 = Date.parse('2025-01-01T00:00:00Z');
await pool.query('TRUNCATE call_node_rollup_15m');
const s = Date.now();
await pool.query(
  `INSERT INTO call_node_rollup_15m (bucket, flow, version, node, type, entered, calls, moved_on, ended_here, hung_up_here, ended_by_flow, lost_here, current_calls)
   SELECT to_timestamp($1 / 1000.0) + b * interval '15 minutes', f.flow, f.version, 'node' || n, 'menu', 500 + n, 450, 400, 100, 40, 59, 1, 0
     FROM generate_series(0, $2 * 96 - 1) b, generate_series(1, $3) n, (VALUES ('main', 1), ('main', 2), ('promo', 1)) f(flow, version)`,
  [t0, DAYS, NODES],
);
await pool.query('VACUUM ANALYZE call_node_rollup_15m');
const rows = (await pool.query('SELECT count(*)::int n FROM call_node_rollup_15m')).rows[0].n;
console.log(`rows ${rows} (${DAYS} days x 96 buckets x ${NODES} nodes x ${FLOWS.length} flow versions) loaded in ${Date.now() - s} ms`);
const source = new ReportStore(pool);
const day = (d: number) => new Date(t0 + d * 86_400_000).toISOString().slice(0, 10);
for (const [label, q] of [
  ['day, all flows', { from: day(45), to: day(46) }],
  ['day, flow=main', { from: day(45), to: day(46), flow: 'main' }],
  ['7 days, all flows', { from: day(40), to: day(47) }],
  ['31 days, flow=main version=2', { from: day(30), to: day(61), flow: 'main', version: 2 }],
] as const) {
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const a = performance.now();
    const r = await nodeReport({ source, timezone: 'UTC' }, { ...q, tz: 'UTC' } as never);
    times.push(performance.now() - a);
    if (i === 0 && r.nodes.length === 0) throw new Error('empty');
  }
  times.sort((a, b) => a - b);
  console.log(`${label}: p50 ${times[10]!.toFixed(1)} ms, max ${times[20]!.toFixed(1)} ms`);
}
await pool.end();
