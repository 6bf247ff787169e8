import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { reportsCommand } from '../../src/cli/reports-command.ts';
import { attachWrapUp, intervalsFromStateChanges } from '../../src/kpi/agent-intervals.ts';
import { summarizeCalls, type CallSummary } from '../../src/kpi/call-summary.ts';
import { callKpis, type KpiOptions } from '../../src/kpi/kpis.ts';
import { AgentIntervalSink } from '../../src/records/agent-interval-sink.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildCalls, rebuildRollups } from '../../src/records/report-rebuild.ts';
import { ReportStore } from '../../src/records/report-store.ts';
import { CallReports } from '../../src/reports/call-reports.ts';
import { generateCalls } from '../fixtures/report-calls.ts';

/*
 * Calls whose events were stored without summaries (as before migration 005) are folded by
 * rebuildCalls exactly as the consumers would have; rebuildRollups restates the rollups with
 * other thresholds. Expected values come from src/kpi over the same events. November 2022 is
 * this file's own range.
 */

const TZ = 'Asia/Shanghai';
const DAY = Date.parse('2022-11-09T16:00:00Z'); // 2022-11-10 00:00 in Shanghai
const RANGE = { from: new Date(DAY), to: new Date(DAY + 86_400_000) };
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 6 });
const store = new ReportStore(pool);
const gen = generateCalls(20221110, 150, DAY + 3_600_000, DAY + 20 * 3_600_000);
const expected: CallSummary[] = attachWrapUp(summarizeCalls(gen.events), intervalsFromStateChanges(gen.agentChanges, '2022-12-01T00:00:00Z'));

const reportWith = (kpi: KpiOptions) =>
  new CallReports({ source: store, timezone: TZ, queuesWithSkill: () => [], kpi }).calls({ from: '2022-11-10', to: '2022-11-11', interval: 'day' });

beforeAll(async () => {
  await migrate(pool);
  const ops = new AgentIntervalSink(pool);
  await ops.insertJson(JSON.stringify(gen.agentChanges));
  await ops.fold.insertJson(JSON.stringify(gen.agentChanges));
  // Events alone, the way they were stored before migration 005: no calls rows, no rollups.
  expect(await new EventStore(pool).insertBatch(gen.events)).toBe(gen.events.length);
});
afterAll(() => pool.end());

describe('rebuilding calls and rollups from stored events', () => {
  it('folds calls that have no summary exactly as the consumers would, and a second run changes nothing', async () => {
    expect((await reportWith({})).total.offered).toBe(0);
    const first = await rebuildCalls(pool, RANGE);
    expect(first).toEqual({ calls: expected.length, changed: expected.length });
    const { rows } = await pool.query<{ summary: CallSummary }>('SELECT summary FROM calls WHERE call_id = ANY($1::uuid[])', [expected.map((s) => s.callId)]);
    const byId = new Map(rows.map((r) => [r.summary.callId, r.summary]));
    for (const s of expected) expect(byId.get(s.callId), s.callId).toEqual(s);
    expect(await rebuildCalls(pool, RANGE)).toEqual({ calls: expected.length, changed: 0 });

    const k = callKpis(expected);
    const total = (await reportWith({})).total;
    expect([total.offered, total.answered, total.abandoned, total.shortAbandoned]).toEqual([k.offered, k.answered, k.abandoned, k.shortAbandoned]);
    expect(total.aht).toBeCloseTo(k.aht!, 6);
    expect(total.serviceLevel).toBeCloseTo(k.serviceLevel!, 9);
  });

  it('restates the rollups with other thresholds, and back', async () => {
    const other = { serviceLevelSeconds: 40, shortAbandonSeconds: 15 };
    expect(await rebuildRollups(pool, RANGE, other)).toMatchObject({ calls: expected.length });
    const restated = (await reportWith(other)).total;
    const k = callKpis(expected, other);
    expect([restated.abandoned, restated.shortAbandoned]).toEqual([k.abandoned, k.shortAbandoned]);
    expect(restated.serviceLevel).toBeCloseTo(k.serviceLevel!, 9);
    expect(restated.serviceLevel).not.toBeCloseTo(callKpis(expected).serviceLevel!, 9);

    await rebuildRollups(pool, RANGE);
    const back = (await reportWith({})).total;
    expect(back.shortAbandoned).toBe(callKpis(expected).shortAbandoned);
    expect(back.serviceLevel).toBeCloseTo(callKpis(expected).serviceLevel!, 9);
    await expect(rebuildRollups(pool, { from: new Date(DAY + 60_000), to: RANGE.to })).rejects.toThrow(/15-minute/);
  });

  it('runs as `hotline reports rebuild` with local dates', async () => {
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
    const code = await reportsCommand(['rebuild', '--from', '2022-11-10', '--to', '2022-11-11'], { databaseUrl: inject('databaseUrl'), timezone: TZ }, io);
    expect(code, out.join('')).toBe(0);
    expect(out.join('')).toContain(`calls: ${expected.length} folded again, 0 changed`);
    expect(out.join('')).toMatch(/rollups: \d+ rows from \d+ calls/);
    expect(await reportsCommand(['rebuild', '--from', '2022-11-10'], { databaseUrl: inject('databaseUrl'), timezone: TZ }, io)).toBe(2);
  });
});
