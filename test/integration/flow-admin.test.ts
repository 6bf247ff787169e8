import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { FlowRejected, FlowRepository } from '../../src/flows/flow-repository.ts';
import { loadFlowDir } from '../../src/flows/loader.ts';
import { liveQueueCatalog, queueReferences } from '../../src/flows/queue-references.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { createLogger } from '../../src/log/logger.ts';
import { FlowStore } from '../../src/records/flow-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { RoutingAdmin } from '../../src/routing/routing-admin.ts';
import { loadRoutingConfig } from '../../src/routing/routing-config.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';

const FLOWS_DIR = resolve(import.meta.dirname, '../../ivr-flows');
const ADMIN = 'admin-token-for-flow-admin-tests';
const SUPERVISOR = 'supervisor-token-for-flow-admin';
const AGENT = 'agent-token-for-flow-admin-tests';

/** A short flow with an id unique to this run's test, so test files sharing the database never collide. */
const shortFlow = (id: string, prompt = 'prompt:goodbye') => ({
  id,
  version: 1,
  name: 'admin test',
  language: 'zh',
  start: 'bye',
  nodes: { bye: { type: 'hangup', prompts: [prompt], reason: 'completed' } },
});

describe('flow versions, publish and rollback (real Postgres)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  const store = new FlowStore(pool);
  let repo: FlowRepository;

  beforeAll(async () => {
    await migrate(pool);
    repo = new FlowRepository(await loadFlowDir(FLOWS_DIR, ['crm']));
    expect((await repo.sync(store)).conflicts).toEqual([]);
  });
  afterAll(() => pool.end());

  it('publishes numbered versions; a running call keeps its version; rollback moves only new calls', async () => {
    const id = `t-${randomUUID().slice(0, 8)}`;
    expect((await repo.publish(store, shortFlow(id), 'alice')).version).toBe(1);
    const v2 = await repo.publish(store, shortFlow(id, 'prompt:survey_thanks'), 'bob');
    expect(v2.version).toBe(2);
    expect(repo.active(id)?.version).toBe(2);
    // A call that started on v1 resolves v1 by (id, version), whatever is active now.
    expect(repo.get(id, 1)?.nodes.bye).toMatchObject({ prompts: ['prompt:goodbye'] });
    await repo.rollback(store, id, 1, 'carol');
    expect(repo.active(id)?.version).toBe(1);

    // Another process (or a restart) sees the same versions and active pointer from Postgres.
    const other = new FlowRepository(await loadFlowDir(FLOWS_DIR, ['crm']));
    await other.sync(store);
    expect(other.active(id)?.version).toBe(1);
    expect(other.versionsOf(id).map((v) => [v.version, v.author])).toEqual([
      [1, 'alice'],
      [2, 'bob'],
    ]);
  });

  it('an invalid flow is rejected with every error and its path, and nothing changes', async () => {
    const id = `t-${randomUUID().slice(0, 8)}`;
    await repo.publish(store, shortFlow(id), 'alice');
    const before = await store.load();
    const bad = { ...shortFlow(id, 'prompt:nope'), nodes: { bye: { type: 'hangup', prompts: ['prompt:nope'] }, lost: { type: 'hangup' } } };
    const err = await repo.publish(store, bad, 'mallory').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowRejected);
    expect((err as FlowRejected).errors).toEqual([
      { path: 'nodes.bye.prompts.0', message: 'prompt "nope" is not in the prompt catalog' },
      { path: 'nodes.lost', message: 'node "lost" is unreachable from start "bye"' },
    ]);
    expect(await store.load()).toEqual(before);
    expect(repo.active(id)?.version).toBe(1);
  });

  it('a file that changed without a new version number is reported, not silently published', async () => {
    const bundle = await loadFlowDir(FLOWS_DIR, ['crm']);
    const main = bundle.flows.find((f) => f.id === 'main')!;
    const edited = { ...bundle, flows: bundle.flows.map((f) => (f.id === 'main' ? { ...main, name: 'edited in place' } : f)) };
    const { conflicts } = await new FlowRepository(edited).sync(store);
    expect(conflicts).toEqual([`flow main version ${main.version} differs from the published one: bump "version" in the file`]);
  });
});

