import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log/logger.ts';

function app(over: Partial<{ ari: boolean; postgres: boolean; redis: boolean; migrated: boolean }> = {}) {
  const s = { ari: true, postgres: true, redis: true, migrated: true, ...over };
  return buildApp({
    logger: createLogger('silent'),
    readiness: { ari: () => s.ari, postgres: async () => s.postgres, redis: async () => s.redis, migrated: () => s.migrated },
  });
}

describe('HTTP', () => {
  it('GET /health answers while dependencies are down', async () => {
    const a = await app({ ari: false, postgres: false });
    const res = await a.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /ready is 200 only when every check passes, and names the failing one', async () => {
    expect((await (await app()).inject({ url: '/ready' })).statusCode).toBe(200);
    const res = await (await app({ postgres: false })).inject({ url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, checks: { ari: true, postgres: false, redis: true, migrations: true } });
  });

  it('answers unknown routes with a stable error id', async () => {
    const res = await (await app()).inject({ url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found', message: 'no such route' });
  });
});
