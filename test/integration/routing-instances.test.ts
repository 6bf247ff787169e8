import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import '../setup/provided.ts';
import { waitUntil } from './helpers/wait.ts';
import { queue } from '../helpers/routing-fixtures.ts';
import { FakeTelephony } from '../unit/fakes/fake-telephony.ts';
import { systemClock } from '../../src/calls/call-runner.ts';
import { Dispatcher } from '../../src/calls/dispatcher.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import type { OpsEvent } from '../../src/domain/ops-event.ts';
import { FlowSchema } from '../../src/flows/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { RedisCallRegistry } from '../../src/redis/redis-call-registry.ts';
import { OfferRelay } from '../../src/routing/offer-relay.ts';
import { RoutingService } from '../../src/routing/routing-service.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import { BullRoutingTimers, type RoutingTimers } from '../../src/routing/routing-timers.ts';
import type { QueueConfig } from '../../src/routing/types.ts';

/**
 * Two app instances on one Redis (real RoutingStore, real OfferRelay with its pub/sub notice;
 * the telephony is a fake per instance): a claim made by one instance for a caller the other
 * owns must ring the agent from the owner, the only instance that can bridge that caller.
 */
const redis = new Redis(inject('redisUrl'));
const subscribers: Redis[] = [];
const durable: BullRoutingTimers[] = [];
afterAll(async () => {
  for (const t of durable) await t.close().catch(() => undefined);
  for (const s of subscribers) s.disconnect();
  await redis.quit();
});

const general = queue('general', {
  wrapUpSeconds: 0,
  maxWaitSeconds: 300,
  announce: { position: false, estimatedWait: false, everySeconds: 30 },
  callback: false,
  joinWhenEmpty: true,
});

/** The instances' clock: a caller's enqueue time is the millisecond it reads. */
const clock = () => Date.now();

/**
 * Returns once `clock()` has moved on. Two callers that join in the same millisecond wait in the
 * order of their call ids (the queue's tie-break), not in the order they joined: a test whose
 * next caller must wait behind the last one lets the clock tick first.
 */
async function nextMillisecond(): Promise<void> {
  const t = clock();
  while (clock() <= t) await new Promise((r) => setTimeout(r, 1));
}

/** Timers are not what this file tests: they are accepted and never fire. */
const noTimers: RoutingTimers = { schedule: async () => undefined, cancel: async () => undefined };

/**
 * One app instance's routing. `follow: false`: it never takes the offers handed to it, as an
 * instance that crashed right after its callers joined. `durableTimers`: its timers are real
 * BullMQ jobs that fire into it (wrap-up ends on any such instance). `events`: the call events
 * it records; `ops`: its ops events (agent.state_changed).
 */
async function instance(prefix: string, instanceId: string, config: QueueConfig = general, opts: { follow?: boolean; durableTimers?: boolean } = {}) {
  const telephony = new FakeTelephony();
  const store = new RoutingStore(redis, prefix);
  const relay = new OfferRelay(redis, prefix, instanceId);
  const events: CallEvent[] = [];
  const ops: OpsEvent[] = [];
  let timers = noTimers;
  if (opts.durableTimers) {
    const t = new BullRoutingTimers(inject('redisUrl'), prefix, instanceId, (job) => service.onTimer(job), createLogger('silent'));
    durable.push(t);
    timers = t;
  }
  const service: RoutingService = new RoutingService({
    store,
    relay,
    registry: new RedisCallRegistry(redis, prefix),
    queueConfig: (name) => (name === 'general' ? config : undefined),
    ops: { append: (e) => void ops.push(e) },
    events: { append: (e) => void events.push(e) },
    telephony,
    calls: { notify: () => undefined, record: () => undefined },
    log: createLogger('silent'),
    instanceId,
    timers,
    callbackEndpoint: 'PJSIP/{number}@trunk',
    now: clock,
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
  });
  if (opts.follow !== false) {
    const subscriber = new Redis(inject('redisUrl'));
    subscribers.push(subscriber);
    await relay.follow(subscriber, () => void service.serveForwarded());
  }
  const originated = () => telephony.calls.filter((c) => c.startsWith('originate '));
  return { service, store, telephony, relay, originated, events, ops };
}

/** Both instances beat once, then neither beats again (a test moves a beat back by hand). */
async function beatOnce(...instances: Array<{ relay: OfferRelay }>): Promise<void> {
  for (const i of instances) {
    await i.relay.start();
    i.relay.stop();
  }
}

/** An instance whose last beat was a minute ago: gone. */
const silence = (prefix: string, instanceId: string) => redis.hset(`${prefix}routing:instances`, instanceId, String(Date.now() - 60_000));

