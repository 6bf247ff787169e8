import type pg from 'pg';
import { MEASURE_COLUMNS, type Contribution } from '../reports/call-measures.ts';

/**
 * Writes `call_rollup_15m` (migration 005): adds deltas of call_measures.ts to their rows,
 * creating rows as needed. Deltas come sorted by key (nonZeroDeltas), and the INSERT keeps that
 * order, so two writers lock shared rows in the same order.
 */

const FLOAT_COLUMNS = new Set(['survey_score_sum']);
const cast = (c: string) => (FLOAT_COLUMNS.has(c) ? 'float8' : 'bigint');

export const ROLLUP_TABLE = 'call_rollup_15m';

const APPLY_SQL = `INSERT INTO ${ROLLUP_TABLE} AS r (bucket, queue, agent, flow, dialed, first_key, ${MEASURE_COLUMNS.join(', ')})
  SELECT to_timestamp(d.b / 1000.0), d.q, d.a, d.f, d.n, d.k,
         ${MEASURE_COLUMNS.map((c) => `coalesce((d.m->>'${c}')::${cast(c)}, 0)`).join(',\n         ')}
    FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (b bigint, q text, a text, f text, n text, k text, m jsonb)) WITH ORDINALITY AS d(b, q, a, f, n, k, m, i)
   ORDER BY d.i
  ON CONFLICT (bucket, queue, agent, flow, dialed, first_key) DO UPDATE SET
    ${MEASURE_COLUMNS.map((c) => `${c} = r.${c} + excluded.${c}`).join(',\n    ')}`;

/** Adds each delta to its rollup row. */
export async function applyRollupDeltas(client: pg.PoolClient, deltas: readonly Contribution[]): Promise<void> {
  if (deltas.length === 0) return;
  const rows = deltas.map((d) => ({ b: d.key.bucket, q: d.key.queue, a: d.key.agent, f: d.key.flow, n: d.key.dialed, k: d.key.firstKey, m: d.measures }));
  await client.query(APPLY_SQL, [JSON.stringify(rows)]);
}
