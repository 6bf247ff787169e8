import type pg from 'pg';
import type { CallEvent } from '../domain/call-event.ts';
import { applyRetention } from './retention.ts';

/** Inserts a JSON array of call events ($1), skipping those already stored. Shared with CallRecordSink. */
export const INSERT_CALL_EVENTS_SQL = `INSERT INTO call_events (id, call_id, seq, type, at, data)
       SELECT id, "callId", seq, type, at, coalesce(data, '{}'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "callId" uuid, seq int, type text, at timestamptz, data jsonb)
       ON CONFLICT (id, at) DO NOTHING`;

/** Day partitions kept ready ahead of the clock (and one behind, for late events). */
const DAYS_AHEAD = 7;

/**
 * Writes call events; idempotent on the event id (and its `at`, the partition key: see
 * migration 004) so a retried batch never duplicates.
 */
export class EventStore {
  private readonly pool: pg.Pool;
  private readonly retentionDays: number;
  private readonly callRetentionDays: number;
  private readonly rollupRetentionDays: number;

  /**
   * `retentionDays` > 0 drops day partitions older than that many days; `callRetentionDays`
   * and `rollupRetentionDays` do the same for `calls` rows and rollup rows (retention.ts); 0
   * keeps everything.
   */
  constructor(pool: pg.Pool, opts: { retentionDays?: number; callRetentionDays?: number; rollupRetentionDays?: number } = {}) {
    this.pool = pool;
    this.retentionDays = opts.retentionDays ?? 0;
    this.callRetentionDays = opts.callRetentionDays ?? 0;
    this.rollupRetentionDays = opts.rollupRetentionDays ?? 0;
  }

  async insertBatch(events: readonly CallEvent[]): Promise<number> {
    return events.length ? this.insertJson(JSON.stringify(events)) : 0;
  }

  /**
   * Inserts a JSON array of events as one statement. Postgres parses the JSON itself
   * (jsonb_to_recordset): the writer passes stream entries through without parsing them in
   * Node, one round trip and one plan whatever the batch size.
   */
  async insertJson(events: string): Promise<number> {
    const res = await this.pool.query(INSERT_CALL_EVENTS_SQL, [events]);
    return res.rowCount ?? 0;
  }

  /**
   * Keeps day partitions ready from yesterday to a week ahead and applies retention (events,
   * calls, rollups); the writer calls it at start and hourly. Rows that arrive for a day
   * without a partition are not lost meanwhile: they wait in the default partition and move
   * when the day is created.
   */
  async maintain(): Promise<void> {
    await this.pool.query(
      `SELECT call_events_ensure_days((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + $1::int)`,
      [DAYS_AHEAD],
    );
    if (this.retentionDays > 0) {
      await this.pool.query(`SELECT call_events_drop_before((now() AT TIME ZONE 'UTC')::date - $1::int)`, [this.retentionDays]);
    }
    await applyRetention(this.pool, { calls: this.callRetentionDays, rollups: this.rollupRetentionDays });
  }

  async eventsOfCall(callId: string): Promise<CallEvent[]> {
    const res = await this.pool.query<{ id: string; call_id: string; seq: number; type: CallEvent['type']; at: Date; data: Record<string, unknown> }>(
      'SELECT id, call_id, seq, type, at, data FROM call_events WHERE call_id = $1 ORDER BY seq',
      [callId],
    );
    return res.rows.map((r) => ({ id: r.id, callId: r.call_id, seq: r.seq, type: r.type, at: r.at.toISOString(), data: r.data }));
  }
}
