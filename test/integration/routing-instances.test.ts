import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { waitUntil } from './helpers/wait.ts';
import { queue } from '../helpers/routing-fixtures.ts';
import { FakeTelephony } from '../unit/fakes/fake-telephony.ts';
import { createLogger } from '../../src/log/logger.ts';
import { OfferRelay } from '../../src/routing/offer-relay.ts';
import { RoutingService } from '../../src/routing/routing-service.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import type { RoutingTimers } from '../../src/routing/routing-timers.ts';
import type { QueueConfig } from '../../src/routing/types.ts';

/**
 * Two app instances on one Redis (real RoutingStore, real OfferRelay with its pub/sub notice;
 * the telephony is a fake per instance): a claim made by one instance for a caller the other
 * owns must ring the agent from the owner, the only instance that can bridge that caller.
 */
const redis = new Redis(inject('redisUrl'));
const subscribers: Redis[] = [];
afterAll(async () => {
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

/** Timers are not what this file tests: they are accepted and never fire. */
const noTimers: RoutingTimers = { schedule: async () => undefined, cancel: async () => undefined };

async function instance(prefix: string, instanceId: string, config: QueueConfig = general) {
  const telephony = new FakeTelephony();
  const store = new RoutingStore(redis, prefix);
  const relay = new OfferRelay(redis, prefix, instanceId);
  const service = new RoutingService({
    store,
    relay,
    queueConfig: (name) => (name === 'general' ? config : undefined),
    ops: { append: () => undefined },
    events: { append: () => undefined },
    telephony,
    calls: { notify: () => undefined, record: () => undefined },
    log: createLogger('silent'),
    instanceId,
    timers: noTimers,
    callbackEndpoint: 'PJSIP/{number}@trunk',
    now: () => Date.now(),
    setTimer: (fn, ms) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
  });
  const subscriber = new Redis(inject('redisUrl'));
  subscribers.push(subscriber);
  await relay.follow(subscriber, () => void service.serveForwarded());
  const originated = () => telephony.calls.filter((c) => c.startsWith('originate '));
  return { service, store, telephony, relay, originated };
}

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
    await a.relay.start();
    await b.relay.start();
    a.relay.stop();
    b.relay.stop();
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
    await redis.hset(`${prefix}routing:instances`, 'app-b', String(Date.now() - 60_000));
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
});

