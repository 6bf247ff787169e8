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

/** Who is changing what, known before the change: the store that makes it writes the row. */
export type AuditContext = Pick<AuditEntry, 'actor' | 'action' | 'target'>;

/** 'pending': written before a change outside Postgres, not yet known to have been made. */
export type AuditOutcome = 'pending' | 'applied' | 'refused' | 'failed';

export interface StoredAuditEntry extends AuditEntry {
  id: number;
  at: string;
  outcome: AuditOutcome;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/**
 * Appends one row on `db`: a pool, or the client of the transaction that makes the change, so
 * the change and its row commit together or not at all (the one INSERT every writer uses).
 */
export async function appendAudit(db: pg.ClientBase | pg.Pool, e: AuditEntry, outcome: AuditOutcome = 'applied'): Promise<number> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO audit_log (actor, action, target, before, after, outcome) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
    e.actor,
    e.action,
    e.target,
    json(e.before),
    json(e.after),
    outcome,
  ]);
  return Number(rows[0]!.id);
}

/** The audit log in Postgres: appended to; a 'pending' row is completed once, never changed after. */
export class AuditStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async append(e: AuditEntry): Promise<void> {
    await appendAudit(this.pool, e);
  }

  /** Writes a 'pending' row before a change that cannot share a transaction with it; returns its id. */
  async begin(e: Omit<AuditEntry, 'after'>): Promise<number> {
    return appendAudit(this.pool, { ...e, after: null }, 'pending');
  }

  /** Completes a pending row with what the change left behind. */
  async complete(id: number, outcome: Exclude<AuditOutcome, 'pending'>, after: unknown): Promise<void> {
    await this.pool.query("UPDATE audit_log SET outcome = $2, after = $3 WHERE id = $1 AND outcome = 'pending'", [id, outcome, json(after)]);
  }

  /** Newest first; `beforeId` pages back, `action` filters by route. */
  async list(q: { limit: number; beforeId?: number; action?: string }): Promise<StoredAuditEntry[]> {
    const { rows } = await this.pool.query<{ id: string; at: Date; actor: string; action: string; target: string; before: unknown; after: unknown; outcome: AuditOutcome }>(
      `SELECT id, at, actor, action, target, before, after, outcome FROM audit_log
        WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2)
        ORDER BY id DESC LIMIT $3`,
      [q.beforeId ?? null, q.action ?? null, q.limit],
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, before: r.before, after: r.after, outcome: r.outcome }));
  }
}
