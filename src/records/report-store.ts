import type pg from 'pg';
import { MEASURE_COLUMNS, type Measures } from '../reports/call-measures.ts';
import { ReportError } from '../reports/report-errors.ts';
import type { BucketSums, ReportSource, RollupFilter, SlotUnit } from '../reports/report-source.ts';
import { ROLLUP_TABLE } from './rollup-store.ts';

/**
 * Reads the 15-minute rollup for reports: sums per bucket (time-zone free), and the slot
 * boundaries of a report in its time zone, which Postgres computes from its zone database
 * (local days, weeks and months, DST included). Slots of a day or longer step in local time;
 * shorter ones step in absolute time from the first local boundary.
 */
export class ReportStore implements ReportSource {
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
   * Measure sums per 15-minute bucket in [from, to), with offered calls per first-level key and
   * handled calls per agent. Three scans of the same rows, run side by side on the pool.
   */
  async bucketSums(from: Date, to: Date, filter: RollupFilter): Promise<BucketSums[]> {
    const { where, params } = whereClause(from, to, filter);
    const [all, keys, agents] = await Promise.all([
      this.query<Record<string, unknown> & { bucket: Date }>(
        `SELECT bucket, ${MEASURE_COLUMNS.map((c) => `sum(${c})::float8 AS ${c}`).join(', ')} FROM ${ROLLUP_TABLE} WHERE ${where} GROUP BY bucket`,
        params,
      ),
      this.query<{ bucket: Date; k: string; n: number }>(
        `SELECT bucket, first_key AS k, sum(offered)::float8 AS n FROM ${ROLLUP_TABLE} WHERE ${where} AND first_key <> '' GROUP BY bucket, first_key`,
        params,
      ),
      this.query<{ bucket: Date; a: string; n: number }>(
        `SELECT bucket, agent AS a, sum(handled)::float8 AS n FROM ${ROLLUP_TABLE} WHERE ${where} AND agent <> '' GROUP BY bucket, agent`,
        params,
      ),
    ]);
    const out = new Map<number, BucketSums>();
    for (const r of all.rows) {
      const measures: Measures = {};
      for (const c of MEASURE_COLUMNS) if (r[c]) measures[c] = r[c] as number;
      out.set(r.bucket.getTime(), { bucket: r.bucket, measures, byKey: new Map(), byAgent: new Map() });
    }
    for (const r of keys.rows) if (r.n) out.get(r.bucket.getTime())?.byKey.set(r.k, r.n);
    for (const r of agents.rows) if (r.n) out.get(r.bucket.getTime())?.byAgent.set(r.a, r.n);
    return [...out.values()].sort((a, b) => a.bucket.getTime() - b.bucket.getTime());
  }

  /** Start of the oldest bucket (where history begins), or null when there is none. */
  async firstBucket(): Promise<Date | null> {
    const res = await this.query<{ b: Date | null }>(`SELECT min(bucket) AS b FROM ${ROLLUP_TABLE}`);
    return res.rows[0]?.b ?? null;
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
