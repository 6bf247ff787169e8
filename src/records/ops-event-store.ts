import type pg from 'pg';
import type { OpsEvent } from '../domain/ops-event.ts';

/** Inserts a JSON array of ops events ($1), skipping those already stored. Shared with AgentIntervalSink. */
export const INSERT_OPS_EVENTS_SQL = `INSERT INTO ops_events (id, type, at, subject, data)
       SELECT id, type, at, subject, coalesce(data, '{}'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, type text, at timestamptz, subject text, data jsonb)
       ON CONFLICT (id) DO NOTHING`;

/** Writes ops events (agent state, routing config changes); idempotent on the event id. */
export class OpsEventStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async insertBatch(events: readonly OpsEvent[]): Promise<number> {
    return events.length ? this.insertJson(JSON.stringify(events)) : 0;
  }

  /** Inserts a JSON array of ops events as one statement (see EventStore.insertJson). */
  async insertJson(events: string): Promise<number> {
    const res = await this.pool.query(INSERT_OPS_EVENTS_SQL, [events]);
    return res.rowCount ?? 0;
  }

  /** One subject's events in time order (e.g. `agent:agent1001`). */
  async eventsOf(subject: string): Promise<OpsEvent[]> {
    const res = await this.pool.query<{ id: string; type: OpsEvent['type']; at: Date; subject: string; data: Record<string, unknown> }>(
      'SELECT id, type, at, subject, data FROM ops_events WHERE subject = $1 ORDER BY at, recorded_at, id',
      [subject],
    );
    return res.rows.map((r) => ({ id: r.id, type: r.type, at: r.at.toISOString(), subject: r.subject, data: r.data }));
  }
}
