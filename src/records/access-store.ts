import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { appendAudit, type AuditContext } from './audit-store.ts';
import { inTransaction } from './transaction.ts';

export type AccessRole = 'admin' | 'supervisor' | 'agent';

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: AccessRole;
  agentId: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface UserInfo {
  id: string;
  username: string;
  role: AccessRole;
  agentId: string | null;
  /** Bumped by every role or password change: a JWT carrying an older one is refused. */
  tokenVersion: number;
}

export interface UserRow extends UserInfo {
  passwordHash: string;
}

/** Why a user change was not made. */
export type UserRefusal = 'user_not_found' | 'last_admin';

interface KeyRow {
  id: string;
  name: string;
  role: AccessRole;
  agent_id: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

interface DbUser {
  id: string;
  username: string;
  role: AccessRole;
  agent_id: string | null;
  token_version: number;
  password_hash: string;
}

const KEY_COLUMNS = 'id, name, role, agent_id, created_by, created_at, expires_at, revoked_at';
const USER_COLUMNS = 'id, username, role, agent_id, token_version, password_hash';

/**
 * API keys (by digest) and users in Postgres; hashing happens in src/access, never here. Every
 * change given an AuditContext writes its audit row (before and after, never a digest or a
 * password hash) in the change's own transaction: no change without its row, no row without
 * the change. Without one (test set-up) nothing is audited.
 */
export class AccessStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async createKey(k: { name: string; role: AccessRole; agentId: string | null; digest: Buffer; createdBy: string; expiresAt: Date | null }, audit?: AuditContext): Promise<ApiKeyInfo> {
    return this.audited<ApiKeyInfo>(audit, async (c) => {
      const { rows } = await c.query<KeyRow>(
        `INSERT INTO api_keys (id, name, role, agent_id, key_digest, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`,
        [randomUUID(), k.name, k.role, k.agentId, k.digest, k.createdBy, k.expiresAt],
      );
      const info = keyInfo(rows[0]!);
      return { result: info, before: null, after: info };
    });
  }

