import type pg from 'pg';
import type { KpiOptions } from '../kpi/kpis.ts';
import type { JsonBatchSink } from './event-consumer.ts';
import { OpsEventStore } from './ops-event-store.ts';
import { inTransaction, lockKeys, LOCK_CLASS } from './transaction.ts';
import { queueWrapUpRefresh, refreshWrapUps, wrapUpRefreshPending } from './wrap-up-refresh.ts';
import { callsNearWrapUps } from './wrap-up-store.ts';

/**
 * The ops-event pipeline's two stages: the writers insert the ops events (OpsEventStore's
 * idempotent insert) and nothing else; `fold` (AgentIntervalFoldSink) turns the committed
 * batches' agent.state_changed events into `agent_state_intervals` (migration 005).
 */
export class AgentIntervalSink implements JsonBatchSink {
  private readonly events: OpsEventStore;
  readonly fold: AgentIntervalFoldSink;

  constructor(pool: pg.Pool, kpi: KpiOptions = {}) {
    this.events = new OpsEventStore(pool);
    this.fold = new AgentIntervalFoldSink(pool, kpi);
  }

  insertJson(payload: string): Promise<number> {
    return this.events.insertJson(payload);
  }
}

/**
 * Each change opens an interval of its `to` state that lasts until the agent's next change; an
 * interval's end is set when that next change lands, in whatever order the changes arrive (a
 * late one is slotted in and its neighbours' ends are set again). Idempotent: a change stored
 * before is not inserted again and its neighbours' ends come out the same.
 *
 * A wrap_up interval that gets its end gives the wrap-up time of the call the agent just
 * finished, which changes that call's AHT. This transaction holds the agents' locks and so
 * does not touch calls: it queues them (wrap-up-refresh.ts) and a second transaction, holding
 * no agent lock, attaches the wrap-ups. Locks are always taken calls before agents (the call
 * folder) or agents alone (here), never agents then calls, so the writers cannot deadlock.
 */
export class AgentIntervalFoldSink implements JsonBatchSink {
  private readonly pool: pg.Pool;
  private readonly kpi: KpiOptions;

  constructor(pool: pg.Pool, kpi: KpiOptions) {
    this.pool = pool;
    this.kpi = kpi;
  }

  /** Returns how many state changes the batch held. */
  async insertJson(payload: string): Promise<number> {
    const changes = stateChanges(payload);
    if (changes.length) await inTransaction(this.pool, (client) => this.addIntervals(client, changes));
    // Also after a batch without changes: a refresh left by a stopped folder is finished here.
    await refreshWrapUps(this.pool, this.kpi);
    return changes.length;
  }

  async idle(): Promise<void> {
    if (await wrapUpRefreshPending(this.pool)) await refreshWrapUps(this.pool, this.kpi);
  }

  private async addIntervals(client: pg.PoolClient, changes: readonly StateChange[]): Promise<void> {
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
    // Read after the agents' locks: a call folder that ended a talk with these agents has committed.
    const wrapUps = ended.rows.filter((r) => r.state === 'wrap_up').map((r) => ({ agentId: r.agent_id, from: r.from_at }));
    await queueWrapUpRefresh(client, await callsNearWrapUps(client, wrapUps));
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

/** The agent.state_changed events of a payload, once each, in arrival order. */
function stateChanges(payload: string): StateChange[] {
  const out: StateChange[] = [];
  const seen = new Set<string>();
  for (const e of JSON.parse(payload) as Array<Record<string, unknown>>) {
    const id = String(e.id).toLowerCase();
    const d = (e.data ?? {}) as Record<string, unknown>;
    if (e.type !== 'agent.state_changed' || seen.has(id)) continue;
    if (typeof d.agentId !== 'string' || typeof d.to !== 'string') continue;
    seen.add(id);
    out.push({ id, agentId: d.agentId, to: d.to, from: typeof d.from === 'string' ? d.from : null, reason: typeof d.reason === 'string' ? d.reason : null, at: String(e.at) });
  }
  return out;
}
