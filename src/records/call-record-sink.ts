import type pg from 'pg';
import { summarizeCall, type FoldableEvent } from '../kpi/call-summary.ts';
import type { KpiOptions } from '../kpi/kpis.ts';
import { nonZeroDeltas } from '../reports/call-measures.ts';
import { nodeRollupDeltas } from '../reports/node-measures.ts';
import { foldOnto, groupByCall, newEvents, rollupDeltas, type SummaryChange } from '../reports/summary-updates.ts';
import { loadSummaries, saveSummaries, storedEvents } from './call-store.ts';
import type { JsonBatchSink } from './event-consumer.ts';
import type { EventStore } from './event-store.ts';
import { applyNodeRollupDeltas } from './node-rollup-store.ts';
import { applyRollupDeltas, syncDayZone } from './rollup-store.ts';
import { inTransaction, lockKeys, LOCK_CLASS, ROLLUP_REBUILD_LOCK } from './transaction.ts';
import { withWrapUps } from './wrap-up-store.ts';

/**
 * The call-event pipeline's two stages. The writers insert raw events (`insertJson`, the
 * EventStore's idempotent insert) and nothing else, so the insert runs at the speed of the
 * events alone; each committed batch goes on to the fold stream (EventWriter), where `fold`
 * (CallFoldSink) turns it into the calls' summaries (`calls`) and the rollups.
 */
export class CallRecordSink implements JsonBatchSink {
  private readonly pool: pg.Pool;
  private readonly events: EventStore;
  private readonly dayZone: string | undefined;
  readonly fold: CallFoldSink;

  /**
   * `kpi`: the short-abandon and service-level thresholds the rollup counts with (a change
   * needs a rebuild); `dayZone`: the zone whose local days the daily rollups hold (the
   * hotline's), applied by maintain() (absent: left as stored).
   */
  constructor(pool: pg.Pool, events: EventStore, kpi: KpiOptions = {}, dayZone?: string) {
    this.pool = pool;
    this.events = events;
    this.dayZone = dayZone;
    this.fold = new CallFoldSink(pool, kpi);
  }

  insertJson(payload: string): Promise<number> {
    return this.events.insertJson(payload);
  }

  async maintain(): Promise<void> {
    await this.events.maintain();
    if (this.dayZone !== undefined) await syncDayZone(this.pool, this.dayZone);
  }
}

/**
 * The fold stage: a batch of stored events into their calls' summaries and the rollups, in one
 * transaction, acknowledged on the fold stream after it commits. A crash leaves both unwritten
 * and the batch comes again. A batch folded before comes again only if its folder died
 * between commit and ack: its events' seqs are then not after their calls' lastSeq, so those
 * calls are folded afresh from call_events (foldOnto's 'refold'), which writes the rows they
 * already have and adds a zero delta to the rollups. Exactly once, without a ledger.
 *
 * The rollup keeps every call, ended or not, by adding the difference between a call's measures
 * before and after the batch: a call's row is not final at call.ended (its wrap-up arrives
 * with the agent's next state change; a late event folds the call again), and today's report
 * then counts the calls still in progress the way the KPIs do.
 */
export class CallFoldSink implements JsonBatchSink {
  private readonly pool: pg.Pool;
  private readonly kpi: KpiOptions;

  constructor(pool: pg.Pool, kpi: KpiOptions) {
    this.pool = pool;
    this.kpi = kpi;
  }

  /** Returns how many distinct events the batch held (all are folded, or found folded). */
  async insertJson(payload: string): Promise<number> {
    const events = newEvents(payload);
    if (events.length === 0) return 0;
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [ROLLUP_REBUILD_LOCK]);
      await foldIntoCalls(client, events, this.kpi);
    });
    return events.length;
  }
}

/**
 * Folds stored events into their calls' summaries and the rollups. Each call is locked first
 * (another folder may hold later events of the same call); a call whose events are not all
 * after its summary's lastSeq is folded again from every stored event.
 *
 * Lock order, everywhere: calls before agents, each set in one sorted statement (lockKeys).
 * The agents' locks are taken here only for calls whose talk just ended, to read their wrap_up
 * intervals; the interval folder (agent-interval-sink.ts) holds agents' locks but never waits
 * for a call's, so the two cannot deadlock (they used to: it locked calls after agents).
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
