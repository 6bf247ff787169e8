import type pg from 'pg';

export interface AuditEntry {
  actor: string;
  /** The route that made the change, `METHOD /path/:param`. */
  action: string;
  /** What it changed: the route's parameters, e.g. `number=5000`. */
  target: string;
  before: unknown;
  after: unknown;
}

export interface StoredAuditEntry extends AuditEntry {
  id: number;
  at: string;
}

/** The audit log in Postgres: appended to, never updated. */
export class AuditStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async append(e: AuditEntry): Promise<void> {
    await this.pool.query('INSERT INTO audit_log (actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5)', [
      e.actor,
      e.action,
      e.target,
      e.before === undefined ? null : JSON.stringify(e.before),
      e.after === undefined ? null : JSON.stringify(e.after),
    ]);
  }

  /** Newest first; `beforeId` pages back, `action` filters by route. */
  async list(q: { limit: number; beforeId?: number; action?: string }): Promise<StoredAuditEntry[]> {
    const { rows } = await this.pool.query<{ id: string; at: Date; actor: string; action: string; target: string; before: unknown; after: unknown }>(
      `SELECT id, at, actor, action, target, before, after FROM audit_log
        WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2)
        ORDER BY id DESC LIMIT $3`,
      [q.beforeId ?? null, q.action ?? null, q.limit],
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, before: r.before, after: r.after }));
  }
}
