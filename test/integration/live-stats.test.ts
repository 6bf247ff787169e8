import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent, CallEventType } from '../../src/domain/call-event.ts';
import type { OpsEvent } from '../../src/domain/ops-event.ts';
import { buildApp } from '../../src/http/app.ts';
import { TokenAuth } from '../../src/http/auth.ts';
import { LiveMetrics } from '../../src/live/live-metrics.ts';
import type { LiveSnapshot } from '../../src/live/live-snapshot.ts';
import { LiveStats } from '../../src/live/live-stats.ts';
import { LiveStore } from '../../src/live/live-store.ts';
import { applyMergePatch } from '../../src/live/merge-patch.ts';
import { tee } from '../../src/live/tee.ts';
import { createLogger } from '../../src/log/logger.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import { queueSkillSum } from '../../src/routing/strategy.ts';
import { AGENT_STATES, type AgentConfig, type AgentState, type AgentStateChange, type QueueConfig } from '../../src/routing/types.ts';

/*
 * Live stats against real Redis and a real listening Fastify: events go through the tee'd
 * event writers (as main.ts wires them) into LiveStats; a WebSocket client (Node's global
 * WebSocket) applies the snapshot and patches it receives. Two "instances" share the prefix:
 * what one records, the other's clients see, and a new instance (a restart) resumes a call.
 */

const TOKENS = { supervisor: 'sup-token-0123456789', agent: 'agent-token-0123456789', admin: 'admin-token-0123456789' };
const METRICS_TOKEN = 'metrics-token-0123456789';
const log = createLogger('silent');
const redisUrl = inject('redisUrl');
const prefix = `${inject('redisPrefix')}live${randomBytes(4).toString('hex')}:`;
const redis = new Redis(redisUrl);
const routing = new RoutingStore(redis, prefix);

const general: QueueConfig = {
  name: 'general',
  skills: [{ skill: 'general', minProficiency: 1 }],
  strategy: 'longest-idle',
  ringTimeoutSeconds: 15,
  wrapUpSeconds: 0,
  maxWaitSeconds: 600,
  agingPerMinute: 0,
  announce: { position: true, estimatedWait: true, everySeconds: 30 },
  overflow: [],
  callback: true,
  joinWhenEmpty: false,
};

