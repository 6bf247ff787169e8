import type pg from 'pg';
import type { OpsEvent } from '../domain/ops-event.ts';

/** Writes ops events (agent state, routing config changes); idempotent on the event id. */
export class OpsEventStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async insertBatch(events: readonly OpsEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const res = await this.pool.query(
      `INSERT INTO ops_events (id, type, at, subject, data)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::jsonb[])
       ON CONFLICT (id) DO NOTHING`,
      [events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.at), events.map((e) => e.subject), events.map((e) => JSON.stringify(e.data))],
    );
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
