import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import type { OpsEvent } from '../../src/domain/ops-event.ts';
import { attachWrapUp, intervalsFromStateChanges } from '../../src/kpi/agent-intervals.ts';
import { summarizeCalls, type CallSummary } from '../../src/kpi/call-summary.ts';
import { createLogger } from '../../src/log/logger.ts';
import { AgentIntervalSink } from '../../src/records/agent-interval-sink.ts';
import { CallRecordSink } from '../../src/records/call-record-sink.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildCalls, rebuildRollups } from '../../src/records/report-rebuild.ts';
import { generateCalls } from '../fixtures/report-calls.ts';
import { isolatedPipeline, removeSpoolDirs } from './helpers/events.ts';
import { startHangingWriter } from './helpers/hanging-writer.ts';

/*
 * The fold stage (summaries, rollups) in a process of its own is killed -9 after committing
 * some batches and before acknowledging them on the fold stream; the app's folders claim those
 * batches and fold them again, while agent state changes arrive on the ops pipeline. What is
 * left must be what a from-scratch rebuild (`hotline reports rebuild`) makes of the stored
 * events: calls rows equal, and not one rollup row moves when the rollups are recomputed.
 * January 2022 is this file's own range.
 */

const DAY = Date.parse('2022-01-11T16:00:00Z'); // 2022-01-12 00:00 in Shanghai
const RANGE = { from: new Date(DAY), to: new Date(DAY + 86_400_000) };
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 8 });
/** Agents of this file's own (test files share agent_state_intervals, and an agent's intervals run into its next change). */
const own = <E extends { data: Record<string, unknown>; subject?: string }>(e: E): E =>
  typeof e.data.agentId === 'string'
    ? { ...e, data: { ...e.data, agentId: `fold-${e.data.agentId}` }, ...(e.subject ? { subject: `agent:fold-${e.data.agentId}` } : {}) }
    : e;
const raw = generateCalls(20220112, 200, DAY + 3_600_000, DAY + 22 * 3_600_000);
const gen = { events: raw.events.map(own), agentChanges: raw.agentChanges.map(own) };
const ROLLUPS = ['call_rollup_15m', 'call_rollup_15m_no_agent', 'call_rollup_day', 'call_rollup_day_no_agent'] as const;

beforeAll(() => migrate(pool));
afterAll(async () => {
  // This file's agents' last intervals are open, and an open interval counts until now in any later agent report.
  await pool.query(`DELETE FROM agent_state_intervals WHERE agent_id LIKE 'fold-%'`);
  await pool.end();
  await removeSpoolDirs();
});

const DIMENSIONS = new Set(['bucket', 'queue', 'agent', 'flow', 'dialed', 'first_key']);

/**
 * The rows of a rollup for this file's day (day buckets: the local days around it, in whatever
 * zone is stored), without rows whose every measure is 0 (deltas that cancelled out leave
 * those; a rebuild does not write them).
 */
async function rollupRows(table: string): Promise<unknown[]> {
  const { rows } = await pool.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE bucket >= $1 AND bucket < $2 ORDER BY 1, 2, 3, 4, 5, 6`, [
    new Date(DAY - 86_400_000),
    new Date(DAY + 2 * 86_400_000),
  ]);
  return rows.filter((r) => Object.entries(r).some(([k, v]) => !DIMENSIONS.has(k) && Number(v) !== 0));
}

async function summaries(): Promise<Map<string, CallSummary>> {
  const { rows } = await pool.query<{ summary: CallSummary }>('SELECT summary FROM calls WHERE call_id = ANY($1::uuid[])', [[...new Set(gen.events.map((e) => e.callId))]]);
  return new Map(rows.map((r) => [r.summary.callId, r.summary]));
}

describe('the fold consumer killed -9 between commit and acknowledgement', () => {
  it('leaves calls and rollups equal to a rebuild from the stored events', async () => {
    const p = await isolatedPipeline();
    const fast = { retryBaseMs: 20, retryMaxMs: 200, claimIdleMs: 500, claimEveryMs: 200, blockMs: 200 };
    let foldedHere = 0;
    const writer = new EventWriter<CallEvent>(new CallRecordSink(pool, new EventStore(pool)), createLogger('silent'), {
      redisUrl: inject('redisUrl'),
      name: 'call_events',
      ...p,
      ...fast,
      onFold: (info) => (foldedHere += info.inserted),
    });
    const ops = new EventWriter<OpsEvent>(new AgentIntervalSink(pool), createLogger('silent'), { redisUrl: inject('redisUrl'), name: 'ops_events', ...(await isolatedPipeline()), ...fast });
    ops.start();
    for (const e of gen.events) writer.append(e);
    expect(await writer.whenDurable(10_000)).toBe(true);
    // Half the agents' changes before the calls are folded, half while they are.
    const half = Math.floor(gen.agentChanges.length / 2);
    for (const c of gen.agentChanges.slice(0, half)) ops.append(c);
    expect(await ops.drain(20_000)).toBe(true);

    const child = await startHangingWriter({ databaseUrl: inject('databaseUrl'), redisUrl: inject('redisUrl'), prefix: p.prefix, spoolDir: p.spoolDir, hangAfter: 4, stage: 'fold' });
    for (const c of gen.agentChanges.slice(half)) ops.append(c);
    const folded = await child.kill();
    expect(folded).toBeGreaterThan(0);
    expect(folded).toBeLessThan(gen.events.length);
    // The killed folder's last batches are committed and pending: the summaries already hold them.
    expect((await summaries()).size).toBeGreaterThan(0);

    writer.start();
    expect(await writer.drain(30_000)).toBe(true);
    expect(await ops.drain(20_000)).toBe(true);
    await Promise.all([writer.close(), ops.close()]);
    // The killed folder's committed, unacknowledged batches were folded a second time here.
    expect(folded + foldedHere).toBeGreaterThan(gen.events.length);

    // Against src/kpi over the same events (wrap-ups from the intervals the ops pipeline wrote).
    const expected = attachWrapUp(summarizeCalls(gen.events), intervalsFromStateChanges(gen.agentChanges, '2022-02-01T00:00:00Z'));
    const byId = await summaries();
    for (const s of expected) expect(byId.get(s.callId), s.callId).toEqual(s);

    // Against a from-scratch rebuild: no call changes, and recomputing the rollups moves no row.
    const before = await Promise.all(ROLLUPS.map(rollupRows));
    expect(before[0]!.length).toBeGreaterThan(0);
    expect(await rebuildCalls(pool, { from: new Date(DAY - 86_400_000), to: new Date(DAY + 2 * 86_400_000) })).toMatchObject({ changed: 0 });
    await rebuildRollups(pool, RANGE);
    expect(await Promise.all(ROLLUPS.map(rollupRows))).toEqual(before);
  }, 90_000);
});
