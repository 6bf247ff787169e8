import type pg from 'pg';
import { MEASURE_COLUMNS, withoutAgent, type Contribution } from '../reports/call-measures.ts';
import { inTransaction, ROLLUP_REBUILD_LOCK } from './transaction.ts';

/**
 * Writes the rollups (migrations 005, 006, 014): adds deltas of call-measures.ts to their
 * rows, creating rows as needed, in `call_rollup_15m` (with the agent),
 * `call_rollup_15m_no_agent` (summed over agents) and their daily sums `call_rollup_day` and
 * `call_rollup_day_no_agent`. Deltas come sorted by key (nonZeroDeltas) and each INSERT keeps
 * that order (the daily ones sort their sums), tables always in this order, so two writers
 * lock shared rows in the same order.
 */

export const ROLLUP_TABLE = 'call_rollup_15m';
export const ROLLUP_NO_AGENT_TABLE = 'call_rollup_15m_no_agent';
export const DAY_ROLLUP_TABLE = 'call_rollup_day';
export const DAY_ROLLUP_NO_AGENT_TABLE = 'call_rollup_day_no_agent';

const FLOAT_COLUMNS = new Set(['survey_score_sum']);
const cast = (c: string) => (FLOAT_COLUMNS.has(c) ? 'float8' : 'bigint');

function applySql(table: string, withAgent: boolean): string {
  const dims = withAgent ? ['bucket', 'queue', 'agent', 'flow', 'dialed', 'first_key'] : ['bucket', 'queue', 'flow', 'dialed', 'first_key'];
  return `INSERT INTO ${table} AS r (${dims.join(', ')}, ${MEASURE_COLUMNS.join(', ')})
  SELECT to_timestamp(d.b / 1000.0), d.q, ${withAgent ? 'd.a, ' : ''}d.f, d.n, d.k,
         ${MEASURE_COLUMNS.map((c) => `coalesce((d.m->>'${c}')::${cast(c)}, 0)`).join(',\n         ')}
    FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (b bigint, q text, a text, f text, n text, k text, m jsonb)) WITH ORDINALITY AS d(b, q, a, f, n, k, m, i)
   ORDER BY d.i
  ON CONFLICT (${dims.join(', ')}) DO UPDATE SET
    ${MEASURE_COLUMNS.map((c) => `${c} = r.${c} + excluded.${c}`).join(',\n    ')}`;
}

/** The deltas summed per local day of call_rollup_day_zone's zone, then added like the 15-minute ones. */
function applyDaySql(table: string, withAgent: boolean): string {
  const dims = withAgent ? ['bucket', 'queue', 'agent', 'flow', 'dialed', 'first_key'] : ['bucket', 'queue', 'flow', 'dialed', 'first_key'];
  const keys = dims.map((_, i) => i + 1).join(', ');
  return `INSERT INTO ${table} AS r (${dims.join(', ')}, ${MEASURE_COLUMNS.join(', ')})
  SELECT date_trunc('day', to_timestamp(d.b / 1000.0) AT TIME ZONE z.zone) AT TIME ZONE z.zone, d.q, ${withAgent ? 'd.a, ' : ''}d.f, d.n, d.k,
         ${MEASURE_COLUMNS.map((c) => `sum(coalesce((d.m->>'${c}')::${cast(c)}, 0))::${cast(c)}`).join(',\n         ')}
    FROM jsonb_to_recordset($1::jsonb) AS d(b bigint, q text, a text, f text, n text, k text, m jsonb) CROSS JOIN call_rollup_day_zone z
   GROUP BY ${keys}
   ORDER BY ${keys}
  ON CONFLICT (${dims.join(', ')}) DO UPDATE SET
    ${MEASURE_COLUMNS.map((c) => `${c} = r.${c} + excluded.${c}`).join(',\n    ')}`;
}

