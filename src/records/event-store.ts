import type pg from 'pg';
import type { CallEvent } from '../domain/call-event.ts';

/** Writes events; idempotent on the event id so a retried batch never duplicates. */
export class EventStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
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
    const res = await this.pool.query(
      `INSERT INTO call_events (id, call_id, seq, type, at, data)
       SELECT id, "callId", seq, type, at, coalesce(data, '{}'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "callId" uuid, seq int, type text, at timestamptz, data jsonb)
       ON CONFLICT (id) DO NOTHING`,
      [events],
    );
    return res.rowCount ?? 0;
  }

  async eventsOfCall(callId: string): Promise<CallEvent[]> {
    const res = await this.pool.query<{ id: string; call_id: string; seq: number; type: CallEvent['type']; at: Date; data: Record<string, unknown> }>(
      'SELECT id, call_id, seq, type, at, data FROM call_events WHERE call_id = $1 ORDER BY seq',
      [callId],
    );
    return res.rows.map((r) => ({ id: r.id, callId: r.call_id, seq: r.seq, type: r.type, at: r.at.toISOString(), data: r.data }));
  }
}
