import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { newApiKey } from '../../src/access/api-key.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { createLogger } from '../../src/log/logger.ts';
import { AccessStore } from '../../src/records/access-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { RateLimiter } from '../../src/redis/rate-limiter.ts';
import { createRedis } from '../../src/redis/redis.ts';

const A = 'admin-token-rate-limit-test-a';
const B = 'admin-token-rate-limit-test-b';

describe('rate limits per principal and per IP (real Redis, two app instances)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  const redis = createRedis(inject('redisUrl'));
  const prefix = `${inject('redisPrefix')}rl-${randomUUID().slice(0, 8)}:`;
  const build = () =>
    buildApp({
      logger: createLogger('silent'),
      readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
      access: {
        store: new AccessStore(pool),
        auth: new TokenAuth(`admin:${A},admin:${B}`, { keys: new AccessStore(pool) }),
        limits: { limiter: new RateLimiter(redis, prefix), perPrincipal: { limit: 3, windowMs: 60_000 }, perIp: { limit: 2, windowMs: 60_000 } },
      },
    });
  let one: Awaited<ReturnType<typeof build>>;
  let two: Awaited<ReturnType<typeof build>>;

  beforeAll(async () => {
    await migrate(pool);
    [one, two] = await Promise.all([build(), build()]);
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await pool.end();
  });

  it('a principal gets its limit across instances, then 429 rate_limited with Retry-After; another principal is unaffected', async () => {
    const as = (app: typeof one, token: string) => app.inject({ url: '/keys', headers: { authorization: `Bearer ${token}` } });
    expect((await as(one, A)).statusCode).toBe(200);
    expect((await as(two, A)).statusCode).toBe(200);
    expect((await as(one, A)).statusCode).toBe(200);
    const limited = await as(two, A);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toBe('rate_limited');
    const retry = Number(limited.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect((await as(one, B)).statusCode).toBe(200);
  });

  it('two stored keys with the same name count separately (per key id)', async () => {
    const store = new AccessStore(pool);
    const name = `same-${randomUUID().slice(0, 8)}`;
    const [k1, k2] = [newApiKey(), newApiKey()];
    for (const k of [k1, k2]) await store.createKey({ name, role: 'admin', agentId: null, digest: k.digest, createdBy: 'test', expiresAt: null });
    const as = (key: string) => one.inject({ url: '/keys', headers: { authorization: `Bearer ${key}` } });
    for (let i = 0; i < 3; i++) expect((await as(k1.key)).statusCode).toBe(200);
    expect((await as(k1.key)).statusCode).toBe(429);
    expect((await as(k2.key)).statusCode).toBe(200);
  });

  it('requests without valid credentials are limited per IP (login included), each IP on its own', async () => {
    const bad = (ip: string) => one.inject({ url: '/keys', remoteAddress: ip, headers: { authorization: 'Bearer guessed-token-0000000' } });
    expect((await bad('10.9.0.1')).statusCode).toBe(401);
    expect((await bad('10.9.0.1')).statusCode).toBe(401);
    expect((await bad('10.9.0.1')).statusCode).toBe(429);
    const login = await two.inject({ method: 'POST', url: '/auth/login', remoteAddress: '10.9.0.1', payload: { username: 'x', password: 'y' } });
    expect(login.statusCode).toBe(429);
    expect((await bad('10.9.0.2')).statusCode).toBe(401);
    // Health checks are never limited.
    expect((await one.inject({ url: '/health', remoteAddress: '10.9.0.1' })).statusCode).toBe(200);
  });
});
