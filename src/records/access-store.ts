import { randomUUID } from 'node:crypto';
import type pg from 'pg';

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

export interface UserRow {
  id: string;
  username: string;
  role: AccessRole;
  agentId: string | null;
  passwordHash: string;
}

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

const KEY_COLUMNS = 'id, name, role, agent_id, created_by, created_at, expires_at, revoked_at';

/** API keys (by digest) and users in Postgres; hashing happens in src/access, never here. */
export class AccessStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async createKey(k: { name: string; role: AccessRole; agentId: string | null; digest: Buffer; createdBy: string; expiresAt: Date | null }): Promise<ApiKeyInfo> {
    const { rows } = await this.pool.query<KeyRow>(
      `INSERT INTO api_keys (id, name, role, agent_id, key_digest, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`,
      [randomUUID(), k.name, k.role, k.agentId, k.digest, k.createdBy, k.expiresAt],
    );
    return keyInfo(rows[0]!);
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
  async revokeKey(id: string): Promise<ApiKeyInfo | null> {
    const { rows } = await this.pool.query<KeyRow>(
      `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING ${KEY_COLUMNS}`,
      [id],
    );
    return rows[0] ? { ...keyInfo(rows[0]), revokedAt: null } : null;
  }

  /** Null when the username is taken. */
  async createUser(u: { username: string; role: AccessRole; agentId: string | null; passwordHash: string; createdBy: string }): Promise<Omit<UserRow, 'passwordHash'> | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      'INSERT INTO users (id, username, role, agent_id, password_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING id',
      [randomUUID(), u.username, u.role, u.agentId, u.passwordHash, u.createdBy],
    );
    return rows[0] ? { id: rows[0].id, username: u.username, role: u.role, agentId: u.agentId } : null;
  }

  async userByName(username: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query<{ id: string; username: string; role: AccessRole; agent_id: string | null; password_hash: string }>(
      'SELECT id, username, role, agent_id, password_hash FROM users WHERE username = $1',
      [username],
    );
    const r = rows[0];
    return r ? { id: r.id, username: r.username, role: r.role, agentId: r.agent_id, passwordHash: r.password_hash } : null;
  }
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