  /** The key with this digest, revoked or expired ones included (the caller tells them apart). */
  async keyByDigest(digest: Buffer): Promise<ApiKeyInfo | null> {
    const { rows } = await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_digest = $1`, [digest]);
    return rows[0] ? keyInfo(rows[0]) : null;
  }

  async keyById(id: string): Promise<ApiKeyInfo | null> {
    const { rows } = await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? keyInfo(rows[0]) : null;
  }

  async listKeys(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`);
    return rows.map(keyInfo);
  }

  /** Marks the key revoked; returns it as it was before, or null when there is no such live key. */
  async revokeKey(id: string, audit?: AuditContext): Promise<ApiKeyInfo | null> {
    return this.audited(audit, async (c) => {
      const { rows } = await c.query<KeyRow>(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING ${KEY_COLUMNS}`, [id]);
      if (!rows[0]) return null;
      const after = keyInfo(rows[0]);
      return { result: { ...after, revokedAt: null }, before: { ...after, revokedAt: null }, after };
    });
  }

  /** Null when the username is taken. */
  async createUser(u: { username: string; role: AccessRole; agentId: string | null; passwordHash: string; createdBy: string }, audit?: AuditContext): Promise<Omit<UserInfo, 'tokenVersion'> | null> {
    return this.audited(audit, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        'INSERT INTO users (id, username, role, agent_id, password_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING id',
        [randomUUID(), u.username, u.role, u.agentId, u.passwordHash, u.createdBy],
      );
      if (!rows[0]) return null;
      const user = { id: rows[0].id, username: u.username, role: u.role, agentId: u.agentId };
      return { result: user, before: null, after: user };
    });
  }

  async userByName(username: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query<DbUser>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [username]);
    return rows[0] ? userRow(rows[0]) : null;
  }

  async listUsers(): Promise<UserInfo[]> {
    const { rows } = await this.pool.query<DbUser>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`);
    return rows.map((r) => userInfo(userRow(r)));
  }

  /** The user's current token version, or null when the user no longer exists. */
  async tokenVersion(userId: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ token_version: number }>('SELECT token_version FROM users WHERE id = $1', [userId]);
    return rows[0]?.token_version ?? null;
  }

  /** Deletes the user (their JWTs die with the row); the last admin user is kept. */
  async deleteUser(username: string, audit?: AuditContext): Promise<UserInfo | UserRefusal> {
    return this.audited(audit, async (c) => {
      const found = await this.lockForAdminChange(c, username);
      if (typeof found === 'string') return found;
      if (found.lastAdmin) return 'last_admin';
      await c.query('DELETE FROM users WHERE id = $1', [found.user.id]);
      return { result: found.user, before: found.user, after: null };
    });
  }

  /** A new role (and agent binding); every earlier JWT of the user is refused after it. The last admin user stays admin. */
  async setRole(username: string, role: AccessRole, agentId: string | null, audit?: AuditContext): Promise<UserInfo | UserRefusal> {
    return this.audited(audit, async (c) => {
      const found = await this.lockForAdminChange(c, username);
      if (typeof found === 'string') return found;
      if (found.lastAdmin && role !== 'admin') return 'last_admin';
      const { rows } = await c.query<DbUser>(`UPDATE users SET role = $2, agent_id = $3, token_version = token_version + 1 WHERE id = $1 RETURNING ${USER_COLUMNS}`, [found.user.id, role, agentId]);
      const after = userInfo(userRow(rows[0]!));
      return { result: after, before: found.user, after };
    });
  }

  /** A new password hash; every earlier JWT of the user is refused after it. */
  async setPassword(username: string, passwordHash: string, audit?: AuditContext): Promise<UserInfo | 'user_not_found'> {
    return this.audited(audit, async (c) => {
      const { rows: old } = await c.query<DbUser>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1 FOR UPDATE`, [username]);
      if (!old[0]) return 'user_not_found' as const;
      const { rows } = await c.query<DbUser>(`UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1 RETURNING ${USER_COLUMNS}`, [old[0].id, passwordHash]);
      // The audit row says the password changed (the version moved), never what it is.
      const after = userInfo(userRow(rows[0]!));
      return { result: after, before: userInfo(userRow(old[0])), after: { ...after, passwordChanged: true } };
    });
  }

  /**
   * Locks every admin row (in id order, so two such changes never wait on each other in a
   * circle), then the target: a concurrent change to another admin waits, then sees this one,
   * so two admins demoting each other at once cannot leave none.
   */
  private async lockForAdminChange(c: pg.PoolClient, username: string): Promise<{ user: UserInfo; lastAdmin: boolean } | 'user_not_found'> {
    const { rows: admins } = await c.query<{ id: string }>("SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE");
    const { rows } = await c.query<DbUser>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1 FOR UPDATE`, [username]);
    if (!rows[0]) return 'user_not_found';
    const user = userInfo(userRow(rows[0]));
    return { user, lastAdmin: user.role === 'admin' && admins.length === 1 };
  }

  /**
   * Runs a change in one transaction with its audit row. `fn` answers a bare value when it
   * changed nothing (no row then), or the result with the state before and after.
   */
  private async audited<T, R extends string | null = never>(
    audit: AuditContext | undefined,
    fn: (c: pg.PoolClient) => Promise<{ result: T; before: unknown; after: unknown } | R>,
  ): Promise<T | R> {
    return inTransaction(this.pool, async (c) => {
      const r = await fn(c);
      if (r === null || typeof r === 'string') return r;
      if (audit) await appendAudit(c, { ...audit, before: r.before, after: r.after });
      return r.result;
    });
  }
}

function userRow(r: DbUser): UserRow {
  return { id: r.id, username: r.username, role: r.role, agentId: r.agent_id, tokenVersion: r.token_version, passwordHash: r.password_hash };
}

/** A user without the password hash: what answers and audit rows show. */
export function userInfo(u: UserRow): UserInfo {
  return { id: u.id, username: u.username, role: u.role, agentId: u.agentId, tokenVersion: u.tokenVersion };
}

function keyInfo(r: KeyRow): ApiKeyInfo {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    agentId: r.agent_id,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}
