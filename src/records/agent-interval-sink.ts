import type pg from 'pg';
import type { KpiOptions } from '../kpi/kpis.ts';
import type { SummaryChange } from '../reports/summary-updates.ts';
import { saveChanges } from './call-record-sink.ts';
import { loadSummaries } from './call-store.ts';
import type { JsonBatchSink } from './event-consumer.ts';
import { INSERT_OPS_EVENTS_SQL } from './ops-event-store.ts';
import { inTransaction, lockKeys, LOCK_CLASS, ROLLUP_REBUILD_LOCK } from './transaction.ts';
import { callsNearWrapUps, withWrapUps } from './wrap-up-store.ts';

/**
 * Where the ops-event consumer writes a batch: the ops events and, for agent.state_changed,
 * `agent_state_intervals` (migration 005), in one transaction. Each change opens an interval
 * of its `to` state that lasts until the agent's next change; an interval's end is set when
 * that next change lands, in whatever order the changes arrive (a late one is slotted in and
 * its neighbours' ends are set again). A wrap_up interval that gets its end gives the wrap-up
 * time of the call the agent just finished (wrap-up-store.ts), which changes that call's AHT.
 */
export class AgentIntervalSink implements JsonBatchSink {
  private readonly pool: pg.Pool;
  private readonly kpi: KpiOptions;

  constructor(pool: pg.Pool, kpi: KpiOptions = {}) {
    this.pool = pool;
    this.kpi = kpi;
  }

  async insertJson(payload: string): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [ROLLUP_REBUILD_LOCK]);
      const res = await client.query<{ id: string }>(`${INSERT_OPS_EVENTS_SQL} RETURNING id`, [payload]);
      const inserted = res.rowCount ?? 0;
      if (inserted > 0) await this.addIntervals(client, payload, new Set(res.rows.map((r) => r.id)));
      return inserted;
    });
  }

  private async addIntervals(client: pg.PoolClient, payload: string, inserted: ReadonlySet<string>): Promise<void> {
    const changes = stateChanges(payload, inserted);
    if (changes.length === 0) return;
    await lockKeys(client, LOCK_CLASS.agent, [...new Set(changes.map((c) => c.agentId))]);
    await client.query(
      `INSERT INTO agent_state_intervals (event_id, agent_id, state, from_state, reason, from_at)
         SELECT id, "agentId", "to", "from", reason, at
           FROM jsonb_to_recordset($1::jsonb) AS c(id uuid, "agentId" text, "to" text, "from" text, reason text, at timestamptz)
       ON CONFLICT (event_id) DO NOTHING`,
      [JSON.stringify(changes)],
    );
    // Ends from the change before the earliest new one onward, per agent: lead() over that stretch.
    const ended = await client.query<{ agent_id: string; state: string; from_at: Date }>(
      `WITH affected AS (
         SELECT agent_id, min(from_at) AS lo FROM agent_state_intervals WHERE event_id = ANY($1::uuid[]) GROUP BY agent_id
       ), starts AS (
         SELECT a.agent_id, coalesce((SELECT max(p.from_at) FROM agent_state_intervals p WHERE p.agent_id = a.agent_id AND p.from_at < a.lo), a.lo) AS lo
           FROM affected a
       ), ordered AS (
         SELECT i.event_id, lead(i.from_at) OVER (PARTITION BY i.agent_id ORDER BY i.from_at, i.n) AS next_at
           FROM agent_state_intervals i JOIN starts s ON i.agent_id = s.agent_id AND i.from_at >= s.lo
       )
       UPDATE agent_state_intervals i SET to_at = o.next_at
         FROM ordered o
        WHERE i.event_id = o.event_id AND i.to_at IS DISTINCT FROM o.next_at
       RETURNING i.agent_id, i.state, i.from_at`,
      [changes.map((c) => c.id)],
    );
    const wrapUps = ended.rows.filter((r) => r.state === 'wrap_up').map((r) => ({ agentId: r.agent_id, from: r.from_at }));
    await this.attachWrapUps(client, wrapUps);
  }

  /** Calls whose wrap_up interval got its end (or a new end): their wrap-up time and rollup change. */
  private async attachWrapUps(client: pg.PoolClient, wrapUps: readonly { agentId: string; from: Date }[]): Promise<void> {
    const callIds = await callsNearWrapUps(client, wrapUps);
    if (callIds.length === 0) return;
    await lockKeys(client, LOCK_CLASS.call, callIds);
    const stored = await loadSummaries(client, callIds);
    const before = [...stored.values()];
    const after = await withWrapUps(client, before);
    const changes: SummaryChange[] = after.map((s, i) => ({ before: before[i]!, after: s })).filter((c) => c.before.wrapUpSeconds !== c.after.wrapUpSeconds);
    await saveChanges(client, changes, this.kpi);
  }
}

interface StateChange {
  readonly id: string;
  readonly agentId: string;
  readonly to: string;
  readonly from: string | null;
  readonly reason: string | null;
  readonly at: string;
}

/** The agent.state_changed events of a payload that were inserted now, in arrival order. */
function stateChanges(payload: string, inserted: ReadonlySet<string>): StateChange[] {
  const out: StateChange[] = [];
  const seen = new Set<string>();
  for (const e of JSON.parse(payload) as Array<Record<string, unknown>>) {
    const id = String(e.id).toLowerCase();
    const d = (e.data ?? {}) as Record<string, unknown>;
    if (e.type !== 'agent.state_changed' || !inserted.has(id) || seen.has(id)) continue;
    if (typeof d.agentId !== 'string' || typeof d.to !== 'string') continue;
    seen.add(id);
    out.push({ id, agentId: d.agentId, to: d.to, from: typeof d.from === 'string' ? d.from : null, reason: typeof d.reason === 'string' ? d.reason : null, at: String(e.at) });
  }
  return out;
}
