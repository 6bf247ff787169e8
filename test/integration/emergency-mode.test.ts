import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { OpsEvent } from '../../src/domain/ops-event.ts';
import { EmergencyMode } from '../../src/flows/emergency-mode.ts';
import { FlowRepository } from '../../src/flows/flow-repository.ts';
import { loadFlowDir } from '../../src/flows/loader.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { LiveMetrics } from '../../src/live/live-metrics.ts';
import { LiveStats } from '../../src/live/live-stats.ts';
import { LiveStore } from '../../src/live/live-store.ts';
import { tee } from '../../src/live/tee.ts';
import { createLogger } from '../../src/log/logger.ts';
import { AgentIntervalSink } from '../../src/records/agent-interval-sink.ts';
import { EmergencyStore } from '../../src/records/emergency-store.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { FlowStore } from '../../src/records/flow-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { OpsEventStore } from '../../src/records/ops-event-store.ts';
import { waitUntil } from './helpers/wait.ts';

/*
 * Emergency mode through the HTTP API against real Postgres (number map, remembered flows, ops
 * events) and Redis (the live snapshot that carries the emergency field). Numbers are unique to
 * the run so test files sharing the database never collide.
 */

const FLOWS_DIR = resolve(import.meta.dirname, '../../ivr-flows');
const TOKENS = { admin: 'admin-token-emergency-0123', supervisor: 'sup-token-emergency-0123', agent: 'agent-token-emergency-0123' };
const log = createLogger('silent');
const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
const redis = new Redis(inject('redisUrl'));
const subscriber = new Redis(inject('redisUrl'));
const prefix = `${inject('redisPrefix')}emerg${randomBytes(4).toString('hex')}:`;
const flowStore = new FlowStore(pool);
const number = () => `7${randomInt(10 ** 9, 10 ** 10)}`;

async function freshMode(ops: { append(e: OpsEvent): void }) {
  const flows = new FlowRepository(await loadFlowDir(FLOWS_DIR, ['crm']));
  await flows.sync(flowStore);
  const mode = new EmergencyMode({ flows, flowStore, store: new EmergencyStore(pool), ops, now: () => Date.now() });
  await mode.load();
  return { flows, mode };
}

