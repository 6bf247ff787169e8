import { randomInt } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { Hotline } from '../../src/main.ts';
import { migrate } from '../../src/records/migrate.ts';
import { startTestHotline } from './helpers/app.ts';
import { ownDatabase } from './helpers/own-database.ts';
import { waitUntil } from './helpers/wait.ts';

/*
 * Two app instances on one Postgres database and one Redis prefix, as two replicas behind a
 * load balancer: a flow published, a number mapped or emergency mode switched through A is what B's calls run
 * at once (B holds the number map in memory; A's notice over Redis makes it re-read it). The
 * file has a database and prefix of its own: emergency mode is about every number in it.
 */

const ADMIN = 'admin-token-emergency-instances';

describe('number map and emergency mode across two instances (real Postgres and Redis)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  const env = { REDIS_PREFIX: `${inject('redisPrefix')}two:`, API_TOKENS: `admin:${ADMIN}`, RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_IP_PER_MINUTE: '0' };
  const number = `7${randomInt(10_000_000, 99_999_999)}`;
  let a: Hotline;
  let b: Hotline;
  const stops: Array<() => Promise<void>> = [];
  const req = (h: Hotline, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    h.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` }, ...(payload ? { payload } : {}) });
  /** Which flow a call to `number` runs on B right now: the resolver its dispatcher uses. */
  const onB = () => b.flows.forNumber(number)?.id;
  const eventually = (check: () => boolean | Promise<boolean>, what: string) => waitUntil(check, 5_000, () => `B never showed: ${what}`);

  beforeAll(async () => {
    db = await ownDatabase('two');
    const pool = new pg.Pool({ connectionString: db.url });
    await migrate(pool);
    await pool.end();
    for (const name of ['instance-a', 'instance-b']) {
      const started = await startTestHotline(name, { ...env, DATABASE_URL: db.url });
      stops.push(started.stop);
      if (name === 'instance-a') a = started.hotline;
      else b = started.hotline;
    }
    // Both have synced the flows with Postgres and loaded the (empty) emergency state (/ready's migrations check; ARI is absent here).
    for (const h of [a, b]) await waitUntil(async () => (await h.app.inject({ url: '/ready' })).json().checks.migrations === true, 15_000, () => 'never synced with Postgres');
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await db?.drop();
  });

  it('a number mapped on A is routed by B', async () => {
    expect(onB()).toBeUndefined();
    expect((await req(a, 'PUT', `/numbers/${number}`, { flowId: 'survey' })).statusCode).toBe(200);
    await eventually(() => onB() === 'survey', `${number} → survey`);
    expect((await req(b, 'GET', '/numbers')).json().numbers[number]).toBe('survey');
  });

  it('emergency mode switched on A is B\'s state and B\'s routing; ending it on A restores B', async () => {
    const started = await req(a, 'POST', '/emergency', { numbers: [number], flow: 'emergency', reason: 'storm' });
    expect(started.statusCode).toBe(200);
    await eventually(async () => onB() === 'emergency' && (await req(b, 'GET', '/emergency')).json().active === true, `${number} in emergency mode`);
    expect((await req(b, 'GET', '/emergency')).json().numbers).toEqual([expect.objectContaining({ number, flow: 'emergency', previousFlow: 'survey', reason: 'storm', startedBy: 'admin#1' })]);

    const ended = await req(a, 'DELETE', '/emergency');
    expect(ended.json()).toEqual({ restored: [{ number, flow: 'survey' }] });
    await eventually(async () => onB() === 'survey' && (await req(b, 'GET', '/emergency')).json().active === false, `${number} back on survey`);
  });

  it('a flow version published on A is what B\'s calls run; a rollback on A follows too', async () => {
    const before = (await req(a, 'GET', '/flows/survey')).json();
    const published = await req(a, 'POST', '/flows/survey/versions', { ...before.flow, name: `${before.flow.name} (edited on A)` });
    expect(published.statusCode).toBe(201);
    const version = published.json().version as number;
    expect(version).toBeGreaterThan(before.activeVersion);
    expect(onB()).toBe('survey');
    await eventually(() => b.flows.forNumber(number)?.version === version, `survey v${version}`);
    expect(b.flows.forNumber(number)?.name).toBe(`${before.flow.name} (edited on A)`);
    expect((await req(b, 'GET', '/flows/survey')).json().activeVersion).toBe(version);

    expect((await req(a, 'POST', '/flows/survey/rollback', { version: before.activeVersion })).statusCode).toBe(200);
    await eventually(() => b.flows.forNumber(number)?.version === before.activeVersion, `survey back on v${before.activeVersion}`);
  });

  it('B can end what A started (it knows the remembered flows), and A follows', async () => {
    expect((await req(a, 'POST', '/emergency', { numbers: [number], reason: 'drill' })).statusCode).toBe(200);
    await eventually(async () => (await req(b, 'GET', '/emergency')).json().active === true, 'the drill');
    expect((await req(b, 'DELETE', '/emergency')).json()).toEqual({ restored: [{ number, flow: 'survey' }] });
    await waitUntil(async () => a.flows.forNumber(number)?.id === 'survey' && (await req(a, 'GET', '/emergency')).json().active === false, 5_000, () => 'A never followed B');
    expect((await req(a, 'DELETE', `/numbers/${number}`)).statusCode).toBe(204);
    await eventually(() => onB() === undefined, `${number} out of service`);
  });
});
