import type pg from 'pg';
import { summarizeCall, type FoldableEvent } from '../kpi/call-summary.ts';
import type { KpiOptions } from '../kpi/kpis.ts';
import { nonZeroDeltas } from '../reports/call-measures.ts';
import { nodeRollupDeltas } from '../reports/node-measures.ts';
import { foldOnto, groupByCall, newEvents, rollupDeltas, type SummaryChange } from '../reports/summary-updates.ts';
import { loadSummaries, saveSummaries, storedEvents } from './call-store.ts';
import type { JsonBatchSink } from './event-consumer.ts';
import { INSERT_CALL_EVENTS_SQL, type EventStore } from './event-store.ts';
import { applyNodeRollupDeltas } from './node-rollup-store.ts';
import { applyRollupDeltas } from './rollup-store.ts';
import { inTransaction, lockKeys, LOCK_CLASS, ROLLUP_REBUILD_LOCK } from './transaction.ts';
import { withWrapUps } from './wrap-up-store.ts';

/**
 * Where the call-event consumer writes a batch: the events, the summaries of their calls
 * (`calls`) and the 15-minute rollup, in one transaction. The consumer acknowledges the stream
 * entries only after this commits, so a crash anywhere leaves all three unwritten and the batch
 * is delivered again; the insert returns the ids it really added, and only those events are
 * folded, so a redelivered event changes nothing (and the fold itself ignores a seq it has seen).
 *
 * The rollup keeps every call, ended or not, by adding the difference between a call's measures
 * before and after the batch: a call's row is not final at call.ended (its wrap-up arrives
 * with the agent's next state change; a late event folds the call again), and today's report
 * then counts the calls still in progress the way the KPIs do.
 */
export class CallRecordSink implements JsonBatchSink {
  private readonly pool: pg.Pool;
  private readonly events: EventStore;
  private readonly kpi: KpiOptions;

  /** `kpi`: the short-abandon and service-level thresholds the rollup counts with (a change needs a rebuild). */
  constructor(pool: pg.Pool, events: EventStore, kpi: KpiOptions = {}) {
    this.pool = pool;
    this.events = events;
    this.kpi = kpi;
  }

  async insertJson(payload: string): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [ROLLUP_REBUILD_LOCK]);
      const res = await client.query<{ id: string }>(`${INSERT_CALL_EVENTS_SQL} RETURNING id`, [payload]);
      const inserted = res.rowCount ?? 0;
      if (inserted > 0) await foldIntoCalls(client, newEvents(payload, new Set(res.rows.map((r) => r.id))), this.kpi);
      return inserted;
    });
  }

  maintain(): Promise<void> {
    return this.events.maintain();
  }
}

/**
 * Folds newly stored events into their calls' summaries and the rollup. Each call is locked
 * first (another consumer may hold later events of the same call); a call whose new events are
 * not all after its summary's lastSeq is folded again from every stored event.
 */
export async function foldIntoCalls(client: pg.PoolClient, events: readonly FoldableEvent[], kpi: KpiOptions): Promise<void> {
  const byCall = groupByCall(events);
  const callIds = [...byCall.keys()];
  await lockKeys(client, LOCK_CLASS.call, callIds);
  const stored = await loadSummaries(client, callIds);
  const changes: SummaryChange[] = [];
  const refold: string[] = [];
  for (const [callId, list] of byCall) {
    const before = stored.get(callId) ?? null;
    const after = foldOnto(before, callId, list);
    if (after === 'refold') refold.push(callId);
    else changes.push({ before, after });
  }
  const refolded = new Set(refold);
  if (refold.length) {
    const all = await storedEvents(client, refold);
    for (const callId of refold) {
      const after = summarizeCall(all.get(callId) ?? []);
      if (after) changes.push({ before: stored.get(callId) ?? null, after });
    }
  }
  // The talk just ended (or the call was folded afresh, losing its wrap-up): look for the wrap-up.
  const talkEnded = (c: SummaryChange) =>
    c.after.agentId !== null && c.after.talkEndedAt !== null && (refolded.has(c.after.callId) || c.before?.talkEndedAt == null || c.before.agentId !== c.after.agentId);
  const candidates = changes.filter(talkEnded);
  if (candidates.length) {
    await lockKeys(client, LOCK_CLASS.agent, [...new Set(candidates.map((c) => c.after.agentId!))]);
    const attached = await withWrapUps(client, candidates.map((c) => c.after));
    const byId = new Map(attached.map((s) => [s.callId, s]));
    for (let i = 0; i < changes.length; i++) {
      const next = byId.get(changes[i]!.after.callId);
      if (next) changes[i] = { before: changes[i]!.before, after: next };
    }
  }
  await saveChanges(client, changes, kpi);
}

/** Writes the new summaries and adds their rollup deltas (the call rollups and the node heat map's). */
export async function saveChanges(client: pg.PoolClient, changes: readonly SummaryChange[], kpi: KpiOptions): Promise<void> {
  await saveSummaries(client, changes.map((c) => c.after));
  await applyRollupDeltas(client, nonZeroDeltas(rollupDeltas(changes, kpi)));
  await applyNodeRollupDeltas(client, nodeRollupDeltas(changes));
}
