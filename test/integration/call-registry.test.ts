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
});