describe('emergency mode (real Postgres and Redis)', () => {
  let spoolDir: string;
  let opsWriter: EventWriter<OpsEvent>;
  let live: LiveStats;
  let flows: FlowRepository;
  let mode: EmergencyMode;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const [a, b, c] = [number(), number(), number()];

  beforeAll(async () => {
    await migrate(pool);
    // Earlier runs against this database may have left emergency rows; this test owns the table while it runs.
    await pool.query('DELETE FROM emergency_numbers');
    spoolDir = await mkdtemp(join(tmpdir(), 'hotline-emergency-'));
    opsWriter = new EventWriter<OpsEvent>(new AgentIntervalSink(pool), log, { redisUrl: inject('redisUrl'), prefix, spoolDir, name: 'ops_events' });
    opsWriter.start();
    live = new LiveStats({ store: new LiveStore(redis, prefix), queues: () => [], subscriber, timeZone: 'Asia/Shanghai', log, now: () => Date.now(), emergency: () => mode.summary() });
    await live.start();
    const ops = tee(opsWriter, live.recordOps.bind(live), log);
    ({ flows, mode } = await freshMode(ops));
    await flows.mapNumber(flowStore, a, 'main', 'test');
    await flows.mapNumber(flowStore, b, 'survey', 'test');
    await flows.mapNumber(flowStore, c, 'main', 'test');
    const auth = new TokenAuth(Object.entries(TOKENS).map(([role, t]) => `${role}:${t}`).join(','));
    app = await buildApp({
      logger: log,
      readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
      flows: { flows, store: flowStore, auth },
      live: { live, metrics: new LiveMetrics(live), auth, metricsToken: null },
      emergency: { emergency: mode, auth },
    });
  });

  afterAll(async () => {
    await app.close();
    live.close();
    await opsWriter.close();
    await pool.query('DELETE FROM emergency_numbers WHERE number = ANY($1::text[])', [[a, b, c]]);
    await pool.query('DELETE FROM flow_numbers WHERE number = ANY($1::text[])', [[a, b, c]]);
    await rm(spoolDir, { recursive: true, force: true });
    subscriber.disconnect();
    redis.disconnect();
    await pool.end();
  });

  const call = (method: 'GET' | 'POST' | 'DELETE', role: keyof typeof TOKENS | null, payload?: unknown) =>
    app.inject({ method, url: '/emergency', headers: role ? { authorization: `Bearer ${TOKENS[role]}` } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });

  it('switches numbers to the emergency flow, durably and visibly, and back to what each had', async () => {
    const started = await call('POST', 'admin', { numbers: [a, b], flow: 'emergency', reason: 'storm outage' });
    expect(started.statusCode).toBe(200);
    expect(started.json()).toMatchObject({ active: true, changed: true, numbers: [expect.objectContaining({ previousFlow: expect.any(String) }), expect.anything()] });
    expect(flows.forNumber(a)?.id).toBe('emergency');
    expect(flows.forNumber(b)?.id).toBe('emergency');
    expect(flows.forNumber(c)?.id).toBe('main');

    // Another process (or a restart) reads the same from Postgres.
    const other = await freshMode({ append: () => undefined });
    expect(other.flows.forNumber(a)?.id).toBe('emergency');
    expect(other.mode.state().numbers.map((e) => [e.number, e.previousFlow])).toEqual([[a, 'main'], [b, 'survey']].sort());

    const shown = await call('GET', 'supervisor');
    expect(shown.statusCode).toBe(200);
    expect(shown.json().numbers.map((e: { number: string; flow: string; reason: string; startedBy: string }) => [e.number, e.flow, e.reason, e.startedBy])).toEqual(
      [[a, 'emergency', 'storm outage', 'admin#1'], [b, 'emergency', 'storm outage', 'admin#1']].sort(),
    );
    const snapshot = (await app.inject({ url: '/live', headers: { authorization: `Bearer ${TOKENS.supervisor}` } })).json();
    expect(snapshot.emergency).toMatchObject({ flow: 'emergency', reason: 'storm outage', numbers: [a, b].sort() });

    const ended = await call('DELETE', 'admin');
    expect(ended.statusCode).toBe(200);
    expect(ended.json().restored).toEqual(expect.arrayContaining([{ number: a, flow: 'main' }, { number: b, flow: 'survey' }]));
    expect(flows.forNumber(a)?.id).toBe('main');
    expect(flows.forNumber(b)?.id).toBe('survey');
    const after = await freshMode({ append: () => undefined });
    expect(after.flows.forNumber(a)?.id).toBe('main');
    expect(after.flows.forNumber(b)?.id).toBe('survey');
    expect(after.mode.state()).toEqual({ active: false, numbers: [] });
    expect((await app.inject({ url: '/live', headers: { authorization: `Bearer ${TOKENS.supervisor}` } })).json().emergency).toBeNull();

    // Both changes land in ops_events as emergency.started / emergency.ended.
    const store = new OpsEventStore(pool);
    let types = '';
    await waitUntil(
      async () => {
        types = (await store.eventsOf('emergency')).filter((e) => JSON.stringify(e.data).includes(a)).map((e) => e.type).join();
        return types === 'emergency.started,emergency.ended';
      },
      10_000,
      () => `ops events for ${a}: "${types}"`,
    );
  });

  it('a second POST while active keeps the first remembered flows; a widened one adds numbers; DELETE twice is harmless', async () => {
    expect((await call('POST', 'admin', { numbers: [a], reason: 'fire' })).json()).toMatchObject({ changed: true });
    const again = await call('POST', 'admin', { numbers: [a], reason: 'fire' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ changed: false, numbers: [{ number: a, flow: 'emergency', previousFlow: 'main' }] });

    const widened = await call('POST', 'admin', { numbers: [a, c], flow: 'emergency', reason: 'fire, wider' });
    expect(widened.statusCode).toBe(200);
    expect(widened.json().numbers.map((e: { number: string; previousFlow: string }) => [e.number, e.previousFlow])).toEqual([[a, 'main'], [c, 'main']].sort());
    expect(flows.forNumber(c)?.id).toBe('emergency');

    expect((await call('DELETE', 'admin')).json().restored).toHaveLength(2);
    expect(flows.forNumber(a)?.id).toBe('main');
    expect(flows.forNumber(c)?.id).toBe('main');
    const twice = await call('DELETE', 'admin');
    expect(twice.statusCode).toBe(200);
    expect(twice.json()).toEqual({ restored: [] });
    expect(flows.forNumber(a)?.id).toBe('main');
  });

  it('refuses bad input and wrong roles with stable error ids, changing nothing', async () => {
    const cases: Array<[keyof typeof TOKENS | null, unknown, number, string]> = [
      ['admin', {}, 400, 'validation_failed'],
      ['admin', { numbers: [], reason: 'x' }, 400, 'validation_failed'],
      ['admin', { numbers: ['12ab'], reason: 'x' }, 400, 'validation_failed'],
      ['admin', { numbers: [a], reason: '' }, 400, 'validation_failed'],
      ['admin', { numbers: [a], reason: 'x', extra: true }, 400, 'validation_failed'],
      ['admin', { numbers: [a], flow: 'no-such-flow', reason: 'x' }, 422, 'emergency_unknown_flow'],
      ['admin', { numbers: [a, '999999999999'], reason: 'x' }, 422, 'emergency_unknown_number'],
      ['supervisor', { numbers: [a], reason: 'x' }, 403, 'forbidden'],
      [null, { numbers: [a], reason: 'x' }, 401, 'unauthorized'],
    ];
    for (const [role, body, status, error] of cases) {
      const res = await call('POST', role, body);
      expect([JSON.stringify(body), res.statusCode, res.json().error]).toEqual([JSON.stringify(body), status, error]);
    }
    const unknownNumber = await call('POST', 'admin', { numbers: [a, '999999999999'], reason: 'x' });
    expect(unknownNumber.json().errors).toEqual([{ path: 'numbers.1', message: 'number 999999999999 is not a hotline number' }]);
    expect((await call('GET', 'agent')).statusCode).toBe(403);
    expect((await call('DELETE', 'supervisor')).statusCode).toBe(403);
    expect(flows.forNumber(a)?.id).toBe('main');
    expect(mode.state()).toEqual({ active: false, numbers: [] });
    expect((await pool.query('SELECT count(*)::int AS n FROM emergency_numbers')).rows[0].n).toBe(0);
  });
});
