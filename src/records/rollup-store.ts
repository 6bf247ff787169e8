import type pg from 'pg';
import { MEASURE_COLUMNS, withoutAgent, type Contribution } from '../reports/call-measures.ts';

/**
 * Writes the 15-minute rollups (migrations 005, 006): adds deltas of call-measures.ts to their
 * rows, creating rows as needed, in `call_rollup_15m` (with the agent) and
 * `call_rollup_15m_no_agent` (summed over agents). Deltas come sorted by key (nonZeroDeltas)
 * and each INSERT keeps that order, so two writers lock shared rows in the same order.
 */

export const ROLLUP_TABLE = 'call_rollup_15m';
export const ROLLUP_NO_AGENT_TABLE = 'call_rollup_15m_no_agent';

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

const APPLY_SQL = applySql(ROLLUP_TABLE, true);
const APPLY_NO_AGENT_SQL = applySql(ROLLUP_NO_AGENT_TABLE, false);

const rows = (deltas: readonly Contribution[]) =>
  JSON.stringify(deltas.map((d) => ({ b: d.key.bucket, q: d.key.queue, a: d.key.agent, f: d.key.flow, n: d.key.dialed, k: d.key.firstKey, m: d.measures })));

/** Adds each delta to its rows in both rollups. */
export async function applyRollupDeltas(client: pg.PoolClient, deltas: readonly Contribution[]): Promise<void> {
  if (deltas.length === 0) return;
  await client.query(APPLY_SQL, [rows(deltas)]);
  await client.query(APPLY_NO_AGENT_SQL, [rows(withoutAgent(deltas))]);
}
