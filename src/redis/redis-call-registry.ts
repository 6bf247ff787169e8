import type { CallRecordRef, CallRegistry } from '../calls/call-registry.ts';
import type { Redis } from './redis.ts';

/** A day is far longer than any call; the TTL only cleans up after a crash. */
const TTL_SECONDS = 86_400;

export class RedisCallRegistry implements CallRegistry {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private key(channelId: string): string {
    return `${this.prefix}channel:${channelId}`;
  }

  async register(channelId: string, callId: string): Promise<void> {
    await this.redis.multi().hset(this.key(channelId), { callId, seq: 0 }).expire(this.key(channelId), TTL_SECONDS).exec();
  }

  async updateSeq(channelId: string, seq: number): Promise<void> {
    // Only if the call is still registered (a late write must not resurrect a closed call), and
    // only upwards (a seq handed out by nextSeq or claimEnd is not given again).
    await this.redis.eval(
      "local cur = redis.call('HGET', KEYS[1], 'seq') if cur and tonumber(ARGV[1]) > tonumber(cur) then redis.call('HSET', KEYS[1], 'seq', ARGV[1]) end return 1",
      1,
      this.key(channelId),
      String(seq),
    );
  }

  async nextSeq(channelId: string, atLeast: number): Promise<number | 'ended' | null> {
    return (await this.redis.eval(
      "local v = redis.call('HMGET', KEYS[1], 'callId', 'seq', 'ended') if not v[1] then return nil end if v[3] then return 'ended' end local s = math.max((tonumber(v[2]) or 0) + 1, tonumber(ARGV[1])) redis.call('HSET', KEYS[1], 'seq', s) return s",
      1,
      this.key(channelId),
      String(atLeast),
    )) as number | 'ended' | null;
  }

  async claimedAmong(channelIds: readonly string[]): Promise<Set<string>> {
    // Read only, so a pipeline suffices: one round trip whatever the number of calls.
    if (channelIds.length === 0) return new Set();
    const pipe = this.redis.pipeline();
    for (const id of channelIds) pipe.hexists(this.key(id), 'ended');
    const replies = (await pipe.exec()) ?? [];
    const failed = replies.find(([err]) => err)?.[0];
    if (failed) throw failed;
    return new Set(channelIds.filter((_, i) => replies[i]?.[1] === 1));
  }

  async lookup(channelId: string): Promise<CallRecordRef | null> {
    const h = await this.redis.hgetall(this.key(channelId));
    if (!h.callId) return null;
    return { callId: h.callId, seq: Number(h.seq ?? 0) };
  }

  async claimEnd(channelId: string): Promise<CallRecordRef | 'ended' | null> {
    // One step: two instances claiming at once cannot both see the call open. The marked entry
    // stays until its TTL, so a later claim (a restarted owner's reconcile) learns it is closed.
    // The seq moves on to the claimer's call.ended (seq + 1), which nobody else is handed.
    const r = (await this.redis.eval(
      "local v = redis.call('HMGET', KEYS[1], 'callId', 'seq', 'ended') if not v[1] then return nil end if v[3] then return 'ended' end local s = tonumber(v[2]) or 0 redis.call('HSET', KEYS[1], 'ended', '1', 'seq', s + 1) return { v[1], tostring(s) }",
      1,
      this.key(channelId),
    )) as [string, string] | 'ended' | null;
    if (r === null || r === 'ended') return r;
    return { callId: r[0], seq: Number(r[1]) };
  }

  async remove(channelId: string): Promise<void> {
    await this.redis.del(this.key(channelId));
  }
}
