import type pg from 'pg';
import { MEASURE_COLUMNS } from '../reports/call-measures.ts';
import { ReportError } from '../reports/report-errors.ts';
import type { AgentStateInterval } from '../kpi/agent-intervals.ts';
import type { AgentReportSource, AgentSlotSums, ReportSource, RollupFilter, SlotSums, SlotUnit } from '../reports/report-source.ts';
import type { NodeHeat } from '../kpi/kpis.ts';
import { NODE_MEASURES } from '../reports/node-measures.ts';
import type { NodeReportSource } from '../reports/node-report.ts';
import { NODE_ROLLUP_TABLE } from './node-rollup-store.ts';
import { ROLLUP_NO_AGENT_TABLE } from './rollup-store.ts';
import { rollupTables } from './rollup-tables.ts';

/**
 * Reads the 15-minute rollup for reports: sums per bucket (time-zone free), and the slot
 * boundaries of a report in its time zone, which Postgres computes from its zone database
 * (local days, weeks and months, DST included). Slots of a day or longer step in local time;
 * shorter ones step in absolute time from the first local boundary.
 */
export class ReportStore implements ReportSource, AgentReportSource, NodeReportSource {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** `from`/`to`: an instant with an offset, or a local date / date-time read in `tz`. */
  async resolveRange(from: string, to: string, tz: string): Promise<{ from: Date; to: Date }> {
    const res = await this.query<{ from: Date; to: Date }>(
      `SELECT ${LOCAL_OR_INSTANT('$1')} AS from, ${LOCAL_OR_INSTANT('$2')} AS to`,
      [from, to, tz],
    );
    return res.rows[0]!;
  }

  async slotStarts(from: Date, to: Date, unit: SlotUnit, tz: string): Promise<Date[]> {
    const sql =
      unit === '15m' || unit === '30m' || unit === '60m'
        ? `SELECT g AS start FROM generate_series(date_bin($4::interval, $1::timestamptz AT TIME ZONE $3, '2000-01-01') AT TIME ZONE $3, $2::timestamptz - interval '1 microsecond', $4::interval) AS g`
        : `SELECT g AT TIME ZONE $3 AS start
             FROM generate_series(date_trunc($5, $1::timestamptz AT TIME ZONE $3), ($2::timestamptz AT TIME ZONE $3) - interval '1 microsecond', $4::interval) AS g`;
    const step = { '15m': '15 minutes', '30m': '30 minutes', '60m': '1 hour', day: '1 day', week: '1 week', month: '1 month' }[unit];
    const params: unknown[] = [from, to, tz, step];
    if (!unit.endsWith('m')) params.push(unit);
    const res = await this.query<{ start: Date }>(sql, params);
    return res.rows.map((r) => r.start);
  }

  /**
   * Measure sums per slot, with offered calls per first-level key and handled calls per agent:
   * three queries side by side on the pool, each grouping buckets into slots in Postgres
   * (width_bucket over the slot starts), so only a slot's worth of rows comes back. Without an
   * agent filter the first two read the rollup without the agent dimension (far fewer rows);
   * handled per agent sums one column of the full one.
   */
  async slotSums(starts: readonly Date[], from: Date, to: Date, filter: RollupFilter): Promise<SlotSums[]> {
    const { where, params } = whereClause(from, to, filter);
    params.push(starts);
    const slot = `width_bucket(bucket, $${params.length}::timestamptz[])`;
    const tables = await rollupTables(this.pool, starts, from, to);
    const table = filter.agent !== undefined ? tables.withAgent : tables.noAgent;
    const [all, keys, agents] = await Promise.all([
      this.query<Record<string, number> & { slot: number }>(
        `SELECT ${slot} AS slot, ${MEASURE_COLUMNS.map((c) => `sum(${c})::float8 AS ${c}`).join(', ')} FROM ${table} WHERE ${where} GROUP BY 1`,
        params,
      ),
      this.query<{ slot: number; k: string; n: number }>(`SELECT ${slot} AS slot, first_key AS k, sum(offered)::float8 AS n FROM ${table} WHERE ${where} GROUP BY 1, 2`, params),
      this.query<{ slot: number; a: string; n: number }>(
        `SELECT ${slot} AS slot, agent AS a, sum(handled)::float8 AS n FROM ${tables.withAgent} WHERE ${where} AND handled <> 0 GROUP BY 1, 2`,
        params,
      ),
    ]);
    const out: SlotSums[] = starts.map(() => ({ measures: {}, byKey: new Map(), byAgent: new Map() }));
    // width_bucket numbers slots from 1 (0: before the first start, which the range excludes).
    for (const r of all.rows) {
      const measures = out[r.slot - 1]?.measures;
      if (measures) for (const c of MEASURE_COLUMNS) if (r[c]) measures[c] = r[c];
    }
    for (const r of keys.rows) if (r.n && r.k !== '') out[r.slot - 1]?.byKey.set(r.k, r.n);
    for (const r of agents.rows) if (r.n && r.a !== '') out[r.slot - 1]?.byAgent.set(r.a, r.n);
    return out;
  }