describe('flow admin HTTP API (real Postgres)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  const store = new FlowStore(pool);
  let app: Awaited<ReturnType<typeof buildApp>>;
  let repo: FlowRepository;

  beforeAll(async () => {
    await migrate(pool);
    const flows = new FlowRepository(await loadFlowDir(FLOWS_DIR, ['crm']));
    repo = flows;
    await flows.sync(store);
    app = await buildApp({
      logger: createLogger('silent'),
      readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
      flows: { flows, store, auth: new TokenAuth(`admin:${ADMIN},supervisor:${SUPERVISOR},agent:${AGENT}`) },
    });
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
  });
  const as = (token?: string) => (token ? { authorization: `Bearer ${token}` } : {});

  it('every flow route needs a token, and the right role', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/flows'],
      ['GET', '/flows/main'],
      ['GET', '/flows/main/versions/1'],
      ['POST', '/flows/validate', shortFlow('x')],
      ['POST', '/flows/main/versions', shortFlow('main')],
      ['POST', '/flows/main/rollback', { version: 1 }],
      ['GET', '/numbers'],
      ['PUT', '/numbers/12345', { flowId: 'main' }],
      ['DELETE', '/numbers/12345'],
    ];
    for (const [method, url, payload] of routes) {
      for (const headers of [as(), as('wrong-token-wrong-token'), { authorization: `Basic ${ADMIN}` }]) {
        const res = await app.inject({ method: method as 'GET', url, payload: payload as object, headers });
        expect([method, url, res.statusCode, res.json().error]).toEqual([method, url, 401, 'unauthorized']);
      }
      const res = await app.inject({ method: method as 'GET', url, payload: payload as object, headers: as(AGENT) });
      expect([method, url, res.statusCode, res.json().error]).toEqual([method, url, 403, 'forbidden']);
    }
    const write = await app.inject({ method: 'POST', url: '/flows/main/rollback', payload: { version: 1 }, headers: as(SUPERVISOR) });
    expect(write.statusCode).toBe(403);
    expect((await app.inject({ url: '/flows', headers: as(SUPERVISOR) })).statusCode).toBe(200);
  });

  it('business hours: lists schedule nodes; a change to one node publishes a new version; bad hours change nothing', async () => {
    // A flow of this test's own (the shipped main flow is shared with the run's other tests).
    const id = `t-hours-${randomUUID().slice(0, 8)}`;
    const bye = { type: 'hangup', prompts: ['prompt:goodbye'], reason: 'completed' };
    await repo.publish(store, { ...shortFlow(id), start: 'hours', nodes: { hours: { type: 'schedule', timezone: 'Asia/Shanghai', weekly: { mon: [['08:00', '22:00']] }, open: 'bye', closed: 'bye', holiday: 'bye' }, bye } }, 'test');
    const list = (await app.inject({ url: '/business-hours', headers: as(SUPERVISOR) })).json() as { schedules: Array<Record<string, unknown>> };
    expect(list.schedules.find((x) => x.flow === id)).toEqual({ flow: id, version: 1, node: 'hours', timezone: 'Asia/Shanghai', weekly: { mon: [['08:00', '22:00']] }, holidays: [], special: {} });
    expect(list.schedules.find((x) => x.flow === 'main')).toMatchObject({ node: 'hours_check' });
    const hours = { timezone: 'Asia/Shanghai', weekly: { mon: [['09:00', '18:00']] }, holidays: ['2027-01-01'], special: {} };
    const url = `/business-hours/${id}/hours`;
    expect((await app.inject({ method: 'PUT', url, payload: hours, headers: as(SUPERVISOR) })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'PUT', url, payload: hours, headers: as(ADMIN) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ flow: id, version: 2, node: 'hours' });
    // Active as a new version; everything but the hours as it was.
    expect(repo.active(id)!.nodes.hours).toMatchObject({ type: 'schedule', weekly: { mon: [['09:00', '18:00']] }, holidays: ['2027-01-01'], open: 'bye' });
    // Invalid: a closing time before the opening time -> 422 with the path, nothing published.
    const bad = await app.inject({ method: 'PUT', url, payload: { ...hours, weekly: { mon: [['18:00', '09:00']] } }, headers: as(ADMIN) });
    expect(bad.statusCode).toBe(422);
    expect(JSON.stringify(bad.json().errors)).toMatch(/nodes\.hours\.weekly\.mon/);
    expect(repo.active(id)!.version).toBe(2);
    expect((await app.inject({ method: 'PUT', url: `/business-hours/${id}/bye`, payload: hours, headers: as(ADMIN) })).json().error).toBe('schedule_not_found');
    expect((await app.inject({ method: 'PUT', url, payload: { ...hours, timezone: 'Mars/Base' }, headers: as(ADMIN) })).statusCode).toBe(400);
  });

  it('validate and publish answer 422 with every error; bad request bodies get a stable error id', async () => {
    const bad = { id: 'main', version: 1, name: 'x', language: 'fr', start: 'a', nodes: { a: { type: 'hangup', extra: 1 } } };
    const v = await app.inject({ method: 'POST', url: '/flows/validate', payload: bad, headers: as(ADMIN) });
    expect(v.statusCode).toBe(422);
    expect(v.json()).toEqual({
      error: 'flow_invalid',
      message: 'the flow is not valid; nothing was changed',
      errors: [
        { path: 'language', message: 'Invalid option: expected one of "zh"|"en"' },
        { path: 'nodes.a', message: 'Unrecognized key: "extra"' },
      ],
    });
    const activeBefore = (await app.inject({ url: '/flows/main', headers: as(ADMIN) })).json().activeVersion;
    const p = await app.inject({ method: 'POST', url: '/flows/main/versions', payload: bad, headers: as(ADMIN) });
    expect(p.statusCode).toBe(422);
    expect((await app.inject({ url: '/flows/main', headers: as(ADMIN) })).json().activeVersion).toBe(activeBefore);

    const mismatch = await app.inject({ method: 'POST', url: '/flows/survey/versions', payload: shortFlow('other'), headers: as(ADMIN) });
    expect(mismatch.json()).toMatchObject({ error: 'flow_invalid', errors: [{ path: 'id', message: 'the body\'s id must be "survey"' }] });
    const badBody = await app.inject({ method: 'POST', url: '/flows/main/rollback', payload: { version: 'one' }, headers: as(ADMIN) });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json()).toMatchObject({ error: 'validation_failed', errors: [{ path: 'version' }] });
    const unknownNumberFlow = await app.inject({ method: 'PUT', url: '/numbers/12345', payload: { flowId: 'ghost' }, headers: as(ADMIN) });
    expect(unknownNumberFlow.json()).toMatchObject({ error: 'flow_invalid', errors: [{ path: 'flowId', message: 'unknown flow "ghost"' }] });
    expect((await app.inject({ url: '/flows/ghost', headers: as(ADMIN) })).json()).toMatchObject({ error: 'flow_not_found' });
  });
});

