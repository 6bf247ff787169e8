import type pg from 'pg';
import type { CallEvent } from '../domain/call-event.ts';

/** Writes events; idempotent on the event id so a retried batch never duplicates. */
export class EventStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async insertBatch(events: readonly CallEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    // One multi-row INSERT via unnest: one round trip and one plan whatever the batch size.
    const res = await this.pool.query(
      `INSERT INTO call_events (id, call_id, seq, type, at, data)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::timestamptz[], $6::jsonb[])
       ON CONFLICT (id) DO NOTHING`,
      [
        events.map((e) => e.id),
        events.map((e) => e.callId),
        events.map((e) => e.seq),
        events.map((e) => e.type),
        events.map((e) => e.at),
        events.map((e) => JSON.stringify(e.data)),
      ],
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
