import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import '../../setup/provided.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { startHotline, type Hotline } from '../../../src/main.ts';

/**
 * The whole app as `hotline start` builds it (src/main.ts), on the run's real Postgres and
 * Redis, with no Asterisk (ARI points nowhere) and an event spool of its own. `env` adds or
 * overrides settings (tokens, JWT secret, rate limits, key prefix).
 */
export async function startTestHotline(name: string, env: Record<string, string>): Promise<{ hotline: Hotline; stop(): Promise<void> }> {
  const spool = await mkdtemp(join(tmpdir(), `${name}-`));
  const config = loadConfig({
    ARI_PASSWORD: 'unused',
    ARI_URL: 'http://127.0.0.1:1',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: inject('redisPrefix'),
    EVENT_SPOOL_DIR: spool,
    ...env,
  });
  const hotline = await startHotline(config, createLogger('silent'));
  return {
    hotline,
    async stop() {
      await hotline.shutdown('test');
      await rm(spool, { recursive: true, force: true });
    },
  };
}