describe('offers between instances', () => {
  it('an agent freed on one instance rings for a caller the other instance owns, from the owner', async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const a = await instance(prefix, 'app-a');
    const b = await instance(prefix, 'app-b');
    await a.store.configure([general], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    await a.service.changeAgentState('a1', 'login');
    await a.service.changeAgentState('a1', 'pause', 'break');
    const callId = `c-${randomUUID()}`;
    expect(await b.service.enqueue({ callId, channelId: 'caller-on-b', caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' })).toMatchObject({ ok: true });
    // The agent comes back through instance A, whose claim matches B's caller.
    await a.service.changeAgentState('a1', 'unpause');
    await waitUntil(() => b.originated().length === 1, 5_000, () => `B originated ${JSON.stringify(b.originated())}, A ${JSON.stringify(a.originated())}`);
    expect(b.originated()[0]).toMatch(/^originate PJSIP\/a1 /);
    expect(a.originated()).toEqual([]);
    expect((await a.store.agentState('a1'))?.state).toBe('ringing');
    // Nothing is left in either instance's hand-over list.
    expect(await redis.llen(`${prefix}routing:offers:app-b`)).toBe(0);
    expect(await redis.llen(`${prefix}routing:offers:app-a`)).toBe(0);
  });

  it("an instance that dies right after its claim: the offer is already on the owner's list, and the owner rings the agent at its next beat", async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const a = await instance(prefix, 'app-a');
    const b = await instance(prefix, 'app-b');
    await beatOnce(a, b);
    await a.store.configure([general], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    const callId = `c-${randomUUID()}`;
    expect(await b.service.enqueue({ callId, channelId: 'caller-on-b', caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' })).toMatchObject({ ok: true });
    // The agent logs in through the store alone (no claim follows); A's claim matches B's
    // caller, and A dies before it announces anything.
    await a.store.changeAgentState('a1', 'login');
    const offers = await a.store.claim(Date.now(), 0, 'app-a');
    expect(offers).toEqual([{ callId, agentId: 'a1', queue: 'general', endpoint: 'PJSIP/a1', owner: 'app-b', ringTimeoutSeconds: 15 }]);
    expect((await a.store.agentState('a1'))?.state).toBe('ringing');
    // Handed over in the claim's own step, as OfferRelay.take reads it.
    expect((await redis.lrange(`${prefix}routing:offers:app-b`, 0, -1)).map((o) => JSON.parse(o) as unknown)).toEqual(offers);
    expect(b.originated()).toEqual([]);

    // No notice came; B's next beat takes its list and rings the agent, for the queue's ring time.
    const originate = vi.spyOn(b.telephony, 'originate');
    await b.relay.start(() => b.service.afterBeat());
    b.relay.stop();
    expect(b.originated()).toEqual([expect.stringMatching(new RegExp(`^originate PJSIP/a1 \\S+ agentleg,${callId},a1$`))]);
    expect(originate).toHaveBeenCalledWith(expect.objectContaining({ endpoint: 'PJSIP/a1', timeoutSeconds: 15 }));
    expect(await redis.llen(`${prefix}routing:offers:app-b`)).toBe(0);
    expect(a.originated()).toEqual([]);
  });

  it("claim hands over each offer for another instance's caller, one entry per ringing agent on its owner's list; none for its own callers, none without the claiming instance's id", async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const store = new RoutingStore(redis, prefix);
    const all = queue('all', { strategy: 'ring-all', ringTimeoutSeconds: 25 });
    const one = queue('one');
    await store.configure(
      [all, one],
      [
        { id: 'r1', endpoint: 'PJSIP/r1', skills: { all: 1 } },
        { id: 'r2', endpoint: 'PJSIP/r2', skills: { all: 1 } },
        { id: 'o1', endpoint: 'PJSIP/o1', skills: { one: 1 } },
        { id: 'o2', endpoint: 'PJSIP/o2', skills: { one: 1 } },
        { id: 'o3', endpoint: 'PJSIP/o3', skills: { one: 1 } },
      ],
    );
    const now = Date.now();
    const join = (callId: string, q: string, owner: string, at: number) => store.enqueue({ callId, queue: q, skills: [], priority: 0, enqueuedAt: at, owner });
    await join('x-b', 'all', 'app-b', now);
    await join('y-c', 'one', 'app-c', now);
    await join('z-b', 'one', 'app-b', now + 1);
    await join('w-a', 'one', 'app-a', now + 2);
    for (const id of ['r1', 'r2', 'o1', 'o2', 'o3']) await store.changeAgentState(id, 'login', undefined, now);
    const offers = await store.claim(now + 10, 0, 'app-a');
    expect(offers.map((o) => `${o.callId}>${o.agentId}`).sort()).toEqual(['w-a>o3', 'x-b>r1', 'x-b>r2', 'y-c>o1', 'z-b>o2']);
    const listed = async (owner: string) => (await redis.lrange(`${prefix}routing:offers:${owner}`, 0, -1)).map((o) => JSON.parse(o) as unknown);
    // In claim order, with the fields and types claim returns (ringTimeoutSeconds a number).
    expect(await listed('app-b')).toEqual(offers.filter((o) => o.owner === 'app-b'));
    expect(await listed('app-b')).toHaveLength(3);
    expect(await listed('app-c')).toEqual(offers.filter((o) => o.owner === 'app-c'));
    expect(await redis.exists(`${prefix}routing:offers:app-a`)).toBe(0);

    // Without an instance id (older callers, the benches) nothing is handed over.
    await join('v-c', 'one', 'app-c', now + 3);
    await store.callerLeft('w-a', now + 20);
    expect((await store.claim(now + 30)).map((o) => `${o.callId}>${o.agentId}`)).toEqual(['v-c>o3']);
    expect(await listed('app-c')).toHaveLength(1);
  });

  it('an offer for a caller its own instance no longer has frees the agent instead of leaving it ringing', async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const a = await instance(prefix, 'app-a');
    await a.store.configure([general], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    // A call in routing owned by app-a that app-a has no caller for (its state was lost).
    const ghost = `ghost-${randomUUID()}`;
    await a.store.enqueue({ callId: ghost, queue: 'general', skills: [], priority: 0, enqueuedAt: Date.now(), owner: 'app-a' });
    await a.service.changeAgentState('a1', 'login');
    await waitUntil(
      async () => (await a.store.agentState('a1'))?.state === 'available' && (await redis.exists(`${prefix}routing:c:${ghost}`)) === 0,
      5_000,
      () => 'the agent stayed ringing for a caller nobody has',
    );
    expect(a.originated()).toEqual([]);
  });

  it("an instance that is gone: its ordinary caller leaves routing, its callback request is served by the claiming instance", async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const withCallback: QueueConfig = { ...general, callback: true };
    const a = await instance(prefix, 'app-a', withCallback);
    const b = await instance(prefix, 'app-b', withCallback);
    await beatOnce(a, b);
    await a.store.configure([withCallback], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    await a.service.changeAgentState('a1', 'login');
    await a.service.changeAgentState('a1', 'pause', 'break');
    // B's callers: one ordinary, then one that left a callback request (and hung up).
    const ordinary = `c-${randomUUID()}`;
    const callback = `cb-${randomUUID()}`;
    const join = (callId: string, channelId: string) =>
      b.service.enqueue({ callId, channelId, caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' });
    expect(await join(ordinary, 'ch-1')).toMatchObject({ ok: true });
    expect(await join(callback, 'ch-2')).toMatchObject({ ok: true });
    expect(await b.service.requestCallback(callback)).toEqual({ ok: true });
    await b.service.callEnded(callback);
    // B stops beating for longer than a restart takes.
    expect(await a.relay.gone('app-b')).toBe(false);
    await silence(prefix, 'app-b');
    expect(await a.relay.gone('app-b')).toBe(true);
    expect(await b.relay.gone('app-a')).toBe(false);

    // The agent comes back on A: the ordinary caller (first in line) leaves routing and frees
    // the agent, who is then offered the callback request, rung from A.
    await a.service.changeAgentState('a1', 'unpause');
    await waitUntil(() => a.originated().length === 1, 5_000, () => `A originated ${JSON.stringify(a.originated())}`);
    expect(a.originated()[0]).toMatch(/^originate PJSIP\/a1 /);
    expect(await redis.exists(`${prefix}routing:c:${ordinary}`)).toBe(0);
    expect(b.originated()).toEqual([]);
    expect(await redis.llen(`${prefix}routing:offers:app-b`)).toBe(0);
  });

  it('offers handed to an instance in the 30 s before it was found gone are taken from its list and served by the instance that finds it', async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const withCallback: QueueConfig = { ...general, callback: true };
    const a = await instance(prefix, 'app-a', withCallback);
    const b = await instance(prefix, 'app-b', withCallback, { follow: false });
    await beatOnce(a, b);
    await a.store.configure([withCallback], [
      { id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } },
      { id: 'a2', endpoint: 'PJSIP/a2', skills: { general: 3 } },
    ]);
    for (const id of ['a1', 'a2']) {
      await a.service.changeAgentState(id, 'login');
      await a.service.changeAgentState(id, 'pause', 'break');
    }
    // B's callers: a callback request (first in line), then an ordinary caller.
    const callback = `cb-${randomUUID()}`;
    const ordinary = `c-${randomUUID()}`;
    const join = (callId: string, channelId: string) =>
      b.service.enqueue({ callId, channelId, caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' });
    expect(await join(callback, 'ch-1')).toMatchObject({ ok: true });
    expect(await b.service.requestCallback(callback)).toEqual({ ok: true });
    await b.service.callEnded(callback);
    await nextMillisecond();
    expect(await join(ordinary, 'ch-2')).toMatchObject({ ok: true });

    // a1 comes back while B still counts as alive: the callback's offer is handed to B, which has crashed.
    await a.service.changeAgentState('a1', 'unpause');
    await waitUntil(async () => (await redis.llen(`${prefix}routing:offers:app-b`)) === 1, 5_000, () => 'the offer was not handed to B');
    expect((await a.store.agentState('a1'))?.state).toBe('ringing');

    // B falls silent; a2's offer for B's ordinary caller finds it gone, and with it the offer left in B's list.
    await silence(prefix, 'app-b');
    await a.service.changeAgentState('a2', 'unpause');
    // A serves B's list in its order: a1 rings for the callback, then the ordinary caller leaves
    // routing. a1's ring is not the end of it, so wait for the caller's leaving, the last step.
    await waitUntil(
      async () => (await redis.exists(`${prefix}routing:c:${ordinary}`)) === 0,
      5_000,
      () => `B's ordinary caller is still in routing; A originated ${JSON.stringify(a.originated())}`,
    );
    expect(a.originated()).toEqual([expect.stringMatching(new RegExp(`^originate PJSIP/a1 \\S+ agentleg,${callback},a1$`))]);
    expect(await redis.llen(`${prefix}routing:offers:app-b`)).toBe(0);
    expect((await a.store.agentState('a2'))?.state).toBe('available');
    expect(b.originated()).toEqual([]);
  });

  it("a gone instance's ordinary caller: its record ends once (instance_lost), and the restarted owner's reconcile does not end it again", async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const a = await instance(prefix, 'app-a');
    const b = await instance(prefix, 'app-b', general, { follow: false });
    await beatOnce(a, b);
    await a.store.configure([general], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    await a.service.changeAgentState('a1', 'login');
    await a.service.changeAgentState('a1', 'pause', 'break');
    // B's dispatcher registered the caller's channel; its record had reached seq 3 when B crashed.
    const registry = new RedisCallRegistry(redis, prefix);
    const callId = randomUUID();
    await registry.register('ch-1', callId);
    await registry.updateSeq('ch-1', 3);
    expect(await b.service.enqueue({ callId, channelId: 'ch-1', caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' })).toMatchObject({
      ok: true,
    });
    await silence(prefix, 'app-b');

    await a.service.changeAgentState('a1', 'unpause');
    await waitUntil(() => a.events.length > 0, 5_000, () => 'A recorded no event for the lost call');
    expect(a.events).toEqual([{ id: expect.any(String), callId, seq: 4, type: 'call.ended', at: expect.any(String), data: { cause: 'instance_lost', instance: 'app-b' } }]);
    expect(await redis.exists(`${prefix}routing:c:${callId}`)).toBe(0);
    expect((await a.store.agentState('a1'))?.state).toBe('available');

    // B starts again under its id; its reconcile finds the caller's channel still in Stasis.
    const telephony = new FakeTelephony();
    telephony.appChannels = ['ch-1'];
    const restartedEvents: CallEvent[] = [];
    const restarted = new Dispatcher({
      telephony,
      events: { append: (e) => void restartedEvents.push(e) },
      registry,
      clock: systemClock,
      flows: { get: () => undefined, active: () => undefined, forNumber: () => undefined },
      http: { request: async () => ({ ok: true, status: 200, body: {} }) },
      sms: { request: async () => undefined },
      queues: b.service,
      log: createLogger('silent'),
    });
    restarted.attach();
    telephony.emitConnection({ type: 'connected', reconnect: false });
    await waitUntil(async () => (await redis.exists(`${prefix}channel:ch-1`)) === 0, 5_000, () => 'reconcile did not close the channel');
    expect(telephony.calls).toContain('hangup ch-1');
    expect(restartedEvents).toEqual([]);
    expect(a.events.filter((e) => e.type === 'call.ended')).toHaveLength(1);
  });

  it("takes a gone owner's offers once between instances, and none from an owner that beats again", async () => {
    const prefix = `${inject('redisPrefix')}inst-${randomUUID().slice(0, 8)}:`;
    const a = new OfferRelay(redis, prefix, 'app-a');
    const c = new OfferRelay(redis, prefix, 'app-c');
    const b = new OfferRelay(redis, prefix, 'app-b');
    const offer = (n: number) => ({ callId: `c-${n}`, agentId: 'a1', endpoint: 'PJSIP/a1', queue: 'general', ringTimeoutSeconds: 20, owner: 'app-b' });
    // As claim hands offers over: pushed on the owner's list.
    const handOver = (o: ReturnType<typeof offer>) => redis.rpush(`${prefix}routing:offers:${o.owner}`, JSON.stringify(o));
    await beatOnce({ relay: b });
    for (let n = 0; n < 150; n++) await handOver(offer(n));
    // Alive: its list is its own.
    expect(await a.takeGone('app-b')).toEqual([]);
    await silence(prefix, 'app-b');
    const drain = async (r: OfferRelay) => {
      const taken: string[] = [];
      for (let o = await r.takeGone('app-b'); o.length; o = await r.takeGone('app-b')) taken.push(...o.map((x) => x.callId));
      return taken;
    };
    const [byA, byC] = await Promise.all([drain(a), drain(c)]);
    expect([...byA, ...byC].sort()).toEqual(Array.from({ length: 150 }, (_, n) => `c-${n}`).sort());
    // B starts again (beats) before anyone drains what was handed to it since.
    await handOver(offer(150));
    await beatOnce({ relay: b });
    expect(await a.takeGone('app-b')).toEqual([]);
    expect((await b.take()).map((o) => o.callId)).toEqual(['c-150']);
  });
});

describe('instances that are gone, found by the beat', () => {
  const withCallback: QueueConfig = { ...general, callback: true };
  const fresh = () => `${inject('redisPrefix')}gone-${randomUUID().slice(0, 8)}:`;
  const join = (b: { service: RoutingService }, callId: string, channelId: string) =>
    b.service.enqueue({ callId, channelId, caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' });
  /** A caller that asked for a callback and hung up. */
  const leaveCallback = async (b: { service: RoutingService }, callId: string, channelId: string) => {
    expect(await join(b, callId, channelId)).toMatchObject({ ok: true });
    expect(await b.service.requestCallback(callId)).toEqual({ ok: true });
    await b.service.callEnded(callId);
  };
  const loggedInPaused = async (a: { store: RoutingStore; service: RoutingService }, ids: string[]) => {
    await a.store.configure([withCallback], ids.map((id) => ({ id, endpoint: `PJSIP/${id}`, skills: { general: 3 } })));
    for (const id of ids) {
      await a.service.changeAgentState(id, 'login');
      await a.service.changeAgentState(id, 'pause', 'break');
    }
  };
  const stateOf = async (store: RoutingStore, id: string) => (await store.agentState(id))?.state;
  /**
   * B's two callers: a callback request (channel ch-1) and an ordinary caller (ch-2) whose
   * record, as B's dispatcher registered it, had reached `seq` when B died.
   */
  const bCallers = async (prefix: string, b: { service: RoutingService }, seq: number) => {
    const callback = `cb-${randomUUID()}`;
    const ordinary = randomUUID();
    const registry = new RedisCallRegistry(redis, prefix);
    await registry.register('ch-2', ordinary);
    await registry.updateSeq('ch-2', seq);
    await leaveCallback(b, callback, 'ch-1');
    await nextMillisecond();
    expect(await join(b, ordinary, 'ch-2')).toMatchObject({ ok: true });
    return { callback, ordinary };
  };

  it("a gone instance's offers, when none of its callers waits any more: the next beat of two live instances serves each once", async () => {
    const prefix = fresh();
    const a = await instance(prefix, 'app-a', withCallback);
    const c = await instance(prefix, 'app-c', withCallback);
    const b = await instance(prefix, 'app-b', withCallback, { follow: false });
    await beatOnce(a, b, c);
    await loggedInPaused(a, ['a1', 'a2']);
    // B's callers: a callback request, then an ordinary caller whose record had reached seq 3.
    const { callback, ordinary } = await bCallers(prefix, b, 3);
    // Both are offered while B still counts as alive: handed to B, which has crashed.
    await a.service.changeAgentState('a1', 'unpause');
    await waitUntil(async () => (await redis.llen(`${prefix}routing:offers:app-b`)) === 1, 5_000, () => 'the first offer was not handed to B');
    await a.service.changeAgentState('a2', 'unpause');
    await waitUntil(async () => (await redis.llen(`${prefix}routing:offers:app-b`)) === 2, 5_000, () => 'the second offer was not handed to B');
    expect([await stateOf(a.store, 'a1'), await stateOf(a.store, 'a2')]).toEqual(['ringing', 'ringing']);

    // B falls silent. Nothing of its waits, so no claim will find it gone: A and C beat at once.
    await silence(prefix, 'app-b');
    expect(await a.relay.goneToSweep()).toEqual(['app-b']);
    await Promise.all([a.relay.start(() => a.service.sweepGoneOwners()), c.relay.start(() => c.service.sweepGoneOwners())]);
    a.relay.stop();
    c.relay.stop();

    expect(await redis.llen(`${prefix}routing:offers:app-b`)).toBe(0);
    // Nothing is left to sweep: later beats cost one read.
    expect(await a.relay.goneToSweep()).toEqual([]);
    // The callback request rings a1 from one live instance only.
    expect([...a.originated(), ...c.originated()]).toEqual([expect.stringMatching(new RegExp(`^originate PJSIP/a1 \\S+ agentleg,${callback},a1$`))]);
    expect(b.originated()).toEqual([]);
    // The ordinary caller left routing, freed a2, and its record ended once.
    expect(await redis.exists(`${prefix}routing:c:${ordinary}`)).toBe(0);
    expect(await stateOf(a.store, 'a2')).toBe('available');
    expect([...a.events, ...c.events].filter((e) => e.type === 'call.ended')).toEqual([
      { id: expect.any(String), callId: ordinary, seq: 4, type: 'call.ended', at: expect.any(String), data: { cause: 'instance_lost', instance: 'app-b' } },
    ]);
  });

  it('agents a gone instance left ringing for offers it had taken itself are freed by the next beat: its callback request is offered again, its ordinary caller ends (instance_lost)', async () => {
    const prefix = fresh();
    const a = await instance(prefix, 'app-a', withCallback);
    const b = await instance(prefix, 'app-b', withCallback, { follow: false });
    await beatOnce(a, b);
    await loggedInPaused(a, ['a1', 'a2']);
    const { callback, ordinary } = await bCallers(prefix, b, 2);
    // B's own claims ring both agents from B; then B dies with the legs.
    await b.service.changeAgentState('a1', 'unpause');
    await waitUntil(() => b.originated().length === 1, 5_000, () => `B originated ${JSON.stringify(b.originated())}`);
    await b.service.changeAgentState('a2', 'unpause');
    await waitUntil(() => b.originated().length === 2, 5_000, () => `B originated ${JSON.stringify(b.originated())}`);
    expect(b.originated()).toEqual([expect.stringMatching(/^originate PJSIP\/a1 \S+ agentleg,cb-/), expect.stringMatching(/^originate PJSIP\/a2 \S+ agentleg,/)]);
    // Its last beat was a minute ago; it had rung the agents 2 s after it.
    const lastBeat = Date.now() - 60_000;
    await redis.hset(`${prefix}routing:instances`, 'app-b', String(lastBeat));
    for (const id of ['a1', 'a2']) await redis.hset(`${prefix}routing:a:${id}`, 'since', String(lastBeat + 2_000));
    expect(await redis.llen(`${prefix}routing:offers:app-b`)).toBe(0);

    await a.relay.start(() => a.service.sweepGoneOwners());
    a.relay.stop();

    // The ordinary caller is out of routing and its record ended once, after its seq 2.
    expect(await redis.exists(`${prefix}routing:c:${ordinary}`)).toBe(0);
    expect(a.events.filter((e) => e.type === 'call.ended')).toEqual([
      { id: expect.any(String), callId: ordinary, seq: 3, type: 'call.ended', at: expect.any(String), data: { cause: 'instance_lost', instance: 'app-b' } },
    ]);
    // The callback request went back to its place; the claim that followed rings a freed agent from A.
    await waitUntil(() => a.originated().length === 1, 5_000, () => `A originated ${JSON.stringify(a.originated())}`);
    expect(a.originated()[0]).toMatch(new RegExp(`^originate PJSIP/a[12] \\S+ agentleg,${callback},a[12]$`));
    const states = [await stateOf(a.store, 'a1'), await stateOf(a.store, 'a2')].sort();
    expect(states).toEqual(['available', 'ringing']);
    // Once per silence: the next beat leaves A's ring alone.
    await a.relay.start(() => a.service.sweepGoneOwners());
    a.relay.stop();
    expect([await stateOf(a.store, 'a1'), await stateOf(a.store, 'a2')].sort()).toEqual(['available', 'ringing']);
    expect(a.originated()).toHaveLength(1);
  });

  it("frees only the rings a gone instance started itself: not an offer still in its list, nor a live instance's later ring, nor another instance's; once per silence", async () => {
    const prefix = fresh();
    const store = new RoutingStore(redis, prefix);
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
    await store.configure([withCallback], ids.map((id) => ({ id, endpoint: `PJSIP/${id}`, skills: { general: 3 } })));
    const now = Date.now();
    const lastBeat = now - 60_000;
    await redis.hset(`${prefix}routing:instances`, { 'app-b': String(lastBeat), 'app-x': String(now) });
    /** `agent` logs in, `callId` (of `owner`) joins, and a claim at `at` rings the one for the other. */
    const ring = async (agent: string, callId: string, owner: string, at: number, channelId?: string) => {
      await store.changeAgentState(agent, 'login', undefined, at);
      await store.enqueue({ callId, queue: 'general', skills: [], priority: 0, enqueuedAt: at, owner, ...(channelId ? { channelId } : {}) });
      return store.claim(at);
    };
    await ring('r1', 'own', 'app-b', lastBeat + 2_000, 'ch-own');
    await store.changeAgentState('r2', 'login', undefined, lastBeat + 2_000);
    await store.changeAgentState('r2', 'pause', 'break', lastBeat + 2_000);
    await store.enqueue({ callId: 'own-cb', queue: 'general', skills: [], priority: 0, enqueuedAt: lastBeat + 2_000, owner: 'app-b' });
    expect(await store.markCallback('own-cb', '13800138000', { dialed: '10010', entryQueue: 'general', overflowApplied: [], recordId: randomUUID(), seq: 0, leftIn: 'general' })).toBe(true);
    await store.changeAgentState('r2', 'unpause', undefined, lastBeat + 2_000);
    expect(await store.claim(lastBeat + 2_000)).toMatchObject([{ callId: 'own-cb', agentId: 'r2' }]);
    // Handed to B in its last seconds: still in its list, for takeGone.
    const [listed] = await ring('r3', 'listed', 'app-b', lastBeat + 3_000);
    await redis.rpush(`${prefix}routing:offers:app-b`, JSON.stringify(listed));
    // Rung after B was judged gone: a live instance serving B's callback request.
    await ring('r4', 'late', 'app-b', lastBeat + 31_000);
    // Another instance's caller, rung as early.
    await ring('r5', 'other', 'app-x', lastBeat + 2_000);
    expect((await store.listAgents()).map((a) => a.state)).toEqual(['ringing', 'ringing', 'ringing', 'ringing', 'ringing']);

    // Alive: nothing.
    expect(await store.releaseGoneOwnerRings('app-x', now - 30_000, 15_000, now)).toEqual({ changes: [], requeued: [], lost: [] });
    const r = await store.releaseGoneOwnerRings('app-b', now - 30_000, 15_000, now);
    expect(r.changes.map((c) => [c.agentId, c.from, c.to]).sort()).toEqual([
      ['r1', 'ringing', 'available'],
      ['r2', 'ringing', 'available'],
    ]);
    expect(r.requeued).toEqual(['own-cb']);
    expect(r.lost).toEqual([{ callId: 'own', channelId: 'ch-own' }]);
    expect((await store.listAgents()).map((a) => a.state)).toEqual(['available', 'available', 'ringing', 'ringing', 'ringing']);
    expect(await redis.exists(`${prefix}routing:c:own`)).toBe(0);
    expect(await store.position('own-cb')).toBe(1);
    // Once per silence: a live instance has just taken the listed offer from B's list (takeGone)
    // and is about to ring r3 for it; a second release must not free r3 meanwhile (it would be
    // offered again while that ring goes on).
    expect(await redis.lpop(`${prefix}routing:offers:app-b`)).toBe(JSON.stringify(listed));
    expect(await store.releaseGoneOwnerRings('app-b', now - 30_000, 15_000, now)).toEqual({ changes: [], requeued: [], lost: [] });
    expect(await store.adoptGoneOffer('listed', 'r3', now)).toBe(true);
    // A stale offer (its agent rings for another call) is not adopted.
    expect(await store.adoptGoneOffer('listed', 'r4', now)).toBe(false);
    // B restarted, beat once more 20 s later and fell silent again: that silence is swept too,
    // and r4's ring, now within B's own time, is freed (its caller kept no channel); r3's ring,
    // adopted by a live instance, is not.
    await redis.hset(`${prefix}routing:instances`, 'app-b', String(lastBeat + 20_000));
    const again = await store.releaseGoneOwnerRings('app-b', now - 30_000, 15_000, now);
    expect(again.changes.map((c) => c.agentId)).toEqual(['r4']);
    expect(again.lost).toEqual([{ callId: 'late', channelId: null }]);
  });

  /**
   * B's dispatcher runs a caller's flow (a queue with exit key 0); the caller waits in the queue.
   * Then B stalls past 30 s: A's claim finds it gone and ends the caller's record (instance_lost).
   */
  const stalledCaller = async (prefix: string) => {
    const a = await instance(prefix, 'app-a');
    const b = await instance(prefix, 'app-b', general, { follow: false });
    await beatOnce(a, b);
    await loggedInPaused(a, ['a1']);
    const flow = FlowSchema.parse({
      id: 'q',
      version: 1,
      name: 'q',
      language: 'zh',
      start: 'wait',
      nodes: { wait: { type: 'queue', queue: 'general', exitKey: '0', onExit: 'bye', next: 'bye' }, bye: { type: 'hangup', reason: 'completed' } },
    });
    const bEvents: CallEvent[] = [];
    const dispatcher = new Dispatcher({
      telephony: b.telephony,
      events: { append: (e) => void bEvents.push(e) },
      registry: new RedisCallRegistry(redis, prefix),
      clock: systemClock,
      flows: { get: () => flow, active: () => flow, forNumber: () => flow },
      http: { request: async () => ({ ok: true, status: 200, body: {} }) },
      sms: { request: async () => undefined },
      queues: b.service,
      log: createLogger('silent'),
    });
    dispatcher.attach();
    const at = new Date().toISOString();
    b.telephony.emit({ type: 'channel.entered', channelId: 'ch-1', args: ['inbound', '10010'], channelName: 'PJSIP/trunk-00000001', caller: { number: '13800138000', name: '' }, at });
    await waitUntil(() => bEvents.some((e) => e.type === 'queue.joined'), 5_000, () => `B's caller did not join: ${JSON.stringify(bEvents)}`);
    const callId = bEvents[0]!.callId;

    await silence(prefix, 'app-b');
    await a.service.changeAgentState('a1', 'unpause');
    await waitUntil(() => a.events.length > 0, 5_000, () => 'A did not end the lost call');
    expect(a.events).toEqual([{ id: expect.any(String), callId, seq: expect.any(Number), type: 'call.ended', at: expect.any(String), data: { cause: 'instance_lost', instance: 'app-b' } }]);
    return { a, b, dispatcher, bEvents, callId };
  };

  it("a stalled instance's caller ended elsewhere (instance_lost): its own call handler, running again, records no second call.ended", async () => {
    const prefix = fresh();
    const { a, b, dispatcher, bEvents, callId } = await stalledCaller(prefix);

    // B runs again: its caller hangs up, and its flow ends the call.
    b.telephony.emit({ type: 'channel.hangup_requested', channelId: 'ch-1', cause: 16, at: new Date().toISOString() });
    await waitUntil(() => dispatcher.liveCalls === 0, 5_000, () => "B's call handler did not end");
    expect(bEvents.filter((e) => e.type === 'call.ended')).toEqual([]);
    expect([...a.events, ...bEvents].filter((e) => e.callId === callId && e.type === 'call.ended')).toHaveLength(1);
    expect(await redis.exists(`${prefix}channel:ch-1`)).toBe(0);
  });

  it("a stalled instance's caller ended elsewhere (instance_lost): its call handler, running again, writes no event under the call's seqs and hangs the caller up", async () => {
    const prefix = fresh();
    const { a, b, dispatcher, bEvents, callId } = await stalledCaller(prefix);
    const before = bEvents.length;

    // B runs again: the caller presses the exit key, which would record its dtmf and queue.left.
    b.telephony.emit({ type: 'dtmf.received', channelId: 'ch-1', digit: '0', at: new Date().toISOString() });
    await waitUntil(() => dispatcher.liveCalls === 0 || bEvents.length > before, 5_000, () => "B's call handler neither ended nor recorded");
    const seqs = [...bEvents, ...a.events].filter((e) => e.callId === callId).map((e) => e.seq);
    expect(seqs.length, `seqs ${JSON.stringify(seqs)}`).toBe(new Set(seqs).size);
    await waitUntil(() => dispatcher.liveCalls === 0, 5_000, () => "B's call handler did not end");
    // The record ended at A's call.ended: nothing after it, and the caller's channel is ended.
    expect(bEvents.slice(before)).toEqual([]);
    expect(b.telephony.calls).toContain('hangup ch-1');
    expect(b.telephony.calls.filter((c) => c.startsWith('continue '))).toEqual([]);
    expect(await redis.exists(`${prefix}channel:ch-1`)).toBe(0);
  });

  it("a stalled instance's caller who only waits, ended elsewhere (instance_lost): the instance's next beat hangs the caller up, records nothing, and routing forgets the caller", async () => {
    // B's telephony is the fake of instance(): the hangup is read from what B asked of it.
    const prefix = fresh();
    const { a, b, dispatcher, bEvents, callId } = await stalledCaller(prefix);
    const before = bEvents.length;
    const left = vi.spyOn(b.service, 'callEnded');
    expect(b.telephony.calls).not.toContain('hangup ch-1');

    // B runs again; its caller presses nothing. B beats once, with main.ts's after-beat steps.
    await b.relay.start(async () => {
      await dispatcher.hangUpCallsEndedElsewhere();
      await b.service.afterBeat();
    });
    b.relay.stop();
    expect(b.telephony.calls).toContain('hangup ch-1');
    await waitUntil(() => dispatcher.liveCalls === 0, 5_000, () => "B's call handler did not end");
    expect(left).toHaveBeenCalledWith(callId);
    expect(bEvents.slice(before)).toEqual([]);
    expect([...a.events, ...bEvents].filter((e) => e.callId === callId && e.type === 'call.ended')).toHaveLength(1);
    expect(b.telephony.calls.filter((c) => c.startsWith('continue '))).toEqual([]);
    await waitUntil(async () => (await redis.exists(`${prefix}channel:ch-1`)) === 0, 5_000, () => "B's call's registration was not removed");
  });
});

describe('agents on a call whose instance is gone, found by the beat', () => {
  const fresh = () => `${inject('redisPrefix')}talk-${randomUUID().slice(0, 8)}:`;
  const stateOf = async (store: RoutingStore, id: string) => (await store.agentState(id))?.state;
  /** Both instances beat at once and sweep as after any beat (afterBeat), then stop beating. */
  const beatAll = async (...xs: Array<{ relay: OfferRelay; service: RoutingService }>) => {
    await Promise.all(xs.map((x) => x.relay.start(() => x.service.afterBeat())));
    for (const x of xs) x.relay.stop();
  };
  /**
   * B's caller on channel ch-1 (its record at `seq` as B's dispatcher registered it) is rung
   * from B to a1 and answered: a1 is on_call, the two legs bridged on B. Returns the call and
   * the agent's leg.
   */
  const answeredOnB = async (prefix: string, b: Awaited<ReturnType<typeof instance>>, seq: number) => {
    const callId = randomUUID();
    const registry = new RedisCallRegistry(redis, prefix);
    await registry.register('ch-1', callId);
    await registry.updateSeq('ch-1', seq);
    expect(await b.service.enqueue({ callId, channelId: 'ch-1', caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' })).toMatchObject({
      ok: true,
    });
    await b.service.changeAgentState('a1', 'login');
    await waitUntil(() => b.originated().length === 1, 5_000, () => `B originated ${JSON.stringify(b.originated())}`);
    const legId = b.originated()[0]!.split(' ')[2]!;
    await b.service.agentLegAnswered(legId, callId, 'a1');
    expect(await stateOf(b.store, 'a1')).toBe('on_call');
    expect(b.telephony.calls).toContain(`addToBridge bridge-${callId} ch-1,${legId}`);
    return { callId, legId };
  };
  /** A and B on `general` with a1; B's caller answered by a1 (its record at `seq`); then B falls silent. */
  const talkOfSilentB = async (seq: number) => {
    const prefix = fresh();
    const a = await instance(prefix, 'app-a');
    const b = await instance(prefix, 'app-b', general, { follow: false });
    await beatOnce(a, b);
    await a.store.configure([general], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    const { callId, legId } = await answeredOnB(prefix, b, seq);
    await silence(prefix, 'app-b');
    return { prefix, a, b, callId, legId };
  };
  const agentChanges = (...xs: Array<{ ops: OpsEvent[] }>) => xs.flatMap((x) => x.ops).filter((e) => e.type === 'agent.state_changed').map((e) => e.data);

  it('stays on_call while its leg exists, looked at again on each beat; once the agent hangs up: wrap-up then available, the caller hung up, its record ended once (instance_lost)', async () => {
    const prefix = fresh();
    const wrapped: QueueConfig = { ...general, wrapUpSeconds: 1 };
    const a = await instance(prefix, 'app-a', wrapped, { durableTimers: true });
    const c = await instance(prefix, 'app-c', wrapped, { durableTimers: true });
    const b = await instance(prefix, 'app-b', wrapped, { follow: false });
    await beatOnce(a, b, c);
    await a.store.configure([wrapped], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    const { callId, legId } = await answeredOnB(prefix, b, 4);
    // B dies; in Asterisk the caller and the agent stay bridged in Stasis, still talking.
    await silence(prefix, 'app-b');
    a.telephony.liveChannels.add(legId);
    c.telephony.liveChannels.add(legId);

    for (let beat = 1; beat <= 2; beat++) {
      await beatAll(a, c);
      expect(await stateOf(a.store, 'a1')).toBe('on_call');
      expect([...a.telephony.calls, ...c.telephony.calls].filter((x) => x === `channelExists ${legId}`)).toHaveLength(2 * beat);
      // Still to be looked at on the next beat.
      expect(await a.relay.goneToSweep()).toEqual(['app-b']);
    }
    expect([...a.telephony.calls, ...c.telephony.calls].filter((x) => !x.startsWith('channelExists '))).toEqual([]);
    expect([...a.events, ...c.events]).toEqual([]);
    expect(agentChanges(a, c)).toEqual([]);

    // The agent hangs up; the caller is left alone in the bridge. Both live instances sweep at once.
    a.telephony.liveChannels.delete(legId);
    c.telephony.liveChannels.delete(legId);
    await beatAll(a, c);
    const telephony = [...a.telephony.calls, ...c.telephony.calls].filter((x) => !x.startsWith('channelExists '));
    expect(telephony.sort()).toEqual([`destroyBridge bridge-${callId}`, 'hangup ch-1']);
    expect([...a.events, ...c.events]).toEqual([
      { id: expect.any(String), callId, seq: 5, type: 'call.ended', at: expect.any(String), data: { cause: 'instance_lost', instance: 'app-b' } },
    ]);
    expect(agentChanges(a, c)).toEqual([{ agentId: 'a1', from: 'on_call', to: 'wrap_up', reason: 'instance_lost' }]);
    // The wrap-up is a durable timer like any other: a1 is available after the queue's 1 s.
    await waitUntil(async () => (await stateOf(a.store, 'a1')) === 'available', 10_000, () => 'a1 did not come out of wrap-up');
    expect(agentChanges(a, c)).toEqual([
      { agentId: 'a1', from: 'on_call', to: 'wrap_up', reason: 'instance_lost' },
      { agentId: 'a1', from: 'wrap_up', to: 'available', reason: null },
    ]);
    expect((await a.store.agentState('a1'))?.callsToday).toBe(1);
    // Nothing left to look at; a later beat ends nothing twice.
    expect(await a.relay.goneToSweep()).toEqual([]);
    await beatAll(a, c);
    expect([...a.events, ...c.events].filter((e) => e.type === 'call.ended')).toHaveLength(1);
  });

  it("an owner that was only stalled, hearing late that its agent's leg ended, does not end the call the agent has taken since", async () => {
    // B stalls past 30 s; the agent hangs up meanwhile and A's beat ends the talk (no wrap-up in this queue).
    const { a, b, callId, legId } = await talkOfSilentB(3);
    await beatAll(a);
    expect(agentChanges(a)).toEqual([{ agentId: 'a1', from: 'on_call', to: 'available', reason: 'instance_lost' }]);
    expect(a.events.filter((e) => e.type === 'call.ended').map((e) => e.callId)).toEqual([callId]);
    // a1 takes A's next caller.
    const next = randomUUID();
    expect(await a.service.enqueue({ callId: next, channelId: 'ch-9', caller: '13800138001', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' })).toMatchObject({
      ok: true,
    });
    await waitUntil(() => a.originated().length === 1, 5_000, () => `A originated ${JSON.stringify(a.originated())}`);
    const nextLeg = a.originated()[0]!.split(' ')[2]!;
    await a.service.agentLegAnswered(nextLeg, next, 'a1');
    expect(await a.store.agentState('a1')).toMatchObject({ state: 'on_call', currentCallId: next });

    // B runs again and hears its old leg end: a1 stays on the call it has now.
    await b.service.channelDestroyed(legId, 16);
    expect(await a.store.agentState('a1')).toMatchObject({ state: 'on_call', currentCallId: next, callsToday: 1 });
    // That call ends as usual.
    await a.service.channelDestroyed(nextLeg, 16);
    expect(await a.store.agentState('a1')).toMatchObject({ state: 'available', callsToday: 2 });
  });

  it('leaves alone the call of an owner that beats again (restarted), even when the agent hung up meanwhile; the owner ends it itself', async () => {
    const { prefix, a, b, callId, legId } = await talkOfSilentB(2);
    // A finds a1 on a call of gone B, and sees its leg gone ...
    expect(await a.store.goneOwnerTalks('app-b', Date.now() - 30_000)).toEqual([{ agentId: 'a1', callId, legId, channelId: 'ch-1' }]);
    expect(await a.telephony.channelExists(legId)).toBe(false);
    // ... but B beats again before A ends the talk: the step that would end it refuses.
    await beatOnce(b);
    expect(await a.store.goneTalkEnded('app-b', Date.now() - 30_000, 'a1', callId)).toBeNull();
    expect(await a.store.goneOwnerTalks('app-b', Date.now() - 30_000)).toEqual([]);
    await beatAll(a);
    expect(await stateOf(a.store, 'a1')).toBe('on_call');
    expect(a.telephony.calls.filter((x) => x !== `channelExists ${legId}`)).toEqual([]);
    expect(a.events).toEqual([]);
    expect(agentChanges(a)).toEqual([]);

    // B, running again, hears the leg end and moves a1 on as after any call.
    await b.service.channelDestroyed(legId, 16);
    expect(await stateOf(a.store, 'a1')).toBe('available');
    // B falls silent again later: its ended call is not found again.
    await silence(prefix, 'app-b');
    expect(await a.store.goneOwnerTalks('app-b', Date.now() - 30_000)).toEqual([]);
    await beatAll(a);
    expect(await stateOf(a.store, 'a1')).toBe('available');
    expect(a.events).toEqual([]);
    expect(a.telephony.calls.filter((x) => x !== `channelExists ${legId}`)).toEqual([]);
  });
});
