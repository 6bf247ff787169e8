import { randomUUID } from 'node:crypto';
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

/**
 * 'pending': written before a change outside Postgres, not yet known to have been made.
 * 'interrupted': still pending when the process making the change stopped (its writer went
 * without a beat for AUDIT_STALE_AFTER_MS): the change may or may not have been made.
 */
export type AuditOutcome = 'pending' | 'applied' | 'refused' | 'failed' | 'interrupted';

/**
 * How long a writer may go without a beat before its pending rows are resolved as
 * 'interrupted'. Six beats (AUDIT_BEAT_MS): a beat or two lost to a slow Postgres do not count,
 * and a crashed instance's rows are resolved within a few minutes.
 */
export const AUDIT_STALE_AFTER_MS = 120_000;

export interface StoredAuditEntry extends AuditEntry {
  id: number;
  at: string;
  outcome: AuditOutcome;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/**
 * Appends one row on `db`: a pool, or the client of the transaction that makes the change, so
 * the change and its row commit together or not at all (the one INSERT every writer uses). A
 * 'pending' row names its `writer` (AuditStore.begin).
 */
export async function appendAudit(db: pg.ClientBase | pg.Pool, e: AuditEntry, outcome: AuditOutcome = 'applied', writer: string | null = null): Promise<number> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO audit_log (actor, action, target, before, after, outcome, writer) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id', [
    e.actor,
    e.action,
    e.target,
    json(e.before),
    json(e.after),
    outcome,
    writer,
  ]);
  return Number(rows[0]!.id);
}

/**
 * The audit log in Postgres: appended to; a 'pending' row is completed once, or resolved as
 * 'interrupted' when its writer stops beating first. Each store is one writer: its pending rows
 * name it, and beat() says it is still running (audit_writers), so a sweep on any instance
 * resolves the rows of a writer that is gone and never those of one still making its change.
 */
export class AuditStore {
  private readonly pool: pg.Pool;
  /** Random per process start: a restarted instance is a new writer, and its old one goes stale. */
  readonly writer = randomUUID();

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async append(e: AuditEntry): Promise<void> {
    await appendAudit(this.pool, e);
  }

  /**
   * Writes a 'pending' row, naming this writer, before a change that cannot share a transaction
   * with it; returns its id. The writer beats first, so no sweep sees the row without a fresh
   * beat (a request may come before the first timed one).
   */
  async begin(e: Omit<AuditEntry, 'after'>): Promise<number> {
    await this.beat();
    return appendAudit(this.pool, { ...e, after: null }, 'pending', this.writer);
  }

  /**
   * Completes a pending row with what the change left behind. An 'interrupted' row is completed
   * too: its writer was cut off from Postgres for longer than AUDIT_STALE_AFTER_MS but its
   * request went on, and what it did beats a guess.
   */
  async complete(id: number, outcome: Exclude<AuditOutcome, 'pending' | 'interrupted'>, after: unknown): Promise<void> {
    await this.pool.query("UPDATE audit_log SET outcome = $2, after = $3 WHERE id = $1 AND outcome IN ('pending', 'interrupted')", [id, outcome, json(after)]);
  }

  /** Says this writer is still running: its pending rows are changes still being made. */
  async beat(): Promise<void> {
    await this.pool.query('INSERT INTO audit_writers (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()', [this.writer]);
  }

  /**
   * Resolves as 'interrupted' every pending row whose writer has not beaten for `staleAfterMs`
   * (or has no beat at all: a row from before migration 015 counts by its own age), forgetting
   * those writers; returns how many rows. One statement: instances sweeping at once resolve each
   * row once, and a row completed meanwhile keeps its outcome.
   */
  async resolveInterrupted(staleAfterMs = AUDIT_STALE_AFTER_MS): Promise<number> {
    const res = await this.pool.query(
      `WITH forgotten AS (DELETE FROM audit_writers WHERE seen_at < now() - $1 * interval '1 millisecond')
       UPDATE audit_log a SET outcome = 'interrupted'
        WHERE a.outcome = 'pending'
          AND NOT EXISTS (SELECT 1 FROM audit_writers w WHERE w.id = a.writer AND w.seen_at >= now() - $1 * interval '1 millisecond')
          AND (a.writer IS NOT NULL OR a.at < now() - $1 * interval '1 millisecond')`,
      [staleAfterMs],
    );
    return res.rowCount ?? 0;
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
