import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { summarizeCalls, type CallSummary } from '../../src/kpi/call-summary.ts';
import { nodeHeatMap } from '../../src/kpi/kpis.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CallRecordSink } from '../../src/records/call-record-sink.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildRollups } from '../../src/records/report-rebuild.ts';
import { ReportStore } from '../../src/records/report-store.ts';
import { CallReports } from '../../src/reports/call-reports.ts';
import { isolatedPipeline, removeSpoolDirs } from './helpers/events.ts';
import { generateCalls, rng, uuidOf } from '../fixtures/report-calls.ts';

/*
 * The node heat map report against real Postgres: generated calls (every path of the report
 * fixture, plus calls lost by the system and a caller who loops through the menu) go through the
 * durable pipeline, out of order and partly twice, into call_node_rollup_15m; GET
 * /reports/nodes must equal src/kpi's nodeHeatMap over the calls that started in the range.
 * The days used (June 2023) are this file's own.
 */

const TZ = 'Asia/Shanghai';
const H = 3_600_000;
/** 2023-06-14 00:00 in Shanghai. */
const DAY = Date.parse('2023-06-13T16:00:00Z');
const SUPERVISOR = 'supervisor-token-for-node-reports';
const AGENT = 'agent-token-for-node-reports-xxxx';

const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 6 });
const log = createLogger('silent');
const source = new ReportStore(pool);
let app: Awaited<ReturnType<typeof buildApp>>;

const gen = generateCalls(20230614, 300, DAY - 6 * H, DAY + 30 * H);

/** Calls the generator does not make: lost by the system at the menu, and a caller looping menu -> billing -> menu. */
function extraCalls(): CallEvent[] {
  const out: CallEvent[] = [];
  const call = (n: number, t0: number, steps: [number, CallEvent['type'], Record<string, unknown>][]) => {
    const callId = uuidOf(`nodes:${n}`);
    steps.forEach(([s, type, data], i) => out.push({ id: uuidOf(`nodes:${n}:${i}`), callId, seq: i + 1, type, at: new Date(t0 + s * 1000).toISOString(), data }));
  };
  const node = (name: string, type: string) => ({ flow: 'main', version: 1, node: name, type });
  for (let n = 0; n < 3; n++) {
    call(n, DAY + (2 + n) * H, [
      [0, 'call.started', { caller: `+8613900000${n}`, dialed: '4008001234', flow: 'main', version: 1 }],
      [0, 'flow.node_entered', node('welcome', 'play')],
      [4, 'flow.node_entered', node('menu', 'menu')],
      [9, 'call.ended', { cause: n === 0 ? 'app_restarted' : 'lost_during_outage' }],
    ]);
  }
  call(9, DAY + 5 * H, [
    [0, 'call.started', { caller: '+86139000009', dialed: '4008001234', flow: 'main', version: 1 }],
    [0, 'flow.node_entered', node('welcome', 'play')],
    [3, 'flow.node_entered', node('menu', 'menu')],
    [6, 'flow.node_entered', node('billing', 'menu')],
    [9, 'flow.node_entered', node('menu', 'menu')],
    [12, 'flow.node_entered', node('billing', 'menu')],
    [20, 'call.ended', { cause: 'caller_hangup' }],
  ]);
  return out;
}

const events = [...gen.events, ...extraCalls()];
let summaries: CallSummary[];

beforeAll(async () => {
  await migrate(pool);
  const reports = new CallReports({ source, timezone: TZ, queuesWithSkill: () => [] });
  app = await buildApp({
    logger: log,
    readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
    reports: { reports, source, timezone: TZ, auth: new TokenAuth(`supervisor:${SUPERVISOR},agent:${AGENT}`) },
  });
  // A tenth of the calls have their first events held back (folded again when they land), some events go twice.
  const r = rng(11);
  const held = new Set(events.filter(() => r() < 0.03).map((e) => e.callId));
  const late = events.filter((e) => held.has(e.callId) && e.seq <= 2);
  const first = events.filter((e) => !(held.has(e.callId) && e.seq <= 2));
  const twice = events.filter(() => r() < 0.1);
  const writer = new EventWriter<CallEvent>(new CallRecordSink(pool, new EventStore(pool)), log, {
    redisUrl: inject('redisUrl'),
    name: 'call_events',
    ...(await isolatedPipeline()),
    retryBaseMs: 20,
    retryMaxMs: 200,
    claimIdleMs: 500,
    claimEveryMs: 200,
    blockMs: 200,
  });
  writer.start();
  for (const e of [...first, ...twice]) writer.append(e);
  expect(await writer.drain(30_000)).toBe(true);
  for (const e of late) writer.append(e);
  expect(await writer.drain(30_000)).toBe(true);
  await writer.close();
  summaries = summarizeCalls(events);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await pool.end();
  await removeSpoolDirs();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });
