import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { codeOf } from '../helpers/routing-fixtures.ts';
import { FlowRepository } from '../../src/flows/flow-repository.ts';
import { loadFlowDir } from '../../src/flows/loader.ts';
import { queueReferences } from '../../src/flows/queue-references.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createPool } from '../../src/records/db.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { FlowStore } from '../../src/records/flow-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { OpsEventStore } from '../../src/records/ops-event-store.ts';
import { RoutingAdmin, type RoutingAdminDeps } from '../../src/routing/routing-admin.ts';
import { loadRoutingConfig, routingConfigHash, type FileRoutingConfig } from '../../src/routing/routing-config.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import { RoutingError } from '../../src/routing/types.ts';

const FLOWS_DIR = resolve(import.meta.dirname, '../../ivr-flows');
const ADMIN = 'admin-token-for-routing-admin-tests';
const SUPERVISOR = 'supervisor-token-for-routing-admin';
const AGENT = 'agent-token-for-routing-admin-tests';
const log = createLogger('silent');

const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
const redis = new Redis(inject('redisUrl'));
const opsStore = new OpsEventStore(pool);
// The real durable pipeline (Redis stream -> Postgres), on this file's own stream and spool.
const spoolDir = mkdtempSync(join(tmpdir(), 'hotline-ra-spool-'));
const ops = new EventWriter(opsStore, log, {
  redisUrl: inject('redisUrl'),
  prefix: `${inject('redisPrefix')}ra-ops:`,
  name: 'ops_events',
  spoolDir,
  retryBaseMs: 50,
  retryMaxMs: 500,
  blockMs: 200,
});
const auth = new TokenAuth(`admin:${ADMIN},supervisor:${SUPERVISOR},agent:${AGENT}`);
const apps: Array<{ close(): Promise<unknown> }> = [];
let flows: FlowRepository;

beforeAll(async () => {
  await migrate(pool);
  ops.start();
  flows = new FlowRepository(await loadFlowDir(FLOWS_DIR, ['crm']));
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await ops.drain(5_000);
  await ops.close();
  await rm(spoolDir, { recursive: true, force: true });
  await pool.end();
  await redis.quit();
});

/** Names unique to one test: test files share the ops_events table. */
const uniq = (stem: string) => `${stem}-${randomUUID().slice(0, 6)}`;
const as = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

const queueBody = (over: Record<string, unknown> = {}) => ({
  skills: [{ skill: 'general', minProficiency: 1 }],
  strategy: 'longest-idle',
  ringTimeoutSeconds: 15,
  wrapUpSeconds: 10,
  maxWaitSeconds: 300,
  agingPerMinute: 1,
  ...over,
});

/** general and vip are named by the main flow in ivr-flows; `spare` by no flow. */
function files(spare: string, agents: string[]): FileRoutingConfig {
  const q = (name: string, skill: string) => ({
    name,
    skills: [{ skill, minProficiency: 1 }],
    strategy: 'longest-idle' as const,
    ringTimeoutSeconds: 15,
    wrapUpSeconds: 10,
    maxWaitSeconds: 300,
    agingPerMinute: 1,
    announce: { position: true, estimatedWait: true, everySeconds: 30 },
    overflow: [],
    callback: true,
    joinWhenEmpty: false,
  });
  const cfg = { queues: [q('general', 'general'), q('vip', 'vip'), q(spare, 'general')], agents: agents.map((id) => ({ id, endpoint: `PJSIP/${id}`, skills: { general: 3 } })) };
  return { ...cfg, sourceHash: routingConfigHash(cfg) };
}

let instances = 0;
/** One app instance: a RoutingAdmin seeded on `prefix` (a fresh one by default) and its HTTP app. */
async function instance(cfg: FileRoutingConfig, prefix = `${inject('redisPrefix')}ra${instances++}:`, references?: RoutingAdminDeps['withQueueReferences']) {
  const store = new RoutingStore(redis, prefix);
  const admin = new RoutingAdmin({
    redis,
    prefix,
    store,
    ops,
    files: cfg,
    // The file flows as loaded here, no lock: the stored path is flow-admin.test.ts's subject, the lock queue-flow-race.test.ts's.
    withQueueReferences: references ?? ((q, fn) => fn(queueReferences(flows.list().map((f) => ({ flowId: f.id, version: f.activeVersion, body: flows.active(f.id) })), q))),
    log,
    now: () => Date.now(),
  });
  const seeded = await admin.seed();
  const app = await buildApp({
    logger: log,
    readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
    routingAdmin: { admin, auth },
  });
  apps.push(app);
  const storedConfig = async () => redis.get(`${prefix}routing:config`);
  return { admin, store, app, prefix, seeded, storedConfig };
}

