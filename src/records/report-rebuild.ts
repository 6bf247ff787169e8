import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { summarizeCall, type CallSummary } from '../kpi/call-summary.ts';
import type { KpiOptions } from '../kpi/kpis.ts';
import { addDelta, BUCKET_MS, contribution, nonZeroDeltas, type Contribution } from '../reports/call-measures.ts';
import { nodeRollupRows, sortedNonZero, type NodeRollupDelta } from '../reports/node-measures.ts';
import type { SummaryChange } from '../reports/summary-updates.ts';
import { saveChanges } from './call-record-sink.ts';
import { loadSummaries, storedEvents } from './call-store.ts';
import { applyNodeRollupDeltas, NODE_ROLLUP_TABLE } from './node-rollup-store.ts';
import { ROLLUP_NO_AGENT_TABLE, ROLLUP_TABLE, applyRollupDeltas, resumDays } from './rollup-store.ts';
import { inTransaction, lockKeys, LOCK_CLASS, ROLLUP_REBUILD_LOCK } from './transaction.ts';
import { withWrapUps } from './wrap-up-store.ts';

/**
 * Rebuilds what the event consumers keep, from what is stored, for `hotline reports rebuild`:
 * the calls of events recorded before migration 005 (which have no summary), or every call
 * again after a fix to the fold; and the rollups after a change of the service-level or
 * short-abandon threshold. Both run beside live consumers and leave the same result as if
 * every event had gone through CallRecordSink.
 */

const PAGE = 1_000;

/**
 * Folds again every call with an event in [from, to) from all its stored events, with its
 * wrap-up, and writes the summaries that differ with their rollup deltas: a page of calls per
 * transaction, each call locked as the consumers lock it.
 */
export async function rebuildCalls(pool: pg.Pool, range: { from: Date; to: Date }, kpi: KpiOptions = {}, onPage?: (done: number) => void): Promise<{ calls: number; changed: number }> {
  let after = '00000000-0000-0000-0000-000000000000';
  let calls = 0;
  let changed = 0;
  for (;;) {
    const page = await pool.query<{ call_id: string }>(
      'SELECT DISTINCT call_id FROM call_events WHERE at >= $1 AND at < $2 AND call_id > $3::uuid ORDER BY call_id LIMIT $4',
      [range.from, range.to, after, PAGE],
    );
    if (page.rows.length === 0) return { calls, changed };
    const ids = page.rows.map((r) => r.call_id);
    after = ids.at(-1)!;
    changed += await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [ROLLUP_REBUILD_LOCK]);
      await lockKeys(client, LOCK_CLASS.call, ids);
      const stored = await loadSummaries(client, ids);
      const events = await storedEvents(client, ids);
      const fresh = ids.map((id) => summarizeCall(events.get(id) ?? [])).filter((s): s is CallSummary => s !== null);
      await lockKeys(client, LOCK_CLASS.agent, [...new Set(fresh.filter((s) => s.agentId !== null).map((s) => s.agentId!))]);
      const withWrap = await withWrapUps(client, fresh);
      const changes: SummaryChange[] = withWrap
        .map((after) => ({ before: stored.get(after.callId) ?? null, after }))
        .filter((c) => !isDeepStrictEqual(c.before, c.after));
      await saveChanges(client, changes, kpi);
      return changes.length;
    });
    calls += ids.length;
    onPage?.(calls);
  }
}

/**
 * Recomputes the rollups (both call rollups and the node heat map's) for the calls that
 * started in [from, to) (15-minute boundaries) from their summaries, with `kpi`'s thresholds, in one transaction that holds the rebuild
 * lock: the consumers wait meanwhile (their events wait in Redis), so no delta is lost or
 * counted twice.
 */
export async function rebuildRollups(pool: pg.Pool, range: { from: Date; to: Date }, kpi: KpiOptions = {}): Promise<{ calls: number; rows: number }> {
  if (range.from.getTime() % BUCKET_MS !== 0 || range.to.getTime() % BUCKET_MS !== 0) throw new RangeError('a rollup rebuild runs from and to 15-minute boundaries');
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_REBUILD_LOCK]);
    for (const table of [ROLLUP_TABLE, ROLLUP_NO_AGENT_TABLE, NODE_ROLLUP_TABLE]) await client.query(`DELETE FROM ${table} WHERE bucket >= $1 AND bucket < $2`, [range.from, range.to]);
    const rows = new Map<string, Contribution>();
    const nodeRows = new Map<string, NodeRollupDelta>();
    let calls = 0;
    let last = { at: new Date(0), id: '00000000-0000-0000-0000-000000000000' };
    for (;;) {
      const page = await client.query<{ started_at: Date; call_id: string; summary: CallSummary }>(
        `SELECT started_at, call_id, summary FROM calls
          WHERE started_at >= $1 AND started_at < $2 AND (started_at, call_id) > ($3, $4::uuid)
          ORDER BY started_at, call_id LIMIT $5`,
        [range.from, range.to, last.at, last.id, PAGE * 5],
      );
      if (page.rows.length === 0) break;
      for (const r of page.rows) addDelta(rows, null, contribution(r.summary, kpi));
      nodeRollupRows(page.rows.map((r) => r.summary), nodeRows);
      calls += page.rows.length;
      const tail = page.rows.at(-1)!;
      last = { at: tail.started_at, id: tail.call_id };
    }
    const all = nonZeroDeltas(rows);
    for (let i = 0; i < all.length; i += PAGE * 5) await applyRollupDeltas(client, all.slice(i, i + PAGE * 5));
    const nodes = sortedNonZero(nodeRows);
    for (let i = 0; i < nodes.length; i += PAGE * 5) await applyNodeRollupDeltas(client, nodes.slice(i, i + PAGE * 5));
    // The daily rollups of the days this range touches, summed again from the 15-minute ones.
    await resumDays(client, range);
    return { calls, rows: all.length };
  });
}
