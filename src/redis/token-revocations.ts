import type { Redis } from 'ioredis';

/** Where the user's current token version comes from when it is not cached: Postgres (AccessStore). */
export interface TokenVersionSource {
  tokenVersion(userId: string): Promise<number | null>;
}

/** What a login JWT names that revocation checks. */
export interface RevocableToken {
  uid: string;
  ver: number;
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
}

/** Cached versions live this long; a cache write that failed (Redis blip) is stale at most this long. */
const VERSION_CACHE_MS = 60_000;
const GONE = 'gone';

/**
 * Revocable login JWTs. Two mechanisms, because two different things are revoked:
 *
 * - Everything a user holds (deleted, new role, new password): a per-user token version in
 *   Postgres (`users.token_version`, bumped in the same transaction as the change) that every
 *   JWT carries as `ver`. One number per user revokes any number of tokens, survives a Redis
 *   flush, and needs no list of issued tokens. It is cached in Redis so a request costs one
 *   round trip, not a query; the change overwrites the cache right after it commits, and a
 *   reader only fills an empty cache (SET NX), so a reader holding a version read before the
 *   change can never put it back.
 * - One token (logout): a denylist entry by the token's `jti` in Redis that expires with the
 *   token, so the list never holds more than the live tokens logged out. Bumping the version
 *   instead would log the user out everywhere (every browser and wallboard).
 *
 * When Redis does not answer, versions come from Postgres directly and the denylist is not
 * consulted (logged by `onError`): a logged-out token lives at most until its expiry (15 min
 * by default) during a Redis outage, rather than every person being locked out.
 */
export class TokenRevocations {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly versions: TokenVersionSource;
  private readonly onError: (err: Error) => void;

  constructor(redis: Redis, prefix: string, versions: TokenVersionSource, onError: (err: Error) => void = () => undefined) {
    this.redis = redis;
    this.prefix = prefix;
    this.versions = versions;
    this.onError = onError;
  }

  /** True when the token has not been logged out and its user still exists at the version it carries. */
  async isCurrent(t: RevocableToken): Promise<boolean> {
    let cached: string | null = null;
    try {
      const [denied, version] = await this.redis.mget(this.deniedKey(t.jti), this.versionKey(t.uid));
      if (denied !== null) return false;
      cached = version ?? null;
    } catch (err) {
      this.onError(err as Error);
      const v = await this.versions.tokenVersion(t.uid);
      return v !== null && v === t.ver;
    }
    if (cached === null) {
      const v = await this.versions.tokenVersion(t.uid);
      cached = v === null ? GONE : String(v);
      await this.redis.set(this.versionKey(t.uid), cached, 'PX', VERSION_CACHE_MS, 'NX').catch((err: Error) => this.onError(err));
    }
    return cached !== GONE && Number(cached) === t.ver;
  }

  /** Logout: this token only, until it would have expired anyway. */
  async revoke(t: RevocableToken, nowMs: number): Promise<void> {
    const ttl = t.exp * 1000 - nowMs;
    if (ttl > 0) await this.redis.set(this.deniedKey(t.jti), '1', 'PX', ttl);
  }

  /** After a user change committed: the new version (null: the user was deleted) replaces the cached one. */
  async userChanged(userId: string, version: number | null): Promise<void> {
    await this.redis.set(this.versionKey(userId), version === null ? GONE : String(version), 'PX', VERSION_CACHE_MS).catch(async (err: Error) => {
      this.onError(err);
      await this.redis.del(this.versionKey(userId)).catch(() => 0);
    });
  }

  private deniedKey(jti: string): string {
    return `${this.prefix}access:jwt:revoked:${jti}`;
  }

  private versionKey(userId: string): string {
    return `${this.prefix}access:user:${userId}:token-version`;
  }
}
