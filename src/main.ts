import { defaultPrompts } from './calls/call-flow.ts';
import { systemClock } from './calls/call-runner.ts';
import { Dispatcher } from './calls/dispatcher.ts';
import type { Config } from './config/config.ts';
import { buildApp } from './http/app.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { createPool, pingPostgres } from './records/db.ts';
import { EventStore } from './records/event-store.ts';
import { EventWriter } from './records/event-writer.ts';
import { migrate } from './records/migrate.ts';
import { RedisCallRegistry } from './redis/redis-call-registry.ts';
import { createRedis } from './redis/redis.ts';
import { AriTelephony } from './telephony/ari/ari-telephony.ts';

export interface Hotline {
  readonly app: Awaited<ReturnType<typeof buildApp>>;
  readonly log: Logger;
  /** Graceful stop: no new calls, drain live ones, flush events, close in reverse order. */
  shutdown(reason: string): Promise<void>;
}

/**
 * The composition root: builds every part from one Config and wires them by constructor.
 * Nothing here blocks on Postgres or Asterisk being up: both are retried in the background
 * and /ready tells when everything is there.
 */
export async function startHotline(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Hotline> {
  const pool = createPool(config.databaseUrl, (err) => log.warn({ err: err.message }, 'postgres idle client error'));
  const redis = createRedis(config.redis.url);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));

  const store = new EventStore(pool);
  const writer = new EventWriter(store, log.child({ part: 'event-writer' }), { batchSize: 500, retryBaseMs: 250, retryMaxMs: 5_000 });
  let migrated = false;
  let stopping = false;
  const migrateUntilDone = async (attempt = 0): Promise<void> => {
    if (stopping) return;
    try {
      if (config.migrateOnStart) {
        const applied = await migrate(pool);
        if (applied.length) log.info({ applied }, 'migrations applied');
      }
      migrated = true;
      writer.start();
    } catch (err) {
      const delay = Math.min(5_000, 250 * 2 ** attempt);
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'postgres not ready; retrying migrations');
      setTimeout(() => void migrateUntilDone(attempt + 1), delay).unref();
    }
  };
  void migrateUntilDone();

  const telephony = new AriTelephony(
    { ...config.ari, subscriptions: ['endpoint:PJSIP'] },
    log.child({ part: 'ari' }),
  );
  const dispatcher = new Dispatcher({
    telephony,
    events: writer,
    registry: new RedisCallRegistry(redis, config.redis.prefix),
    clock: systemClock,
    settings: { ...defaultPrompts, digitTimeoutMs: config.digitTimeoutMs },
    hotlineNumbers: config.hotlineNumbers,
    log,
  });
  dispatcher.attach();
  telephony.start();

  const app = await buildApp({
    logger: log,
    readiness: {
      ari: () => telephony.isConnected(),
      postgres: () => pingPostgres(pool),
      redis: async () => (await redis.ping().catch(() => null)) === 'PONG',
      migrated: () => migrated && writer.healthy,
    },
  });

  return {
    app,
    log,
    async shutdown(reason) {
      if (stopping) return;
      stopping = true;
      log.info({ reason, liveCalls: dispatcher.liveCalls }, 'shutting down');
      await app.close();
      await dispatcher.drain(config.shutdownDrainMs);
      await telephony.stop();
      const flushed = await writer.drain(config.shutdownDrainMs);
      if (!flushed) log.error({ pending: writer.pending }, 'shutdown with unwritten events');
      redis.disconnect();
      await pool.end();
      log.info('stopped');
    },
  };
}