const APPLY_SQL = applySql(ROLLUP_TABLE, true);
const APPLY_NO_AGENT_SQL = applySql(ROLLUP_NO_AGENT_TABLE, false);
const APPLY_DAY_SQL = applyDaySql(DAY_ROLLUP_TABLE, true);
const APPLY_DAY_NO_AGENT_SQL = applyDaySql(DAY_ROLLUP_NO_AGENT_TABLE, false);

const rows = (deltas: readonly Contribution[]) =>
  JSON.stringify(deltas.map((d) => ({ b: d.key.bucket, q: d.key.queue, a: d.key.agent, f: d.key.flow, n: d.key.dialed, k: d.key.firstKey, m: d.measures })));

/** Adds each delta to its rows in the four rollups. */
export async function applyRollupDeltas(client: pg.PoolClient, deltas: readonly Contribution[]): Promise<void> {
  if (deltas.length === 0) return;
  const withAgent = rows(deltas);
  const noAgent = rows(withoutAgent(deltas));
  await client.query(APPLY_SQL, [withAgent]);
  await client.query(APPLY_NO_AGENT_SQL, [noAgent]);
  await client.query(APPLY_DAY_SQL, [withAgent]);
  await client.query(APPLY_DAY_NO_AGENT_SQL, [noAgent]);
}

const DAY = `date_trunc('day', bucket AT TIME ZONE z.zone) AT TIME ZONE z.zone`;
const SUMS = MEASURE_COLUMNS.map((c) => `sum(${c})`).join(', ');
const COLUMNS = MEASURE_COLUMNS.join(', ');

/**
 * Sums the 15-minute rollups into the daily ones for the local days (of the stored zone) that
 * overlap [from, to), replacing those days' rows; all days without a range. The caller holds
 * the rebuild lock (exclusively) in this transaction.
 */
export async function resumDays(client: pg.PoolClient, range?: { from: Date; to: Date }): Promise<void> {
  const params: unknown[] = [];
  let days = 'true';
  if (range) {
    params.push(range.from, range.to);
    // From the midnight at or before `from` to the one after the last instant before `to`.
    days = `bucket >= date_trunc('day', $1::timestamptz AT TIME ZONE z.zone) AT TIME ZONE z.zone
        AND bucket < (date_trunc('day', ($2::timestamptz - interval '1 microsecond') AT TIME ZONE z.zone) + interval '1 day') AT TIME ZONE z.zone`;
  }
  for (const [day, quarter, dims] of [
    [DAY_ROLLUP_TABLE, ROLLUP_TABLE, 'queue, agent, flow, dialed, first_key'],
    [DAY_ROLLUP_NO_AGENT_TABLE, ROLLUP_NO_AGENT_TABLE, 'queue, flow, dialed, first_key'],
  ] as const) {
    await client.query(`DELETE FROM ${day} USING call_rollup_day_zone z WHERE ${days}`, params);
    await client.query(
      `INSERT INTO ${day} (bucket, ${dims}, ${COLUMNS})
         SELECT ${DAY}, ${dims}, ${SUMS} FROM ${quarter} CROSS JOIN call_rollup_day_zone z WHERE ${days} GROUP BY 1, ${dims}`,
      params,
    );
  }
}

/**
 * Makes `zone` the zone of the daily rollups' days: when it differs from the stored one, both
 * are summed again from the 15-minute rollups, holding the rebuild lock (the folders wait), so
 * the days and the zone row change together. Run at start with the hotline's zone.
 */
export async function syncDayZone(pool: pg.Pool, zone: string): Promise<boolean> {
  const current = await pool.query<{ zone: string }>('SELECT zone FROM call_rollup_day_zone');
  if (current.rows[0]?.zone === zone) return false;
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_REBUILD_LOCK]);
    const res = await client.query('UPDATE call_rollup_day_zone SET zone = $1 WHERE zone <> $1', [zone]);
    if (res.rowCount === 0) return false;
    await resumDays(client);
    return true;
  });
}
