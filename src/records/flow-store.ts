import type pg from 'pg';
import { appendAudit, type AuditContext } from './audit-store.ts';
import { DatabaseUnavailableError } from './database-unavailable.ts';
import { FLOW_ACTIVATION_LOCK, inTransaction } from './transaction.ts';

export interface StoredVersion {
  readonly flowId: string;
  readonly version: number;
  readonly body: unknown;
  readonly author: string;
  readonly createdAt: string;
}

/**
 * Run inside an activation's transaction, holding the activation lock, before anything is
 * written; throwing rolls the change back. Publish and rollback re-check the flow there
 * against the live queues, which no queue removal can change until the transaction ends.
 */
export type ActivationCheck = () => Promise<void>;

export interface FlowStoreState {
  readonly versions: readonly StoredVersion[];
  readonly active: Readonly<Record<string, number>>;
  readonly numbers: Readonly<Record<string, string>>;
}

/**
 * Flow versions, the active pointer and the number map in Postgres. A change given an
 * AuditContext (an admin's, through the API) writes its audit row in its own transaction, with
 * the value before read under a row lock: no change without its row, and a "before" that no
 * concurrent change can make wrong.
 */
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
  async saveVersion(flowId: string, version: number, body: unknown, author: string, activate: boolean, audit?: AuditContext, check?: ActivationCheck): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      if (activate) await lockActivations(client, check);
      const before = audit ? await activeVersion(client, flowId) : null;
      const ins = await client.query(
        'INSERT INTO flow_versions (flow_id, version, body, author) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [flowId, version, JSON.stringify(body), author],
      );
      if (activate) await setActive(client, flowId, version, author);
      if (audit) await appendAudit(client, { ...audit, before, after: activate ? version : before });
      return (ins.rowCount ?? 0) > 0;
    });
  }

  async setActive(flowId: string, version: number, author: string, audit?: AuditContext, check?: ActivationCheck): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await lockActivations(client, check);
      const before = audit ? await activeVersion(client, flowId) : null;
      await setActive(client, flowId, version, author);
      if (audit) await appendAudit(client, { ...audit, before, after: version });
    });
  }

  /**
   * Runs `fn` with the active versions as stored, holding the activation lock: no version
   * becomes active, on any instance, until `fn` is done. A queue's removal checks and removes
   * under it, so no flow can start naming a queue between that check and the removal.
   * Postgres failing before `fn` runs is a DatabaseUnavailableError (nothing was checked or
   * changed); `fn`'s own errors pass through as they are.
   */
  async withActiveVersions<T>(fn: (active: readonly StoredVersion[]) => Promise<T>): Promise<T> {
    let ran = false;
    try {
      return await inTransaction(this.pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [FLOW_ACTIVATION_LOCK]);
        const { rows } = await client.query<{ flow_id: string; version: number; body: unknown; author: string; created_at: Date }>(
          `SELECT v.flow_id, v.version, v.body, v.author, v.created_at
           FROM flow_active a JOIN flow_versions v ON v.flow_id = a.flow_id AND v.version = a.version ORDER BY v.flow_id`,
        );
        ran = true;
        return fn(rows.map((r) => ({ flowId: r.flow_id, version: r.version, body: r.body, author: r.author, createdAt: r.created_at.toISOString() })));
      });
    } catch (err) {
      throw ran ? err : new DatabaseUnavailableError(err);
    }
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

  async setNumber(number: string, flowId: string | null, author: string, audit?: AuditContext): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const before = audit ? ((await client.query<{ flow_id: string }>('SELECT flow_id FROM flow_numbers WHERE number = $1 FOR UPDATE', [number])).rows[0]?.flow_id ?? null) : null;
      if (flowId === null) {
        await client.query('DELETE FROM flow_numbers WHERE number = $1', [number]);
      } else {
        await client.query(
          `INSERT INTO flow_numbers (number, flow_id, changed_by) VALUES ($1, $2, $3)
           ON CONFLICT (number) DO UPDATE SET flow_id = EXCLUDED.flow_id, changed_by = EXCLUDED.changed_by, changed_at = now()`,
          [number, flowId, author],
        );
      }
      if (audit) await appendAudit(client, { ...audit, before, after: flowId });
    });
  }
}

/** Takes the activation lock (held until the transaction ends), then runs the caller's check under it. */
async function lockActivations(client: pg.PoolClient, check: ActivationCheck | undefined): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [FLOW_ACTIVATION_LOCK]);
  await check?.();
}

/** The active version, its row locked until the transaction ends (null: none yet). */
async function activeVersion(client: pg.PoolClient, flowId: string): Promise<number | null> {
  const { rows } = await client.query<{ version: number }>('SELECT version FROM flow_active WHERE flow_id = $1 FOR UPDATE', [flowId]);
  return rows[0]?.version ?? null;
}

async function setActive(client: pg.PoolClient, flowId: string, version: number, author: string): Promise<void> {
  await client.query(
    `INSERT INTO flow_active (flow_id, version, changed_by) VALUES ($1, $2, $3)
     ON CONFLICT (flow_id) DO UPDATE SET version = EXCLUDED.version, changed_by = EXCLUDED.changed_by, changed_at = now()`,
    [flowId, version, author],
  );
}
