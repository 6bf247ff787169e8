import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startHotline } from '../../src/main.ts';
import { createPool } from '../../src/records/db.ts';
import { migrate } from '../../src/records/migrate.ts';
import { waitFor } from '../e2e/helpers/hotline-process.ts';
import { callEvents, callEventWriter, isolatedPipeline, removeSpoolDirs, rowsOf } from './helpers/events.ts';
import { TcpProxy } from './helpers/tcp-proxy.ts';

const dbUrl = new URL(inject('databaseUrl'));
const viaProxy = (port: number) => {
  const u = new URL(dbUrl);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
};

describe('Postgres outages (real Postgres behind a cuttable proxy)', () => {
  const proxy = new TcpProxy({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
  const direct = new pg.Pool({ connectionString: dbUrl.toString(), max: 2 });
  afterAll(async () => {
    await proxy.down();
    await direct.end();
    await removeSpoolDirs();
  });

  it('Postgres down at startup: /ready says so, the app keeps retrying and becomes ready when it is back', async () => {
    await proxy.up();
    const port = proxy.port;
    await proxy.down();
    const config = loadConfig({
      ARI_PASSWORD: 'unused',
      // Nothing listens here: ARI stays down in this test, the check reports it.
      ARI_URL: 'http://127.0.0.1:1',
      DATABASE_URL: viaProxy(port),
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: inject('redisPrefix'),
    });
    const hotline = await startHotline(config, createLogger('silent'));
    try {
      const ready = async () => (await hotline.app.inject({ url: '/ready' })).json() as { checks: Record<string, boolean> };
      expect((await ready()).checks).toMatchObject({ postgres: false, migrations: false, redis: true, ari: false });
      await new Promise((r) => setTimeout(r, 1_500)); // several retries happen; the process must not die
      proxy.port = port;
      await proxy.up();
      await waitFor(async () => (await ready()).checks.migrations === true, 15_000, () => 'never migrated after Postgres came back');
      expect((await ready()).checks).toMatchObject({ postgres: true, migrations: true });
    } finally {
      await hotline.shutdown('test');
      await proxy.down();
    }
  });

  // The fault test: Postgres away for a full minute while events keep arriving.
  const OUTAGE_MS = 60_000;
  it('a burst of events with Postgres cut for 60 s in the middle: every event lands exactly once', { timeout: OUTAGE_MS + 60_000 }, async () => {
    await proxy.up();
    const pool = createPool(viaProxy(proxy.port), () => undefined);
    await migrate(pool);
    const writer = callEventWriter(pool, await isolatedPipeline());
    writer.start();
    const events = callEvents(20_000);
    const callId = events[0]!.callId;
    const burst = async (from: number, to: number, pauseMs = 10) => {
      for (let i = from; i < to; i += 500) {
        for (const e of events.slice(i, i + 500)) writer.append(e);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    try {
      await burst(0, 6_000);
      // Cut while batches are in flight: open transactions die with their connections.
      await proxy.down();
      // 8,000 events spread over the minute; retries keep failing meanwhile.
      await burst(6_000, 14_000, OUTAGE_MS / 16);
      expect(writer.healthy).toBe(false);
      await proxy.up();
      await burst(14_000, 20_000);
      expect(await writer.drain(20_000)).toBe(true);
      expect(await rowsOf(direct, callId)).toEqual({ rows: 20_000, distinct: 20_000 });
      expect(writer.healthy).toBe(true);
    } finally {
      await writer.close();
      await pool.end();
    }
  });
});
