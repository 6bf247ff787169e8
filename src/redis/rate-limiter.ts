import type { Redis } from 'ioredis';

/**
 * Counts a hit and reads the window's age in one step, so two instances never both see room
 * for the last request. Fixed windows: simple and exact per window; a client may burst up to
 * twice the limit across a window boundary, which is acceptable for abuse control.
 */
const HIT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`;

export interface RateLimit {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Redis-backed request limits, one counter per caller (a principal's name or an IP). When
 * Redis does not answer within `timeoutMs` the request is let through (and the caller logs
 * it): a Redis outage must not take the API down with it.
 */
export class RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(redis: Redis, prefix: string, timeoutMs = 250) {
    this.redis = redis;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
  }

  async hit(caller: string, rule: RateLimit): Promise<RateDecision> {
    const key = `${this.prefix}ratelimit:${caller}`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('rate limiter: Redis did not answer')), this.timeoutMs);
    });
    try {
      const [count, ttl] = (await Promise.race([this.redis.eval(HIT, 1, key, String(rule.windowMs)), timeout])) as [number, number];
      return count <= rule.limit ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } finally {
      clearTimeout(timer);
    }
  }
}
