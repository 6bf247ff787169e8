import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyDigest } from '../access/api-key.ts';
import { verifyJwt } from '../access/jwt.ts';
import type { ApiKeyInfo } from '../records/access-store.ts';
import type { RevocableToken } from '../redis/token-revocations.ts';

export type Role = 'admin' | 'supervisor' | 'agent';

/** Who made a request: an env token, an API key (`key:<name>`) or a user (`user:<name>`); agents carry their agentId. */
export interface Principal {
  role: Role;
  name: string;
  agentId?: string;
  /** A stored key's id: key names need not be unique, so limits count per id. */
  keyId?: string;
  /** A login JWT's user and token: what logout revokes and a password change checks. */
  session?: RevocableToken;
}

/** Why a bearer was refused: absent/unknown, or known but past its expiry (or revoked). */
export type Identified = { ok: true; principal: Principal } | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

export interface AccessOptions {
  /** Stored API keys by digest; absent → only API_TOKENS and JWTs. */
  keys?: { keyByDigest(digest: Buffer): Promise<ApiKeyInfo | null> };
  /** HS256 secret of login JWTs; null → JWTs are not accepted (and login is off). */
  jwtSecret?: string | null;
  /** Logged-out tokens and users' token versions (src/redis/token-revocations.ts); absent → JWTs live until expiry (tests only). */
  revocations?: { isCurrent(t: RevocableToken): Promise<boolean> };
  now?: () => number;
}

/**
 * Bearer credentials, three kinds: tokens from the environment (API_TOKENS="admin:<token>,…",
 * kept as SHA-256 digests, compared in constant time), API keys stored hashed in Postgres
 * (`hk_…`), and login JWTs (three dot-separated parts). With none configured every protected
 * route answers 401: secure by default.
 */
export class TokenAuth {
  private readonly tokens: Array<{ digest: Buffer; role: Role; name: string }>;
  private readonly options: AccessOptions;

  constructor(spec: string, options: AccessOptions = {}) {
    this.options = options;
    this.tokens = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((pair, i) => {
        const m = /^(admin|supervisor|agent):(.{16,})$/.exec(pair);
        if (!m) throw new Error(`API_TOKENS entry ${i + 1} is not role:token with a token of 16+ characters`);
        return { role: m[1] as Role, digest: digest(m[2]!), name: `${m[1]}#${i + 1}` };
      });
  }

  get jwtSecret(): string | null {
    return this.options.jwtSecret ?? null;
  }

  /** The principal behind an `Authorization: Bearer …` header, or null. */
  async identify(header: string | undefined): Promise<Principal | null> {
    const r = await this.check(header);
    return r.ok ? r.principal : null;
  }

  async check(header: string | undefined): Promise<Identified> {
    const m = /^Bearer (\S+)$/.exec(header ?? '');
    if (!m) return { ok: false, reason: 'missing' };
    const token = m[1]!;
    const now = (this.options.now ?? Date.now)();
    if (token.startsWith('hk_') && this.options.keys) {
      const key = await this.options.keys.keyByDigest(apiKeyDigest(token));
      if (!key) return { ok: false, reason: 'invalid' };
      if (key.revokedAt || (key.expiresAt && Date.parse(key.expiresAt) <= now)) return { ok: false, reason: 'expired' };
      return { ok: true, principal: { role: key.role, name: `key:${key.name}`, keyId: key.id, ...(key.agentId ? { agentId: key.agentId } : {}) } };
    }
    if (token.split('.').length === 3 && this.options.jwtSecret) {
      const v = verifyJwt(token, this.options.jwtSecret, Math.floor(now / 1000));
      if (!v.ok) return { ok: false, reason: v.reason === 'expired' ? 'expired' : 'invalid' };
      const { sub, role, agentId, uid, ver, jti, exp } = v.claims;
      // Logged out, or the user deleted or changed since it was issued: answered like an expired token (renew by logging in).
      if (this.options.revocations && !(await this.options.revocations.isCurrent({ uid, ver, jti, exp }))) return { ok: false, reason: 'expired' };
      return { ok: true, principal: { role, name: `user:${sub}`, ...(agentId ? { agentId } : {}), session: { uid, ver, jti, exp } } };
    }
    const d = digest(token);
    const hit = this.tokens.find((t) => timingSafeEqual(t.digest, d));
    return hit ? { ok: true, principal: { role: hit.role, name: hit.name } } : { ok: false, reason: 'invalid' };
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The 401 body for a refused bearer: expired credentials get their own error id so clients know to renew. */
export function unauthorized(reply: FastifyReply, reason: 'missing' | 'invalid' | 'expired') {
  return reason === 'expired'
    ? reply.status(401).send({ error: 'credentials_expired', message: 'the credentials have expired or were revoked' })
    : reply.status(401).send({ error: 'unauthorized', message: 'missing or invalid bearer token' });
}

/** A preHandler that lets only the given roles through: 401 without valid credentials, 403 for another role. */
export function requireRole(auth: TokenAuth, roles: readonly Role[]) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    // The access guard has usually identified the caller already (one key lookup per request).
    const who: Identified = req.principal ? { ok: true, principal: req.principal } : await auth.check(req.headers.authorization);
    if (!who.ok) return unauthorized(reply, who.reason);
    if (!roles.includes(who.principal.role)) return reply.status(403).send({ error: 'forbidden', message: `role ${who.principal.role} may not do this` });
    req.principal = who.principal;
  };
}

/** For routes an agent may use on itself only: true for admins and supervisors, and for an agent bound to `agentId`. */
export function mayActOnAgent(principal: Principal | undefined, agentId: string): boolean {
  if (!principal) return false;
  return principal.role !== 'agent' || principal.agentId === agentId;
}
