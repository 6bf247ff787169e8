import type pg from 'pg';
import { NODE_ROLLUP_TABLE } from './node-rollup-store.ts';
import { DAY_ROLLUP_NO_AGENT_TABLE, DAY_ROLLUP_TABLE, ROLLUP_NO_AGENT_TABLE, ROLLUP_TABLE } from './rollup-store.ts';

/**
 * Retention of what the event consumers keep besides raw events: `calls` rows by the call's
 * start, rollup rows by their bucket. Applied with the events' retention (EventStore.maintain,
 * hourly on every writer): whole UTC days go, as with call_events' day partitions, so a day is
 * never half reported. Each table is emptied in slices of SLICE rows, one short statement
 * each, so a first run over years of rows does not hold locks for long or bloat one transaction.
 *
 * Keep ROLLUP_RETENTION_DAYS >= CALL_RETENTION_DAYS >= EVENT_RETENTION_DAYS (or 0): a call
 * whose row is gone but whose rollup rows stay cannot be taken off them again; an event of a
 * call older than CALL_RETENTION_DAYS would start a new summary (events that late do not occur
 * while events are kept only as long).
 */

export interface RetentionDays {
  /** `calls` rows; 0 keeps them all. */
  readonly calls: number;
  /** Rollup rows; 0 keeps them all. */
  readonly rollups: number;
}

/**
 * Rollup tables, the column retention goes by, and how long a row's bucket lasts: a daily row
 * (a local day) goes only once all of its day is past the cutoff. Every rollup is listed here.
 */
export const ROLLUP_RETENTION: ReadonlyArray<{ readonly table: string; readonly column: string; readonly width: '15 minutes' | '1 day' }> = [
  { table: ROLLUP_TABLE, column: 'bucket', width: '15 minutes' },
  { table: ROLLUP_NO_AGENT_TABLE, column: 'bucket', width: '15 minutes' },
  { table: NODE_ROLLUP_TABLE, column: 'bucket', width: '15 minutes' },
  { table: DAY_ROLLUP_TABLE, column: 'bucket', width: '1 day' },
  { table: DAY_ROLLUP_NO_AGENT_TABLE, column: 'bucket', width: '1 day' },
];

const SLICE = 10_000;

/** Start of the UTC day `days` days before today: rows before it go. */
const CUTOFF = `((now() AT TIME ZONE 'UTC')::date - $1::int)::timestamp AT TIME ZONE 'UTC'`;

/** Deletes rows older than the retention; returns how many went per table. */
export async function applyRetention(pool: pg.Pool, days: RetentionDays): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  if (days.calls > 0) removed.calls = await deleteInSlices(pool, 'calls', 'started_at', '0 seconds', days.calls);
  if (days.rollups > 0) for (const r of ROLLUP_RETENTION) removed[r.table] = await deleteInSlices(pool, r.table, r.column, r.width, days.rollups);
  return removed;
}

/** Rows whose span [column, column + width) ends at or before the cutoff. */
async function deleteInSlices(pool: pg.Pool, table: string, column: string, width: string, days: number): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await pool.query(
      `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${column} <= ${CUTOFF} - $2::interval LIMIT ${SLICE}))`,
      [days, width],
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < SLICE) return total;
  }
}
