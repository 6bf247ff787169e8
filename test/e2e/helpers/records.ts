import pg from 'pg';
import { inject } from 'vitest';
import '../../setup/provided.ts';
import { waitFor } from './hotline-process.ts';

export interface Row {
  call_id: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/** Reads call events from the run's own database. */
export class Records {
  private readonly pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });

  async eventsOfCaller(caller: string): Promise<Row[]> {
    const res = await this.pool.query<Row>(
      `SELECT call_id, seq, type, data FROM call_events
        WHERE call_id IN (SELECT call_id FROM call_events WHERE type = 'call.started' AND data->>'caller' = $1)
        ORDER BY call_id, seq`,
      [caller],
    );
    return res.rows;
  }

  async eventsOfCall(callId: string): Promise<Row[]> {
    const res = await this.pool.query<Row>('SELECT call_id, seq, type, data FROM call_events WHERE call_id = $1 ORDER BY seq', [callId]);
    return res.rows;
  }

  /** Waits until the caller's call has a call.ended event and returns all its events. */
  async endedCallOf(caller: string, timeoutMs = 20_000): Promise<Row[]> {
    let rows: Row[] = [];
    await waitFor(
      async () => {
        rows = await this.eventsOfCaller(caller);
        return rows.some((r) => r.type === 'call.ended');
      },
      timeoutMs,
      () => `no call.ended for caller ${caller}; events so far: ${JSON.stringify(rows)}`,
    );
    return rows;
  }

  /** The record of the callback made for `originalCallId` (a call of its own), in order. */
  async callbackOf(originalCallId: string): Promise<Row[]> {
    const res = await this.pool.query<Row>(
      `SELECT call_id, seq, type, data FROM call_events
        WHERE call_id IN (SELECT call_id FROM call_events WHERE type = 'call.started' AND data->>'originalCallId' = $1)
        ORDER BY seq`,
      [originalCallId],
    );
    return res.rows;
  }

  /** Ops events (agent.state_changed, routing config changes) about `subject`, e.g. `agent:agent1001`. */
  async opsEventsOf(subject: string): Promise<Array<{ type: string; at: Date; data: Record<string, unknown> }>> {
    const res = await this.pool.query<{ type: string; at: Date; data: Record<string, unknown> }>(
      'SELECT type, at, data FROM ops_events WHERE subject = $1 ORDER BY at, recorded_at',
      [subject],
    );
    return res.rows;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
