import type pg from 'pg';
import { NODE_MEASURES, type NodeRollupDelta } from '../reports/node-measures.ts';

/**
 * Writes the node heat map rollup (migration 012): adds deltas of node-measures.ts to their
 * rows, creating rows as needed, in the order given (key order, so writers lock rows alike).
 */

export const NODE_ROLLUP_TABLE = 'call_node_rollup_15m';

const COLUMNS = NODE_MEASURES.map(([, c]) => c);

const APPLY_SQL = `INSERT INTO ${NODE_ROLLUP_TABLE} AS r (bucket, flow, version, node, type, ${COLUMNS.join(', ')})
  SELECT to_timestamp(d.b / 1000.0), d.f, d.v, d.n, d.t, ${NODE_MEASURES.map(([m]) => `coalesce((d.c->>'${m}')::int, 0)`).join(', ')}
    FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (b bigint, f text, v int, n text, t text, c jsonb)) WITH ORDINALITY AS d(b, f, v, n, t, c, i)
   ORDER BY d.i
  ON CONFLICT (bucket, flow, version, node) DO UPDATE SET type = excluded.type,
    ${COLUMNS.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ')}`;

/** Adds each delta to its row. */
export async function applyNodeRollupDeltas(client: pg.PoolClient, deltas: readonly NodeRollupDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  await client.query(APPLY_SQL, [JSON.stringify(deltas.map((d) => ({ b: d.bucket, f: d.flow, v: d.version, n: d.node, t: d.type, c: d.counts })))]);
}
