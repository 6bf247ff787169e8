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

  it('hands out each seq once: nextSeq and claimEnd move it on, updateSeq never lowers it, nothing is handed out after the end is claimed', async () => {
    const ch = `ch-${randomUUID()}`;
    await registry.register(ch, 'call-3');
    await registry.updateSeq(ch, 3);
    expect(await Promise.all([registry.nextSeq(ch, 1), registry.nextSeq(ch, 1)])).toEqual([4, 5]);
    // The runner counted further itself (updateSeq lost): it asks for at least its own next.
    expect(await registry.nextSeq(ch, 9)).toBe(9);
    await registry.updateSeq(ch, 6);
    expect(await registry.lookup(ch)).toEqual({ callId: 'call-3', seq: 9 });
    // The claimer records call.ended at 10, which the claim takes for it.
    expect(await registry.claimEnd(ch)).toEqual({ callId: 'call-3', seq: 9 });
    expect(await registry.lookup(ch)).toEqual({ callId: 'call-3', seq: 10 });
    expect(await registry.nextSeq(ch, 1)).toBe('ended');
    await registry.remove(ch);
    expect(await registry.nextSeq(ch, 1)).toBeNull();
  });

  it('tells which of several channels had their end claimed, in one read: not an open call, nor one not registered', async () => {
    const [open, claimed, unknown] = [`ch-${randomUUID()}`, `ch-${randomUUID()}`, `ch-${randomUUID()}`];
    await registry.register(open, 'call-open');
    await registry.register(claimed, 'call-claimed');
    await registry.claimEnd(claimed);
    expect(await registry.claimedAmong([open, claimed, unknown])).toEqual(new Set([claimed]));
    expect(await registry.claimedAmong([])).toEqual(new Set());
  });
});
