import type pg from 'pg';

export interface StoredVersion {
  readonly flowId: string;
  readonly version: number;
  readonly body: unknown;
  readonly author: string;
  readonly createdAt: string;
}

export interface FlowStoreState {
  readonly versions: readonly StoredVersion[];
  readonly active: Readonly<Record<string, number>>;
  readonly numbers: Readonly<Record<string, string>>;
}

/** Flow versions, the active pointer and the number map in Postgres. */
export class FlowStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async load(): Promise<FlowStoreState> {
    const [v, a, n] = await Promise.all([
      this.pool.query<{ flow_id: string; version: number; body: unknown; author: string; created_at: Date }>(
        'SELECT flow_id, version, body, author, created_at FROM flow_versions ORDER BY flow_id, version',
      ),
      this.pool.query<{ flow_id: string; version: number }>('SELECT flow_id, version FROM flow_active'),
      this.pool.query<{ number: string; flow_id: string }>('SELECT number, flow_id FROM flow_numbers'),
    ]);
    return {
      versions: v.rows.map((r) => ({ flowId: r.flow_id, version: r.version, body: r.body, author: r.author, createdAt: r.created_at.toISOString() })),
      active: Object.fromEntries(a.rows.map((r) => [r.flow_id, r.version])),
      numbers: Object.fromEntries(n.rows.map((r) => [r.number, r.flow_id])),
    };
  }

  /**
   * Stores a version and makes it active in one transaction. `expectNew` publishes (the
   * version must not exist); otherwise an identical existing version is accepted (seeding
   * from files at every start). Returns false when the version already existed.
   */
  async saveVersion(flowId: string, version: number, body: unknown, author: string, activate: boolean): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const ins = await client.query(
        'INSERT INTO flow_versions (flow_id, version, body, author) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [flowId, version, JSON.stringify(body), author],
      );
      if (activate) {
        await client.query(
          `INSERT INTO flow_active (flow_id, version, changed_by) VALUES ($1, $2, $3)
           ON CONFLICT (flow_id) DO UPDATE SET version = EXCLUDED.version, changed_by = EXCLUDED.changed_by, changed_at = now()`,
          [flowId, version, author],
        );
      }
      await client.query('COMMIT');
      return (ins.rowCount ?? 0) > 0;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async setActive(flowId: string, version: number, author: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO flow_active (flow_id, version, changed_by) VALUES ($1, $2, $3)
       ON CONFLICT (flow_id) DO UPDATE SET version = EXCLUDED.version, changed_by = EXCLUDED.changed_by, changed_at = now()`,
      [flowId, version, author],
    );
  }

  /** Seeds numbers that the database does not know yet; API changes are kept. */
  async seedNumbers(numbers: Readonly<Record<string, string>>, author: string): Promise<void> {
    const entries = Object.entries(numbers);
    if (!entries.length) return;
    await this.pool.query(
      `INSERT INTO flow_numbers (number, flow_id, changed_by)
       SELECT n, f, $3 FROM unnest($1::text[], $2::text[]) AS t(n, f) ON CONFLICT (number) DO NOTHING`,
      [entries.map((e) => e[0]), entries.map((e) => e[1]), author],
    );
  }

  async setNumber(number: string, flowId: string | null, author: string): Promise<void> {
    if (flowId === null) {
      await this.pool.query('DELETE FROM flow_numbers WHERE number = $1', [number]);
      return;
    }
    await this.pool.query(
      `INSERT INTO flow_numbers (number, flow_id, changed_by) VALUES ($1, $2, $3)
       ON CONFLICT (number) DO UPDATE SET flow_id = EXCLUDED.flow_id, changed_by = EXCLUDED.changed_by, changed_at = now()`,
      [number, flowId, author],
    );
  }
}