describe('flows name the live queues, not queues.json (real Postgres and Redis)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  const redis = new Redis(inject('redisUrl'));
  const store = new FlowStore(pool);
  let app: Awaited<ReturnType<typeof buildApp>>;
  let flows: FlowRepository;
  let admin: RoutingAdmin;
  const auth = new TokenAuth(`admin:${ADMIN}`);
  const as = { authorization: `Bearer ${ADMIN}` };

  beforeAll(async () => {
    await migrate(pool);
    const bundle = await loadFlowDir(FLOWS_DIR, ['crm']);
    flows = new FlowRepository(bundle);
    const prefix = `${inject('redisPrefix')}fa-live-${randomUUID().slice(0, 6)}:`;
    admin = new RoutingAdmin({
      redis,
      prefix,
      store: new RoutingStore(redis, prefix),
      ops: { append: () => undefined },
      files: await loadRoutingConfig(FLOWS_DIR),
      withQueueReferences: (q, fn) => store.withActiveVersions((active) => fn(queueReferences(active, q))),
      log: createLogger('silent'),
      now: () => Date.now(),
    });
    // As main.ts wires it: routing first, then the flows checked against its live queues.
    await admin.seed();
    flows.followQueues(() => liveQueueCatalog({ queues: admin.queues(), agents: admin.agents() }, bundle.catalog.skills));
    await flows.sync(store);
    app = await buildApp({
      logger: createLogger('silent'),
      readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
      flows: { flows, store, auth },
      routingAdmin: { admin, auth },
    });
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    await redis.quit();
  });

  const queueFlow = (id: string, queue: string, skills: string[] = []) => ({
    id,
    version: 1,
    name: 'queue test',
    language: 'zh',
    start: 'wait',
    nodes: { wait: { type: 'queue', queue, skills, next: 'bye' }, bye: { type: 'hangup', reason: 'completed' } },
  });
  const queueBody = { skills: [{ skill: 'claims', minProficiency: 1 }], strategy: 'longest-idle', ringTimeoutSeconds: 15, wrapUpSeconds: 10, maxWaitSeconds: 300, agingPerMinute: 1 };
  const publish = (flow: object, id: string) => app.inject({ method: 'POST', url: `/flows/${id}/versions`, payload: flow, headers: as });

  it('a queue created through the queue API can be named by a flow at once; before, it is an unknown queue', async () => {
    const queue = `claims-${randomUUID().slice(0, 6)}`;
    const id = `fq-${randomUUID().slice(0, 6)}`;
    const early = await publish(queueFlow(id, queue, ['claims']), id);
    expect(early.statusCode).toBe(422);
    expect(early.json().errors).toEqual([
      { path: 'nodes.wait.queue', message: `unknown queue "${queue}"` },
      { path: 'nodes.wait.skills.0', message: 'unknown skill "claims"' },
    ]);
    expect(flows.active(id)).toBeUndefined();

    expect((await app.inject({ method: 'PUT', url: `/queues/${queue}`, payload: queueBody, headers: as })).statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: '/flows/validate', payload: queueFlow(id, queue, ['claims']), headers: as })).json()).toEqual({ ok: true });
    const ok = await publish(queueFlow(id, queue, ['claims']), id);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(flows.active(id)?.nodes.wait).toMatchObject({ type: 'queue', queue });
    // queues.json never heard of it: the live configuration is what counts.
    expect((await loadRoutingConfig(FLOWS_DIR)).queues.some((q) => q.name === queue)).toBe(false);

    // A restarted app (another repository on the same Postgres and Redis) keeps the flow.
    const other = new FlowRepository(await loadFlowDir(FLOWS_DIR, ['crm']));
    other.followQueues(() => liveQueueCatalog({ queues: admin.queues(), agents: admin.agents() }, new Set()));
    const { conflicts } = await other.sync(store);
    expect(conflicts.filter((c) => c.includes(id))).toEqual([]);
    expect(other.active(id)?.version).toBe(1);
  });

  it('deleting a queue an active flow sends callers to is refused (409 queue_in_use naming flow and node); once no active version names it, it goes, and a rollback to the old version is refused', async () => {
    const queue = `claims-${randomUUID().slice(0, 6)}`;
    const id = `fq-${randomUUID().slice(0, 6)}`;
    expect((await app.inject({ method: 'PUT', url: `/queues/${queue}`, payload: queueBody, headers: as })).statusCode).toBe(201);
    expect((await publish(queueFlow(id, queue), id)).statusCode).toBe(201);

    const refused = await app.inject({ method: 'DELETE', url: `/queues/${queue}`, headers: as });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toEqual({
      error: 'queue_in_use',
      message: `queue ${queue} is used by flow ${id} node wait`,
      errors: [{ path: `flows.${id}.nodes.wait`, message: `flow ${id} (active version 1) sends callers to queue ${queue} at node wait` }],
    });
    expect(admin.queue(queue)).toBeDefined();

    // Version 2 no longer queues: the queue is free.
    expect((await publish(shortFlow(id), id)).json()).toEqual({ id, version: 2 });
    expect((await app.inject({ method: 'DELETE', url: `/queues/${queue}`, headers: as })).statusCode).toBe(204);
    expect(admin.queue(queue)).toBeUndefined();

    const back = await app.inject({ method: 'POST', url: `/flows/${id}/rollback`, payload: { version: 1 }, headers: as });
    expect(back.statusCode).toBe(422);
    expect(back.json()).toMatchObject({ error: 'flow_invalid', errors: [{ path: 'nodes.wait.queue', message: `unknown queue "${queue}"` }] });
    expect(flows.active(id)?.version).toBe(2);
  });
});