async function eventsOf(subject: string) {
  expect(await ops.drain(5_000)).toBe(true);
  return opsStore.eventsOf(subject);
}

const call = (callId: string, queue: string, enqueuedAt = Date.now()) => ({ callId, queue, skills: [], priority: 0, enqueuedAt, owner: 'test' });

describe('routing config admin API (real Redis and Postgres)', () => {
  it('creates, edits and removes a queue; routing follows; each change is an ops event with before, after and actor', async () => {
    const { app, store, admin } = await instance(files(uniq('spare'), ['a1']));
    const name = uniq('q');

    const created = await app.inject({ method: 'PUT', url: `/queues/${name}`, headers: as(ADMIN), payload: queueBody() });
    expect(created.statusCode).toBe(201);
    const first = { name, ...queueBody(), announce: { position: true, estimatedWait: true, everySeconds: 30 }, overflow: [], callback: true, joinWhenEmpty: false };
    expect(created.json()).toEqual(first);
    expect((await app.inject({ method: 'GET', url: `/queues/${name}`, headers: as(SUPERVISOR) })).json()).toEqual(first);
    expect(admin.queue(name)).toEqual(first);
    expect(await store.enqueue(call(`c-${name}`, name))).toEqual({ position: 1 });
    await store.callerLeft(`c-${name}`);

    const edited = await app.inject({ method: 'PUT', url: `/queues/${name}`, headers: as(ADMIN), payload: queueBody({ wrapUpSeconds: 45, strategy: 'ring-all' }) });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ wrapUpSeconds: 45, strategy: 'ring-all' });
    const list = (await app.inject({ method: 'GET', url: '/queues', headers: as(ADMIN) })).json() as { queues: Array<{ name: string; wrapUpSeconds: number }> };
    expect(list.queues.find((q) => q.name === name)?.wrapUpSeconds).toBe(45);

    expect((await app.inject({ method: 'DELETE', url: `/queues/${name}`, headers: as(ADMIN) })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/queues/${name}`, headers: as(ADMIN) })).json()).toMatchObject({ error: 'queue_not_found' });
    expect((await app.inject({ method: 'DELETE', url: `/queues/${name}`, headers: as(ADMIN) })).statusCode).toBe(404);
    expect(await codeOf(store.enqueue(call(`c2-${name}`, name)))).toBe('UNKNOWN_QUEUE');

    const events = await eventsOf(`queue:${name}`);
    expect(events.map((e) => e.type)).toEqual(['routing.queue_changed', 'routing.queue_changed', 'routing.queue_removed']);
    expect(events.map((e) => e.data.actor)).toEqual(['admin#1', 'admin#1', 'admin#1']);
    expect(events[0]!.data).toMatchObject({ queue: name, before: null, after: first });
    expect(events[1]!.data).toMatchObject({ before: { wrapUpSeconds: 10 }, after: { wrapUpSeconds: 45, strategy: 'ring-all' } });
    expect(events[2]!.data).toMatchObject({ before: { wrapUpSeconds: 45 }, after: null });
  });

  it('creates, edits and removes an agent; a skills edit keeps its state and routes by the new skills', async () => {
    const spare = uniq('spare');
    const { app, store } = await instance(files(spare, []));
    const id = uniq('agent');
    const put = (body: unknown) => app.inject({ method: 'PUT', url: `/agents/${id}/config`, headers: as(ADMIN), payload: body as object });

    const created = await put({ endpoint: `PJSIP/${id}`, skills: { billing: 2 } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ id, endpoint: `PJSIP/${id}`, skills: { billing: 2 } });
    await store.changeAgentState(id, 'login');
    await store.changeAgentState(id, 'pause', 'lunch');

    const edited = await put({ endpoint: `PJSIP/${id}`, skills: { general: 4 } });
    expect(edited.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/agents/${id}/config`, headers: as(SUPERVISOR) })).json()).toEqual({ id, endpoint: `PJSIP/${id}`, skills: { general: 4 } });
    expect(await store.agentState(id)).toMatchObject({ state: 'paused', pauseReason: 'lunch', skills: { general: 4 } });

    // Available again, it is offered a call of a queue that needs the skill it just gained.
    await store.changeAgentState(id, 'unpause');
    await store.enqueue(call(`c-${id}`, spare));
    expect((await store.claim(Date.now())).map((o) => `${o.callId}>${o.agentId}`)).toEqual([`c-${id}>${id}`]);
    await store.callerLeft(`c-${id}`);

    expect((await app.inject({ method: 'DELETE', url: `/agents/${id}/config`, headers: as(ADMIN) })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/agents/${id}/config`, headers: as(ADMIN) })).json()).toMatchObject({ error: 'agent_not_found' });
    expect(await store.agentState(id)).toBeNull();

    const events = await eventsOf(`agent:${id}`);
    expect(events.map((e) => e.type)).toEqual(['routing.agent_changed', 'routing.agent_changed', 'routing.agent_removed']);
    expect(events[1]!.data).toEqual({ agentId: id, actor: 'admin#1', before: { id, endpoint: `PJSIP/${id}`, skills: { billing: 2 } }, after: { id, endpoint: `PJSIP/${id}`, skills: { general: 4 } } });
  });

  it('an invalid body is a 422 naming each JSON path, and nothing changes', async () => {
    const spare = uniq('spare');
    const { app, admin, storedConfig } = await instance(files(spare, ['a1']));
    const before = await storedConfig();
    const name = uniq('q');

    const bad = await app.inject({
      method: 'PUT',
      url: `/queues/${name}`,
      headers: as(ADMIN),
      payload: queueBody({ skills: [{ skill: 'general', minProficiency: 9 }], strategy: 'random', extra: 1 }),
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toBe('config_invalid');
    expect((bad.json().errors as Array<{ path: string }>).map((e) => e.path).sort()).toEqual(['(root)', 'skills.0.minProficiency', 'strategy']);

    const badName = await app.inject({ method: 'PUT', url: '/queues/Bad%20Name', headers: as(ADMIN), payload: queueBody() });
    expect(badName.statusCode).toBe(422);
    expect(badName.json().errors.map((e: { path: string }) => e.path)).toEqual(['name']);

    const badTarget = await app.inject({ method: 'PUT', url: `/queues/${name}`, headers: as(ADMIN), payload: queueBody({ overflow: [{ afterSeconds: 30, action: 'relax-skills' }, { afterSeconds: 60, action: 'move', queue: 'nowhere' }] }) });
    expect(badTarget.statusCode).toBe(422);
    expect(badTarget.json().errors).toEqual([{ path: 'overflow.1.queue', message: 'no queue "nowhere"' }]);

    const badAgent = await app.inject({ method: 'PUT', url: '/agents/a1/config', headers: as(ADMIN), payload: { endpoint: 'PJSIP/a1', skills: { general: 0 } } });
    expect(badAgent.statusCode).toBe(422);
    expect(badAgent.json().errors.map((e: { path: string }) => e.path)).toEqual(['skills.general']);

    const noBody = await app.inject({ method: 'PUT', url: '/agents/a1/config', headers: as(ADMIN) });
    expect(noBody.statusCode).toBe(422);

    expect((await app.inject({ method: 'GET', url: `/queues/${name}`, headers: as(ADMIN) })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/agents/a1/config', headers: as(ADMIN) })).json()).toEqual({ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } });
    expect(admin.queues().map((q) => q.name)).toEqual(['general', 'vip', spare]);
    expect(await storedConfig()).toBe(before);
    expect(await eventsOf(`queue:${name}`)).toEqual([]);
  });

  it('a change that would drop a ringing agent or a queue with waiting calls is a 409, and nothing changes', async () => {
    const spare = uniq('spare');
    const { app, store, storedConfig } = await instance(files(spare, ['a1']));
    await store.changeAgentState('a1', 'login');
    await store.enqueue(call('ringing-call', spare, Date.now() - 1_000));
    await store.enqueue(call('waiting-call', spare));
    expect((await store.claim(Date.now())).map((o) => o.agentId)).toEqual(['a1']);
    const before = await storedConfig();
    const eventsBefore = [...(await eventsOf(`queue:${spare}`)), ...(await eventsOf('agent:a1'))];

    const dropAgent = await app.inject({ method: 'DELETE', url: '/agents/a1/config', headers: as(ADMIN) });
    expect(dropAgent.statusCode).toBe(409);
    expect(dropAgent.json()).toMatchObject({ error: 'config_conflict', message: expect.stringContaining('agent a1 is ringing') });
    const dropQueue = await app.inject({ method: 'DELETE', url: `/queues/${spare}`, headers: as(ADMIN) });
    expect(dropQueue.statusCode).toBe(409);
    expect(dropQueue.json()).toMatchObject({ error: 'config_conflict', message: expect.stringContaining(`queue ${spare}`) });

    expect(await store.agentState('a1')).toMatchObject({ state: 'ringing', currentCallId: 'ringing-call' });
    expect((await store.waiting(spare)).map((c) => c.callId)).toEqual(['waiting-call']);
    expect((await app.inject({ method: 'GET', url: '/agents/a1/config', headers: as(ADMIN) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/queues/${spare}`, headers: as(ADMIN) })).statusCode).toBe(200);
    expect(await storedConfig()).toBe(before);
    expect([...(await eventsOf(`queue:${spare}`)), ...(await eventsOf('agent:a1'))]).toEqual(eventsBefore);
  });

  it('a queue that a published flow or another queue overflow names cannot be removed (409 queue_in_use)', async () => {
    const spare = uniq('spare');
    const { app, admin } = await instance(files(spare, []));
    expect(flows.active('main')).toBeDefined();

    const named = await app.inject({ method: 'DELETE', url: '/queues/general', headers: as(ADMIN) });
    expect(named.statusCode).toBe(409);
    // Every queue node that sends callers there is named, with its flow and active version.
    const mainVersion = flows.active('main')!.version;
    expect(named.json()).toEqual({
      error: 'queue_in_use',
      message: 'queue general is used by flow main node agent_queue, flow main node agent_queue_en',
      errors: [
        { path: 'flows.main.nodes.agent_queue', message: `flow main (active version ${mainVersion}) sends callers to queue general at node agent_queue` },
        { path: 'flows.main.nodes.agent_queue_en', message: `flow main (active version ${mainVersion}) sends callers to queue general at node agent_queue_en` },
      ],
    });

    const over = uniq('over');
    expect((await app.inject({ method: 'PUT', url: `/queues/${over}`, headers: as(ADMIN), payload: queueBody({ overflow: [{ afterSeconds: 30, action: 'move', queue: spare }] }) })).statusCode).toBe(201);
    const target = await app.inject({ method: 'DELETE', url: `/queues/${spare}`, headers: as(ADMIN) });
    expect(target.statusCode).toBe(409);
    expect(target.json()).toEqual({
      error: 'queue_in_use',
      message: `queue ${spare} is used by queue ${over} (overflow)`,
      errors: [{ path: `queues.${over}.overflow`, message: `queue ${over} overflows to queue ${spare}` }],
    });
    expect(admin.queue('general')).toBeDefined();
    expect(admin.queue(spare)).toBeDefined();
  });

  it('Postgres unreachable while a queue is removed: 503 database_unavailable (declared), and the queue stays', async () => {
    // A port nothing listens on: every connection is refused, as with Postgres down.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const url = new URL(inject('databaseUrl'));
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const down = createPool(url.toString(), () => undefined);
    // As src/main.ts wires it, on a store that can be switched to the reachable database.
    let flowStore = new FlowStore(down);
    const spare = uniq('spare');
    const { app, admin } = await instance(files(spare, []), undefined, (q, fn) => flowStore.withActiveVersions((active) => fn(queueReferences(active, q))));
    try {
      const refused = await app.inject({ method: 'DELETE', url: `/queues/${spare}`, headers: as(ADMIN) });
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toEqual({ error: 'database_unavailable', message: 'the flows in use could not be read from the database; nothing was changed, try again' });
      expect(admin.queue(spare)).toBeDefined();
      const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      expect(Object.keys(doc.paths['/queues/{name}']!.delete!.responses)).toContain('503');

      // Control: the same removal with Postgres reachable goes through.
      flowStore = new FlowStore(pool);
      expect((await app.inject({ method: 'DELETE', url: `/queues/${spare}`, headers: as(ADMIN) })).statusCode).toBe(204);
      expect(admin.queue(spare)).toBeUndefined();
    } finally {
      await down.end();
    }
  });

  it('roles: reading is for admins and supervisors, changes for admins; no token is a 401', async () => {
    const { app } = await instance(files(uniq('spare'), ['a1']));
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/queues'],
      ['GET', '/queues/general'],
      ['PUT', '/queues/general', queueBody()],
      ['DELETE', '/queues/general'],
      ['GET', '/agents/a1/config'],
      ['PUT', '/agents/a1/config', { endpoint: 'PJSIP/a1', skills: {} }],
      ['DELETE', '/agents/a1/config'],
    ];
    for (const [method, url, payload] of routes) {
      const go = (headers: Record<string, string>) => app.inject({ method: method as 'GET', url, headers, ...(payload ? { payload: payload as object } : {}) });
      expect((await go(as())).statusCode, `${method} ${url} without a token`).toBe(401);
      expect((await go(as('wrong-token-wrong-token'))).statusCode, `${method} ${url} with a wrong token`).toBe(401);
      expect((await go(as(AGENT))).statusCode, `${method} ${url} as agent`).toBe(403);
      expect((await go(as(SUPERVISOR))).statusCode, `${method} ${url} as supervisor`).toBe(method === 'GET' ? 200 : 403);
    }
    expect((await app.inject({ method: 'GET', url: '/agents/a1/config', headers: as(ADMIN) })).json().skills).toEqual({ general: 3 });
  });

  it('two instances editing at once lose no change (each edit starts from the stored config)', async () => {
    const cfg = files(uniq('spare'), []);
    const one = await instance(cfg);
    const two = await instance(cfg, one.prefix);
    expect(two.seeded).toBe('stored');
    const names = Array.from({ length: 6 }, () => uniq('q'));
    await Promise.all(names.map((n, i) => (i % 2 ? one : two).admin.putQueue(n, queueBody(), 'admin#1')));
    const three = await instance(cfg, one.prefix);
    expect(three.seeded).toBe('stored');
    expect(three.admin.queues().map((q) => q.name).sort()).toEqual([...cfg.queues.map((q) => q.name), ...names].sort());
  });

  it('an edit on one instance reaches the memory of another that follows the change channel', async () => {
    const cfg = files(uniq('spare'), []);
    const one = await instance(cfg);
    const two = await instance(cfg, one.prefix);
    const subscriber = new Redis(inject('redisUrl'));
    try {
      await two.admin.follow(subscriber);
      await one.admin.putQueue('general', { ...queueBody(), maxWaitSeconds: 77 }, 'admin#1');
      const deadline = Date.now() + 5_000;
      while (two.admin.queue('general')?.maxWaitSeconds !== 77 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(two.admin.queue('general')?.maxWaitSeconds).toBe(77);
    } finally {
      subscriber.disconnect();
    }
  });
});