const startedIn = (from: number, to: number) => (c: CallSummary) => Date.parse(c.startedAt!) >= from && Date.parse(c.startedAt!) < to;

async function nodes(query: string) {
  const res = await app.inject({ url: `/reports/nodes?${query}`, headers: as(SUPERVISOR) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('GET /reports/nodes', () => {
  it('equals nodeHeatMap over the calls that started in a local day', async () => {
    const body = await nodes('from=2023-06-14&to=2023-06-15');
    const want = nodeHeatMap(summaries.filter(startedIn(DAY, DAY + 24 * H)));
    expect(body).toMatchObject({ from: '2023-06-14T00:00:00+08:00', to: '2023-06-15T00:00:00+08:00', timezone: TZ, filters: {} });
    expect(body.nodes).toEqual(want);
    // The data has each outcome the report tells apart, so the equality means something.
    const menu = want.find((n) => n.flow === 'main' && n.node === 'menu')!;
    expect(menu.lostHere).toBe(3);
    expect(menu.entered).toBeGreaterThan(menu.calls);
    const agent = want.find((n) => n.flow === 'main' && n.node === 'agent')!;
    for (const f of ['movedOn', 'hungUpHere', 'endedByFlow', 'current'] as const) expect(agent[f], f).toBeGreaterThan(0);
  });

  it('filters by flow and version, over any 15-minute-aligned range', async () => {
    const from = DAY + 6 * H + 15 * 60_000;
    const to = DAY + 20 * H + 45 * 60_000;
    const body = await nodes(`from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}&flow=promo&version=1`);
    const want = nodeHeatMap(summaries.filter(startedIn(from, to)).filter((c) => c.flow === 'promo'));
    expect(want.length).toBeGreaterThan(0);
    expect(body.nodes).toEqual(want);
    expect(body.filters).toEqual({ flow: 'promo', version: 1 });
    expect((await nodes('from=2023-06-14&to=2023-06-15&flow=promo&version=2')).nodes).toEqual([]);
  });

  it('gives the same numbers as CSV, one line per node', async () => {
    const res = await app.inject({ url: '/reports/nodes?from=2023-06-14&to=2023-06-15&format=csv', headers: as(SUPERVISOR) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...lines] = res.body.trimEnd().split('\r\n');
    expect(header).toBe('flow,version,node,type,entered,calls,moved_on,ended_here,hung_up_here,ended_by_flow,lost_here,current');
    const want = nodeHeatMap(summaries.filter(startedIn(DAY, DAY + 24 * H)));
    expect(lines).toEqual(want.map((n) => [n.flow, n.version, n.node, n.type, n.entered, n.calls, n.movedOn, n.endedHere, n.hungUpHere, n.endedByFlow, n.lostHere, n.current].join(',')));
  });

  it('is the same after a rollup rebuild of the day', async () => {
    const before = await nodes('from=2023-06-14&to=2023-06-15');
    await pool.query('UPDATE call_node_rollup_15m SET entered = entered + 100 WHERE bucket >= $1 AND bucket < $2', [new Date(DAY), new Date(DAY + 24 * H)]);
    expect((await nodes('from=2023-06-14&to=2023-06-15')).nodes).not.toEqual(before.nodes);
    await rebuildRollups(pool, { from: new Date(DAY), to: new Date(DAY + 24 * H) });
    expect(await nodes('from=2023-06-14&to=2023-06-15')).toEqual(before);
  });

  it('refuses bad ranges and parameters with stable ids, and agents', async () => {
    const status = async (q: string, token = SUPERVISOR) => {
      const res = await app.inject({ url: `/reports/nodes?${q}`, headers: as(token) });
      return [res.statusCode, res.json().error];
    };
    expect(await status('from=2023-06-15&to=2023-06-14')).toEqual([400, 'invalid_range']);
    expect(await status('from=2023-06-14T00:10&to=2023-06-15')).toEqual([400, 'range_not_aligned']);
    expect(await status('from=2023-01-01&to=2023-06-15')).toEqual([400, 'range_too_long']);
    expect(await status('from=2023-06-14&to=2023-06-15&tz=Mars/Base')).toEqual([400, 'unknown_timezone']);
    expect(await status('from=2023-06-14&to=2023-06-15&queue=general')).toEqual([400, 'validation_failed']);
    expect(await status('from=2023-06-14&to=2023-06-15&version=x')).toEqual([400, 'validation_failed']);
    expect((await status('from=2023-06-14&to=2023-06-15', AGENT))[0]).toBe(403);
  });
});
