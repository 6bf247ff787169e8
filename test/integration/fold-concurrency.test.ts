import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { attachWrapUp, intervalsFromStateChanges } from '../../src/kpi/agent-intervals.ts';
import { summarizeCalls, type CallSummary } from '../../src/kpi/call-summary.ts';
import { AgentIntervalSink } from '../../src/records/agent-interval-sink.ts';
import { CallRecordSink } from '../../src/records/call-record-sink.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { lockKeys, LOCK_CLASS } from '../../src/records/transaction.ts';
import { generateCalls } from '../fixtures/report-calls.ts';

/*
 * Call folders and interval folders side by side on the same five agents, every call ending
 * its talk while the agents' wrap_up intervals get their ends: the two used to lock calls and
 * agents in opposite orders and now and then deadlock. The folds are called directly (no
 * consumer retrying behind them), so a deadlock (40P01) would fail the test; the summaries
 * must also end with every wrap-up attached, whichever fold committed first. Then the order
 * itself, deterministically: with a call's lock held as a call folder holds it, an interval
 * fold that changes that call's wrap-up must still commit its intervals (it used to wait for
 * the call while holding the agent, which the call folder wants next). October 2021 is this
 * file's own range, and its agents are its own.
 */

const DAY = Date.parse('2021-10-05T16:00:00Z');
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 12 });
const own = <E extends { data: Record<string, unknown>; subject?: string }>(e: E): E =>
  typeof e.data.agentId === 'string'
    ? { ...e, data: { ...e.data, agentId: `conc-${e.data.agentId}` }, ...(e.subject ? { subject: `agent:conc-${e.data.agentId}` } : {}) }
    : e;
const raw = generateCalls(20211006, 400, DAY, DAY + 6 * 3_600_000);
const gen = { events: raw.events.map(own), agentChanges: raw.agentChanges.map(own) };

beforeAll(() => migrate(pool));
afterAll(async () => {
  // This file's agents' last intervals are open, and an open interval counts until now in any later agent report.
  await pool.query(`DELETE FROM agent_state_intervals WHERE agent_id LIKE 'conc-%'`);
  await pool.end();
});

/** `items` in batches of `size`, each handed to `fold` by `workers` loops at once. */
async function inParallel<T>(items: readonly T[], size: number, workers: number, fold: (json: string) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) {
        const batch = items.slice(next, (next += size));
        await fold(JSON.stringify(batch));
      }
    }),
  );
}

describe('call and interval folders at once', () => {
  it('never deadlock, and every wrap-up is attached', async () => {
    const calls = new CallRecordSink(pool, new EventStore(pool));
    const ops = new AgentIntervalSink(pool);
    await calls.insertJson(JSON.stringify(gen.events));
    await ops.insertJson(JSON.stringify(gen.agentChanges));
    // Time order in both streams, small batches, three folders of each kind.
    const events = [...gen.events].sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
    const changes = [...gen.agentChanges].sort((a, b) => a.at.localeCompare(b.at));
    await Promise.all([inParallel(events, 300, 3, (j) => calls.fold.insertJson(j)), inParallel(changes, 3, 3, (j) => ops.fold.insertJson(j))]);
    // A refresh that found its rows taken by another refresh leaves them to it: all are done once every fold has returned.
    const { rows: left } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM call_wrap_up_refresh');
    expect(Number(left[0]!.n)).toBe(0);

    const expected = attachWrapUp(summarizeCalls(gen.events), intervalsFromStateChanges(gen.agentChanges, '2021-11-01T00:00:00Z'));
    expect(expected.filter((s) => s.wrapUpSeconds !== null).length).toBeGreaterThan(50);
    const { rows } = await pool.query<{ summary: CallSummary }>('SELECT summary FROM calls WHERE call_id = ANY($1::uuid[])', [expected.map((s) => s.callId)]);
    const byId = new Map(rows.map((r) => [r.summary.callId, r.summary]));
    for (const s of expected) expect(byId.get(s.callId), s.callId).toEqual(s);
  }, 60_000);

  it('commits an interval fold while a call folder holds the call it changes', async () => {
    const ops = new AgentIntervalSink(pool);
    const { rows } = await pool.query<{ call_id: string; agent_id: string; from_at: Date }>(
      `SELECT c.call_id, c.agent_id, i.from_at FROM calls c
         JOIN agent_state_intervals i ON i.agent_id = c.agent_id AND i.state = 'wrap_up' AND i.to_at IS NOT NULL
          AND i.from_at BETWEEN c.talk_ended_at - interval '5 seconds' AND c.talk_ended_at + interval '5 seconds'
        WHERE c.agent_id LIKE 'conc-%' AND c.wrap_up_seconds > 2 ORDER BY c.talk_ended_at LIMIT 1`,
    );
    const { call_id: callId, agent_id: agentId, from_at: wrapFrom } = rows[0]!;
    // The agent's wrap-up after that call now ends 1 s in: the call's wrap-up becomes 1 s.
    const change = { id: randomUUID(), type: 'agent.state_changed', at: new Date(wrapFrom.getTime() + 1_000).toISOString(), subject: `agent:${agentId}`, data: { agentId, from: 'wrap_up', to: 'paused', reason: 'test' } };
    await ops.insertJson(JSON.stringify([change]));

    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await lockKeys(holder, LOCK_CLASS.call, [callId]);
      const folding = ops.fold.insertJson(JSON.stringify([change]));
      let committed = false;
      for (let i = 0; i < 100 && !committed; i++) {
        await new Promise((r) => setTimeout(r, 50));
        committed = (await pool.query('SELECT 1 FROM agent_state_intervals WHERE event_id = $1', [change.id])).rowCount === 1;
      }
      expect(committed, 'the interval fold waited for the call held by the other transaction').toBe(true);
      // What the call folder does next: the agents of the calls whose talk ended.
      await holder.query(`SET LOCAL lock_timeout = '5s'`);
      await lockKeys(holder, LOCK_CLASS.agent, [agentId]);
      await holder.query('COMMIT');
      await folding;
    } finally {
      holder.release();
    }
    const after = await pool.query<{ wrap_up_seconds: number }>('SELECT wrap_up_seconds FROM calls WHERE call_id = $1', [callId]);
    expect(after.rows[0]!.wrap_up_seconds).toBe(1);
  });
});
