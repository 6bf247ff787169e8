import { Redis } from 'ioredis';

export type { Redis };

/**
 * One ioredis connection. It retries forever with a capped delay: a Redis restart makes
 * /ready false for a while, never a crash.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
}
