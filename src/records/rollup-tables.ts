import type pg from 'pg';
import { DAY_ROLLUP_NO_AGENT_TABLE, DAY_ROLLUP_TABLE, ROLLUP_NO_AGENT_TABLE, ROLLUP_TABLE } from './rollup-store.ts';

/** The rollups a report reads: with the agent dimension, and summed over agents. */
export interface RollupTables {
  readonly withAgent: string;
  readonly noAgent: string;
}

const QUARTER: RollupTables = { withAgent: ROLLUP_TABLE, noAgent: ROLLUP_NO_AGENT_TABLE };
const DAY: RollupTables = { withAgent: DAY_ROLLUP_TABLE, noAgent: DAY_ROLLUP_NO_AGENT_TABLE };

/**
 * The daily rollups when every boundary of the report — `from`, `to` and each slot start inside
 * the range — is a local midnight in the daily rollups' zone (migration 014): then every day
 * bucket lies whole inside one slot, and summing days equals summing their 15-minute buckets.
 * Otherwise (hours, a range cut mid-day, a report in another zone) the 15-minute rollups.
 */
export async function rollupTables(pool: pg.Pool, starts: readonly Date[], from: Date, to: Date): Promise<RollupTables> {
  const bounds = [from, to, ...starts.filter((s) => s > from && s < to)];
  const res = await pool.query<{ fits: boolean }>(
    `SELECT bool_and(date_trunc('day', t AT TIME ZONE z.zone) = t AT TIME ZONE z.zone) AS fits
       FROM call_rollup_day_zone z CROSS JOIN unnest($1::timestamptz[]) AS t`,
    [bounds],
  );
  return res.rows[0]?.fits ? DAY : QUARTER;
}
