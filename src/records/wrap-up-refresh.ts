import type pg from 'pg';
import type { SummaryChange } from '../reports/summary-updates.ts';
import type { KpiOptions } from '../kpi/kpis.ts';
import { saveChanges } from './call-record-sink.ts';
import { loadSummaries } from './call-store.ts';
import { inTransaction, lockKeys, LOCK_CLASS, ROLLUP_REBUILD_LOCK } from './transaction.ts';
import { withWrapUps } from './wrap-up-store.ts';

/**
 * The second half of a wrap-up that ended after its call's talk (migration 013): the interval
 * folder queues the call in `call_wrap_up_refresh`; this attaches the wrap-up to the call's
 * summary and rollups. Its own transaction, locking only calls: it never holds an agent's lock,
 * so it cannot wait in a circle with the call folder (calls, then agents) or the interval
 * folder (agents only). It reads the intervals as committed; an interval that changes later
 * queues the call again, so the last refresh sees the last end.
 */

const PAGE = 500;

/** Queues calls for a refresh, inside the interval folder's transaction. */
export async function queueWrapUpRefresh(client: pg.PoolClient, callIds: readonly string[]): Promise<void> {
  if (callIds.length === 0) return;
  await client.query('INSERT INTO call_wrap_up_refresh (call_id) SELECT unnest($1::uuid[])', [[...callIds].sort()]);
}

/** Refreshes queued calls until the queue is empty (rows another refresh holds are skipped). Returns how many calls changed. */
export async function refreshWrapUps(pool: pg.Pool, kpi: KpiOptions): Promise<number> {
  let changed = 0;
  for (;;) {
    const page = await inTransaction(pool, async (client) => {
      // SKIP LOCKED: two refreshes take different rows; a row is deleted only if this commits.
      const claimed = await client.query<{ call_id: string }>(
        `DELETE FROM call_wrap_up_refresh r USING (SELECT id FROM call_wrap_up_refresh ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) c
          WHERE r.id = c.id RETURNING r.call_id`,
        [PAGE],
      );
      if (claimed.rows.length === 0) return null;
      const callIds = [...new Set(claimed.rows.map((r) => r.call_id))];
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [ROLLUP_REBUILD_LOCK]);
      await lockKeys(client, LOCK_CLASS.call, callIds);
      const before = [...(await loadSummaries(client, callIds)).values()];
      const after = await withWrapUps(client, before);
      const changes: SummaryChange[] = after.map((s, i) => ({ before: before[i]!, after: s })).filter((c) => c.before.wrapUpSeconds !== c.after.wrapUpSeconds);
      await saveChanges(client, changes, kpi);
      return changes.length;
    });
    if (page === null) return changed;
    changed += page;
  }
}

/** Whether calls wait for a refresh (a folder stopped between its two transactions). */
export async function wrapUpRefreshPending(pool: pg.Pool): Promise<boolean> {
  const res = await pool.query<{ yes: boolean }>('SELECT EXISTS (SELECT 1 FROM call_wrap_up_refresh) AS yes');
  return res.rows[0]!.yes;
}
