import type pg from 'pg';
import type { EmergencyEntry } from '../flows/emergency-plan.ts';

/** The numbers in emergency mode and what each had before (migration 009). */
export class EmergencyStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async load(): Promise<EmergencyEntry[]> {
    const res = await this.pool.query<{ number: string; flow_id: string; previous_flow: string | null; reason: string; started_by: string; started_at: Date }>(
      'SELECT number, flow_id, previous_flow, reason, started_by, started_at FROM emergency_numbers ORDER BY number',
    );
    return res.rows.map((r) => ({ number: r.number, flow: r.flow_id, previousFlow: r.previous_flow, reason: r.reason, startedBy: r.started_by, startedAt: r.started_at.toISOString() }));
  }

  /** Upserts entries; a number already stored keeps its remembered previous flow. */
  async save(entries: readonly EmergencyEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.pool.query(
      `INSERT INTO emergency_numbers (number, flow_id, previous_flow, reason, started_by, started_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(number text, flow text, "previousFlow" text, reason text, "startedBy" text, "startedAt" timestamptz)
       ON CONFLICT (number) DO UPDATE SET flow_id = EXCLUDED.flow_id, reason = EXCLUDED.reason`,
      [JSON.stringify(entries)],
    );
  }

  async remove(numbers: readonly string[]): Promise<void> {
    if (numbers.length) await this.pool.query('DELETE FROM emergency_numbers WHERE number = ANY($1::text[])', [numbers]);
  }
}