/** One app instance's live side: writers tee'd into LiveStats, the HTTP app listening on port 0. */
async function instance(opts: { metricsToken?: string } = {}) {
  const spoolDir = await mkdtemp(join(tmpdir(), 'hotline-live-'));
  const sink = { insertJson: async () => 0 };
  const writerOpts = { redisUrl, prefix, spoolDir };
  const writer = new EventWriter<CallEvent>(sink, log, { ...writerOpts, name: 'call_events' });
  const opsWriter = new EventWriter<OpsEvent>(sink, log, { ...writerOpts, name: 'ops_events' });
  const subscriber = new Redis(redisUrl);
  const live = new LiveStats({ store: new LiveStore(redis, prefix), queues: () => [general], subscriber, timeZone: 'Asia/Shanghai', log, now: () => Date.now() });
  await live.start();
  const events = tee(writer, live.recordCall.bind(live), log);
  const ops = tee(opsWriter, live.recordOps.bind(live), log);
  const auth = new TokenAuth(Object.entries(TOKENS).map(([role, t]) => `${role}:${t}`).join(','));
  const app = await buildApp({
    logger: log,
    readiness: { ari: () => true, postgres: async () => true, redis: async () => true, migrated: () => true },
    live: { live, metrics: new LiveMetrics(live), auth, metricsToken: opts.metricsToken ?? null },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    live,
    events,
    ops,
    writer,
    base: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/live/ws`,
    async close() {
      await app.close();
      live.close();
      subscriber.disconnect();
      await Promise.all([writer.close(), opsWriter.close()]);
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}
type Instance = Awaited<ReturnType<typeof instance>>;

/** A call's events, numbered in order as a call's runner numbers them. */
function callRecorder(inst: Instance, callId = randomUUID(), from = 0) {
  let seq = from;
  return {
    callId,
    /** `afterMs`: the event's time from now (waits are decided by event times, not by how fast the test runs). */
    record(type: CallEventType, data: Record<string, unknown> = {}, afterMs = 0) {
      inst.events.append({ id: randomUUID(), callId, seq: ++seq, type, at: new Date(Date.now() + afterMs).toISOString(), data });
    },
  };
}

function recordChanges(inst: Instance, changes: readonly AgentStateChange[]): void {
  for (const c of changes) {
    inst.ops.append({ id: randomUUID(), type: 'agent.state_changed', at: new Date(c.at).toISOString(), subject: `agent:${c.agentId}`, data: { ...c } });
  }
}

/** A WebSocket client that keeps the live state it was sent (snapshot, then merge patches). */
function client(url: string, init?: { headers: Record<string, string> }) {
  // Node's WebSocket (undici) takes headers as a second argument; browsers cannot, hence ?token=.
  const ws = init ? new WebSocket(url, init as unknown as string[]) : new WebSocket(url);
  let state: LiveSnapshot | null = null;
  const messages: string[] = [];
  const waiters: Array<{ test: (s: LiveSnapshot) => boolean; resolve: (s: LiveSnapshot) => void }> = [];
  ws.addEventListener('message', (m) => {
    const msg = JSON.parse(String(m.data)) as { type: 'snapshot'; snapshot: LiveSnapshot } | { type: 'patch'; patch: unknown };
    messages.push(msg.type);
    state = msg.type === 'snapshot' ? msg.snapshot : (applyMergePatch(state, msg.patch) as LiveSnapshot);
    for (const w of waiters.splice(0)) if (w.test(state)) w.resolve(state);
    else waiters.push(w);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('websocket failed')));
  });
  return {
    opened,
    messages,
    /** Resolves with the state once `test` holds (now or after a later message). */
    until(test: (s: LiveSnapshot) => boolean): Promise<LiveSnapshot> {
      if (state && test(state)) return Promise.resolve(state);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
    close: () => ws.close(),
  };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let a: Instance;
let b: Instance;
beforeAll(async () => {
  await routing.configure([general], [
    { id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 2 } },
    { id: 'a2', endpoint: 'PJSIP/a2', skills: { general: 1 } },
  ]);
  a = await instance();
  b = await instance({ metricsToken: METRICS_TOKEN });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('live stats', () => {
  it('streams a snapshot, then changes from events recorded on any instance', async () => {
    // A browser-style client on instance B (token in the query), events recorded on instance A.
    const c = client(`${b.ws}?token=${TOKENS.supervisor}`);
    await c.opened;
    const first = await c.until(() => true);
    expect(c.messages[0]).toBe('snapshot');
    expect(first.queues.general).toMatchObject({ waiting: 0, agents: { logged_out: 2 } });
    expect(first.today.offered).toBe(0);

    recordChanges(a, [await routing.changeAgentState('a1', 'login')]);
    await c.until((s) => s.queues.general!.agents.available === 1);

    const x = callRecorder(a);
    x.record('call.started', { caller: '13800000001', dialed: '10010' });
    x.record('flow.node_entered', { type: 'menu' });
    await c.until((s) => s.callsInIvr === 1 && s.today.offered === 1);

    x.record('queue.requested', { queue: 'general' });
    await routing.enqueue({ callId: x.callId, queue: 'general', skills: [], priority: 0, enqueuedAt: Date.now(), owner: 'test' });
    x.record('queue.joined', { queue: 'general', position: 1 });
    const waiting = await c.until((s) => s.queues.general!.waiting === 1 && s.callsQueued === 1);
    expect(waiting.callsInIvr).toBe(0);
    expect(waiting.queues.general!.oldestEnqueuedAt).not.toBeUndefined();

    const [offer] = await routing.claim(Date.now());
    expect(offer).toMatchObject({ callId: x.callId, agentId: 'a1' });
    x.record('agent.offered', { agentId: 'a1', queue: 'general' });
    await c.until((s) => s.queues.general!.waiting === 0 && s.queues.general!.agents.ringing === 1);

    const answered = await routing.answered(x.callId, 'a1');
    recordChanges(a, answered.changes);
    x.record('agent.answered', { agentId: 'a1', queue: 'general' });
    x.record('queue.left', { queue: 'general', reason: 'answered', agentId: 'a1' });
    const talking = await c.until((s) => s.callsTalking === 1 && s.queues.general!.agents.on_call === 1);
    expect(talking.queues.general!.today).toMatchObject({ offered: 1, reachedQueue: 1, answered: 1, answeredWithinThreshold: 1, serviceLevel: 1 });

    x.record('bridge.ended');
    x.record('call.ended', { cause: 'completed' });
    await c.until((s) => s.callsTalking === 0 && s.callsInIvr === 0);
    expect(c.messages.slice(1).every((t) => t === 'patch')).toBe(true);
    c.close();

    // The same events reached the event writer (the tee hands them on, it does not replace it).
    expect(await a.writer.whenDurable(5_000)).toBe(true);
    expect(await a.writer.backlog()).toBeGreaterThan(0);
  });

  it('keeps counting a call across a restart, from what Redis holds (nothing is counted twice)', async () => {
    const before = await a.live.snapshot();
    const y = callRecorder(a);
    y.record('call.started', { caller: '13800000002', dialed: '10010' });
    y.record('queue.requested', { queue: 'general' });
    y.record('queue.joined', { queue: 'general', position: 1 }, 1_000);
    // The snapshot's reads go after the call's writes on the same Redis connection.
    expect((await a.live.snapshot()).callsQueued).toBe(before.callsQueued + 1);
    // Instance A is gone; the call's last event comes from a new process (as reconcile's would).
    await a.close();
    a = await instance();
    const resumed = callRecorder(a, y.callId, 3);
    const c = client(a.ws, { headers: bearer(TOKENS.agent) });
    await c.opened;
    await c.until((s) => s.today.offered === before.today.offered + 1);
    // The caller hangs up 30 s after joining: an abandon (not a short one), in the service level's base.
    resumed.record('call.ended', { cause: 'caller_hangup' }, 31_000);
    const after = await c.until((s) => s.callsQueued === before.callsQueued);
    const [was, now] = [before.queues.general!.today, after.queues.general!.today];
    expect(after.today.offered).toBe(before.today.offered + 1);
    expect(now).toMatchObject({
      offered: was.offered + 1,
      reachedQueue: was.reachedQueue + 1,
      abandoned: was.abandoned + 1,
      shortAbandoned: was.shortAbandoned,
      answered: was.answered,
      serviceLevelBase: was.serviceLevelBase + 1,
    });
    c.close();

    // Today's counters are in Redis: a fresh instance reads the same figures.
    const fresh = (await (await fetch(`${b.base}/live`, { headers: bearer(TOKENS.admin) })).json()) as LiveSnapshot;
    expect(fresh.today).toEqual(after.today);
  });

  it('answers GET /live to readers only, and refuses a WebSocket without a valid token', async () => {
    expect((await fetch(`${a.base}/live`)).status).toBe(401);
    expect((await fetch(`${a.base}/live`, { headers: bearer('not-a-valid-token-at-all') })).status).toBe(401);
    const asAgent = await fetch(`${a.base}/live`, { headers: bearer(TOKENS.agent) });
    expect(asAgent.status).toBe(200);
    expect(Object.keys((await asAgent.json()) as LiveSnapshot)).toContain('queues');

    const noToken = client(a.ws);
    await expect(noToken.opened).rejects.toThrow('websocket failed');
    const badToken = client(`${a.ws}?token=not-a-valid-token-at-all`);
    await expect(badToken.opened).rejects.toThrow('websocket failed');
    // The same upgrade request answered over plain HTTP says why.
    const res = await fetch(`${a.base}/live/ws?token=nope`);
    expect(res.status).toBe(401);
  });

  it('serves /metrics in the Prometheus text format with the live gauges and process metrics', async () => {
    const res = await fetch(`${a.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
      expect(m, `unparsable line: ${line}`).not.toBeNull();
      samples.set(m![1]!, Number(m![2]));
    }
    const snap = await a.live.snapshot();
    expect(samples.get('hotline_queue_waiting_calls{queue="general"}')).toBe(snap.queues.general!.waiting);
    expect(samples.get('hotline_calls_in_ivr')).toBe(snap.callsInIvr);
    expect(samples.get('hotline_queue_agents{queue="general",state="available"}')).toBe(snap.queues.general!.agents.available);
    expect(samples.get('hotline_today_offered')).toBe(snap.today.offered);
    expect(samples.get('hotline_queue_today_answered{queue="general"}')).toBe(snap.queues.general!.today.answered);
    expect(samples.get('hotline_queue_today_service_level{queue="general"}')).toBeCloseTo(snap.queues.general!.today.serviceLevel!, 9);
    expect(samples.get('hotline_live_call_events_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE hotline_live_call_events_total counter$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);

    // Instance B has METRICS_TOKEN set: its own bearer token, not an API token.
    expect((await fetch(`${b.base}/metrics`)).status).toBe(401);
    expect((await fetch(`${b.base}/metrics`, { headers: bearer(TOKENS.admin) })).status).toBe(401);
    expect((await fetch(`${b.base}/metrics`, { headers: bearer(METRICS_TOKEN) })).status).toBe(200);
  });

  it("counts routing's floor as routing's own listings say: waiting, the oldest caller, agents by state per queue", async () => {
    // A seeded floor: two queues with aging (where score order is not enqueue order), one
    // without, one empty; callers of every priority enqueued out of time order; agents in
    // every state, some ringing after a claim.
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), Math.floor((seed / 2 ** 31) * n));
    const p = `${prefix}floor:`;
    const store = new RoutingStore(redis, p);
    const q = (name: string, skill: string, min: number, agingPerMinute: number): QueueConfig => ({ ...general, name, skills: [{ skill, minProficiency: min }], agingPerMinute });
    const queues = [q('aged', 'x', 2, 2), q('steep', 'y', 1, 0.5), q('flat', 'y', 1, 0), q('idle', 'z', 1, 0)];
    const agents: AgentConfig[] = Array.from({ length: 40 }, (_, i) => {
      const skills: Record<string, number> = {};
      if (rand(3)) skills.x = 1 + rand(3);
      if (rand(2)) skills.y = 1 + rand(3);
      return { id: `f${i}`, endpoint: `PJSIP/f${i}`, skills };
    });
    await store.configure(queues, agents);
    for (const a of agents) {
      const r = rand(4);
      if (r === 0) continue;
      await store.changeAgentState(a.id, 'login');
      if (r === 1) await store.changeAgentState(a.id, 'pause', 'break');
    }
    const now = Date.now();
    for (let i = 0; i < 300; i++) {
      const queue = ['aged', 'steep', 'flat'][rand(3)]!;
      await store.enqueue({ callId: `fc${i}`, queue, skills: rand(4) ? [] : ['nobody'], priority: rand(11), enqueuedAt: now - rand(600_000), owner: 'test' });
    }
    // In each aging queue the oldest caller (priority 0) is behind a newer VIP: the head is not the oldest.
    for (const name of ['aged', 'steep']) {
      await store.enqueue({ callId: `old-${name}`, queue: name, skills: ['nobody'], priority: 0, enqueuedAt: now - 700_000, owner: 'test' });
      await store.enqueue({ callId: `vip-${name}`, queue: name, skills: ['nobody'], priority: 10, enqueuedAt: now - 500_000, owner: 'test' });
    }
    await store.claim(now);

    const floor = await new LiveStore(redis, p).readFloor(queues.map((x) => x.name));
    const listed = await store.listAgents();
    const byState = (list: readonly { state: AgentState }[]) => Object.fromEntries(AGENT_STATES.map((st) => [st, list.filter((a) => a.state === st).length]).filter(([, n]) => n));
    expect(floor.agents).toEqual(byState(listed));
    expect(Object.keys(byState(listed)).length).toBeGreaterThan(2);
    for (const config of queues) {
      const waiting = await store.waiting(config.name);
      const f = floor.queues[config.name]!;
      expect(f.waiting, config.name).toBe(waiting.length);
      expect(f.oldest, config.name).toBe(waiting.length ? Math.min(...waiting.map((c) => c.enqueuedAt)) : 0);
      expect(f.agents, config.name).toEqual(byState(listed.filter((a) => queueSkillSum(a.skills, config) !== null)));
    }
    // The floor found the old caller behind the head (so the check above is not the head's time).
    for (const name of ['aged', 'steep']) {
      const list = await store.waiting(name);
      expect(floor.queues[name]!.oldest, name).toBe(now - 700_000);
      expect(list[0]!.callId, name).not.toBe(`old-${name}`);
    }
  });
});