  /** Handled calls and AHT sums per slot and agent (slots numbered from 0). */
  async agentSlotSums(starts: readonly Date[], from: Date, to: Date, agentId?: string): Promise<AgentSlotSums[]> {
    const { where, params } = whereClause(from, to, agentId === undefined ? {} : { agent: agentId });
    params.push(starts);
    const tables = await rollupTables(this.pool, starts, from, to);
    const res = await this.query<{ slot: number; agent: string; handled: number; aht_ms: number; aht_n: number }>(
      `SELECT width_bucket(bucket, $${params.length}::timestamptz[]) AS slot, agent, sum(handled)::float8 AS handled,
              sum(aht_ms)::float8 AS aht_ms, sum(aht_n)::float8 AS aht_n
         FROM ${tables.withAgent} WHERE ${where} AND (handled <> 0 OR aht_n <> 0) GROUP BY 1, 2`,
      params,
    );
    return res.rows.filter((r) => r.agent !== '').map((r) => ({ slot: r.slot - 1, agentId: r.agent, handled: r.handled, ahtMs: r.aht_ms, ahtN: r.aht_n }));
  }

  async stateIntervals(from: Date, to: Date, openUntil: Date, agentId?: string): Promise<AgentStateInterval[]> {
    const res = await this.query<{ agent_id: string; state: AgentStateInterval['state']; from_at: Date; to_at: Date }>(
      `SELECT agent_id, state, from_at, coalesce(to_at, greatest(from_at, $3)) AS to_at FROM agent_state_intervals
        WHERE from_at >= $1 AND from_at < $2 ${agentId === undefined ? '' : 'AND agent_id = $4'}
       UNION ALL
       SELECT agent_id, state, from_at, coalesce(to_at, greatest(from_at, $3)) AS to_at FROM agent_state_intervals
        WHERE from_at < $1 AND (to_at > $1 OR to_at IS NULL) ${agentId === undefined ? '' : 'AND agent_id = $4'}`,
      agentId === undefined ? [from, to, openUntil] : [from, to, openUntil, agentId],
    );
    return res.rows.map((r) => ({ agentId: r.agent_id, state: r.state, from: r.from_at.toISOString(), to: r.to_at.toISOString() }));
  }

  /** The node heat map rollup summed over [from, to): one primary-key range scan of the buckets. */
  async nodeSums(from: Date, to: Date, filter: { flow?: string; version?: number }): Promise<NodeHeat[]> {
    const params: unknown[] = [from, to];
    let where = 'bucket >= $1 AND bucket < $2';
    if (filter.flow !== undefined) where += ` AND flow = $${params.push(filter.flow)}`;
    if (filter.version !== undefined) where += ` AND version = $${params.push(filter.version)}`;
    const res = await this.query<NodeHeat>(
      `SELECT flow, version, node, max(type) AS type, ${NODE_MEASURES.map(([m, c]) => `sum(${c})::int AS "${m}"`).join(', ')}
         FROM ${NODE_ROLLUP_TABLE} WHERE ${where}
        GROUP BY flow, version, node
       HAVING ${NODE_MEASURES.map(([, c]) => `sum(${c}) <> 0`).join(' OR ')}
        ORDER BY flow, version, node`,
      params,
    );
    return res.rows;
  }

  async recorded(from: Date, to: Date): Promise<boolean> {
    const res = await this.query<{ yes: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${ROLLUP_NO_AGENT_TABLE} WHERE bucket >= $1 AND bucket < $2 AND offered > 0) AS yes`, [from, to]);
    return res.rows[0]!.yes;
  }

  /** A query whose time-zone errors are the caller's (400 unknown_timezone), not ours. */
  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === '22023' && /time zone/i.test(e.message ?? '')) throw new ReportError(400, 'unknown_timezone', e.message!);
      if (e.code === '22007' || e.code === '22008') throw new ReportError(400, 'invalid_range', `not a date or time: ${e.message}`);
      throw err;
    }
  }
}

/** A date-time text with an offset (or Z) is an instant; a date, or a date-time without one, is local time in zone $3. */
const LOCAL_OR_INSTANT = (p: string) => `CASE WHEN ${p} ~ 'T.*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN ${p}::timestamptz ELSE ${p}::timestamp AT TIME ZONE $3 END`;

function whereClause(from: Date, to: Date, f: RollupFilter): { where: string; params: unknown[] } {
  const params: unknown[] = [from, to];
  const parts = ['bucket >= $1', 'bucket < $2'];
  const add = (column: string, value: unknown, op = '=') => {
    params.push(value);
    parts.push(op === 'any' ? `${column} = ANY($${params.length}::text[])` : `${column} = $${params.length}`);
  };
  if (f.queues) add('queue', f.queues, 'any');
  if (f.agent !== undefined) add('agent', f.agent);
  if (f.flow !== undefined) add('flow', f.flow);
  if (f.dialed !== undefined) add('dialed', f.dialed);
  return { where: parts.join(' AND '), params };
}
