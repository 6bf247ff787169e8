import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startHotline } from '../../src/main.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { createPool } from '../../src/records/db.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { waitFor } from '../e2e/helpers/hotline-process.ts';
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

  it('events appended while Postgres is down are all written once when it returns', async () => {
    await proxy.up();
    const pool = createPool(viaProxy(proxy.port), () => undefined);
    const writer = new EventWriter(new EventStore(pool), createLogger('silent'), { batchSize: 50, retryBaseMs: 20, retryMaxMs: 200 });
    writer.start();
    const callId = randomUUID();
    const make = (seq: number): CallEvent => ({ id: randomUUID(), callId, seq, type: 'dtmf', at: new Date().toISOString(), data: { seq } });
    for (let s = 1; s <= 100; s++) writer.append(make(s));
    await proxy.down();
    for (let s = 101; s <= 300; s++) writer.append(make(s));
    await new Promise((r) => setTimeout(r, 500));
    await proxy.up();
    expect(await writer.drain(15_000)).toBe(true);
    const { rows } = await direct.query<{ n: string; d: string }>(
      'SELECT count(*) AS n, count(DISTINCT seq) AS d FROM call_events WHERE call_id = $1',
      [callId],
    );
    expect(rows[0]).toEqual({ n: '300', d: '300' });
    await pool.end();
  });
});
