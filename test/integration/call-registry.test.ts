import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { RedisCallRegistry } from '../../src/redis/redis-call-registry.ts';

describe('call registry on real Redis', () => {
  const redis = new Redis(inject('redisUrl'));
  const registry = new RedisCallRegistry(redis, inject('redisPrefix'));
  afterAll(() => redis.quit());

  it('keeps call id and seq per channel, and never resurrects a removed call', async () => {
    await registry.register('ch-1', 'call-1');
    await registry.updateSeq('ch-1', 7);
    expect(await registry.lookup('ch-1')).toEqual({ callId: 'call-1', seq: 7 });
    expect(await redis.ttl(`${inject('redisPrefix')}channel:ch-1`)).toBeGreaterThan(0);
    await registry.remove('ch-1');
    await registry.updateSeq('ch-1', 8);
    expect(await registry.lookup('ch-1')).toBeNull();
  });

  it('gives the end of a call to one claim only, and none once the call is removed', async () => {
    const ch = `ch-${randomUUID()}`;
    await registry.register(ch, 'call-2');
    await registry.updateSeq(ch, 3);
    const claims = await Promise.all([registry.claimEnd(ch), registry.claimEnd(ch)]);
    expect(claims).toContainEqual({ callId: 'call-2', seq: 3 });
    expect(claims).toContain('ended');
    expect(await registry.claimEnd(ch)).toBe('ended');
    await registry.remove(ch);
    expect(await registry.claimEnd(ch)).toBeNull();
  });
});