describe('startup seeding from the files or the stored config', () => {
  let dir: string;
  const queuesFile = (wrapUpSeconds: number, comment = 'queues') =>
    JSON.stringify({ $comment: comment, skills: ['general'], queues: { general: { skills: ['general'], wrapUpSeconds }, vip: { skills: ['vip'] } } });
  const agentsFile = JSON.stringify({ agents: [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotline-routing-admin-'));
    await writeFile(join(dir, 'queues.json'), queuesFile(10));
    await writeFile(join(dir, 'agents.json'), agentsFile);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps run-time edits across a restart while the files are unchanged; edited files win', async () => {
    const first = await instance(await loadRoutingConfig(dir));
    expect(first.seeded).toBe('files');
    const added = uniq('q');
    await first.admin.putQueue(added, queueBody(), 'admin#1');
    await first.admin.putAgent('a1', { endpoint: 'PJSIP/a1', skills: { general: 5 } }, 'admin#1');
    await first.store.changeAgentState('a1', 'login');

    // Restart with the same files (a comment and the formatting changed): the stored config stays.
    await writeFile(join(dir, 'queues.json'), queuesFile(10, 'queues, reworded'));
    const second = await instance(await loadRoutingConfig(dir), first.prefix);
    expect(second.seeded).toBe('stored');
    expect(second.admin.queue(added)).toBeDefined();
    expect(second.admin.agent('a1')?.skills).toEqual({ general: 5 });
    expect(await second.store.agentState('a1')).toMatchObject({ state: 'available', skills: { general: 5 } });

    // An admin edits the file: it replaces the stored config, agents keep their state.
    await writeFile(join(dir, 'queues.json'), queuesFile(40));
    const third = await instance(await loadRoutingConfig(dir), first.prefix);
    expect(third.seeded).toBe('files');
    expect(third.admin.queue(added)).toBeUndefined();
    expect(third.admin.queue('general')?.wrapUpSeconds).toBe(40);
    expect(third.admin.agent('a1')?.skills).toEqual({ general: 3 });
    expect(await third.store.agentState('a1')).toMatchObject({ state: 'available', skills: { general: 3 } });
    expect(await codeOf(third.store.enqueue(call(`c-${added}`, added)))).toBe('UNKNOWN_QUEUE');
    const stored = JSON.parse((await third.storedConfig())!) as { sourceHash: string; updatedBy: string };
    expect(stored).toMatchObject({ sourceHash: (await loadRoutingConfig(dir)).sourceHash, updatedBy: 'file' });

    // The file change is recorded like an edit, with actor `file`.
    expect((await eventsOf(`queue:${added}`)).map((e) => [e.type, e.data.actor])).toEqual([
      ['routing.queue_changed', 'admin#1'],
      ['routing.queue_removed', 'file'],
    ]);
  });
});
