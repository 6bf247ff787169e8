import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { queue as baseQueue, call, codeOf, expectAvailabilityIndexes, MIN, T0 } from '../helpers/routing-fixtures.ts';
import { LuaScript } from '../../src/routing/lua-scripts.ts';
import { freePort, RedisServer } from './helpers/redis-server.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import { planClaim, queueSkillSum } from '../../src/routing/strategy.ts';
import { RoutingError, type AgentConfig, type AgentState, type Offer, type QueueConfig, type WaitingCall } from '../../src/routing/types.ts';


const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.quit());

let stores = 0;
/** A store on its own key prefix, configured, with the given agents logged in. */
async function fresh(queues: QueueConfig[], agents: AgentConfig[], login: string[] = agents.map((a) => a.id)) {
  const prefix = `${inject('redisPrefix')}rs${stores++}:`;
  const store = new RoutingStore(redis, prefix);
  await store.configure(queues, agents, T0);
  for (const id of login) await store.changeAgentState(id, 'login', undefined, T0);
  return { store, prefix };
}

/** The shared queue fixture with the 30 s wrap-up these tests count on. */
const queue = (name: string, over: Partial<QueueConfig> = {}) => baseQueue(name, { wrapUpSeconds: 30, ...over });
const agent = (id: string, skills: Record<string, number>): AgentConfig => ({ id, endpoint: `PJSIP/${id}`, skills });
const pairs = (offers: Offer[]) => offers.map((o) => `${o.callId}>${o.agentId}`);

async function stateOf(store: RoutingStore, id: string): Promise<AgentState | undefined> {
  return (await store.agentState(id))?.state;
}

/**
 * The waiting-call indexes agree: each queue's order is exactly the union of its classes, every
 * listed class has calls, and every waiting member's call hash says waiting in that class.
 */
async function expectConsistentQueues(prefix: string, queues: QueueConfig[]) {
  const base = `${prefix}routing:`;
  for (const q of queues) {
    const all = await redis.zrange(`${base}wq:${q.name}`, 0, -1, 'WITHSCORES');
    const classes = await redis.zrange(`${base}qh:${q.name}`, 0, -1);
    const fromClasses: string[] = [];
    for (const extras of classes) {
      const members = await redis.zrange(`${base}wc:${q.name}|${extras}`, 0, -1, 'WITHSCORES');
      expect(members.length, `class ${q.name}|${extras}`).toBeGreaterThan(0);
      for (let i = 0; i < members.length; i += 2) {
        fromClasses.push(`${members[i]} ${members[i + 1]}`);
        const c = await redis.hmget(`${base}c:${members[i]!.slice(16)}`, 'status', 'queue', 'extras');
        expect(c).toEqual(['waiting', q.name, extras]);
      }
    }
    const pairsOf = (xs: string[]) => xs.flatMap((x, i) => (i % 2 === 0 ? [`${x} ${xs[i + 1]}`] : []));
    expect(fromClasses.sort()).toEqual(pairsOf(all).sort());
    const stray = (await redis.keys(`${base}wc:${q.name}|*`)).filter((k) => !classes.includes(k.slice(`${base}wc:${q.name}|`.length)));
    expect(stray).toEqual([]);
  }
}

/** Takes the agent through one call on queue `q` so it ends at `endedAt` (lastCallEndedAt, callsToday + 1). */
async function oneCall(store: RoutingStore, agentId: string, q: string, endedAt: number, tag: string) {
  await store.enqueue(call(`warm-${agentId}-${tag}`, q));
  const offers = await store.claim(T0);
  expect(offers.map((o) => o.agentId)).toContain(agentId);
  for (const o of offers) {
    await store.answered(o.callId, o.agentId, endedAt);
    await store.agentCallEnded(o.agentId, endedAt);
    await store.wrapUpEnded(o.agentId, o.callId, endedAt);
  }
}

describe('agent state', () => {
  it('follows the documented transitions and refuses the rest with INVALID_TRANSITION', async () => {
    const { store } = await fresh([queue('billing')], [agent('a1', { billing: 3 })], []);
    const step = (action: 'login' | 'logout' | 'pause' | 'unpause', reason?: string) =>
      store.changeAgentState('a1', action, reason, T0 + 1).then((c) => `${c.from}->${c.to}`, (e: RoutingError) => `${e.code}:${e.state}`);
    expect(await step('pause')).toBe('INVALID_TRANSITION:logged_out');
    expect(await step('unpause')).toBe('INVALID_TRANSITION:logged_out');
    expect(await step('logout')).toBe('INVALID_TRANSITION:logged_out');
    expect(await step('login')).toBe('logged_out->available');
    expect(await step('login')).toBe('INVALID_TRANSITION:available');
    expect(await step('unpause')).toBe('INVALID_TRANSITION:available');
    expect(await step('pause', 'lunch')).toBe('available->paused');
    expect((await store.agentState('a1'))?.pauseReason).toBe('lunch');
    expect(await step('pause', 'training')).toBe('paused->paused');
    expect((await store.agentState('a1'))?.pauseReason).toBe('training');
    expect(await step('unpause')).toBe('paused->available');
    expect(await step('logout')).toBe('available->logged_out');
    expect(await step('login')).toBe('logged_out->available');
    await store.changeAgentState('a1', 'pause', 'break');
    expect(await step('logout')).toBe('paused->logged_out');
    expect(await codeOf(store.changeAgentState('nobody', 'login'))).toBe('UNKNOWN_AGENT');
  });

  it('returns what an agent.state_changed event needs', async () => {
    const { store } = await fresh([queue('billing')], [agent('a1', { billing: 3 })], []);
    expect(await store.changeAgentState('a1', 'login', undefined, T0 + 5)).toEqual({ agentId: 'a1', from: 'logged_out', to: 'available', reason: null, at: T0 + 5 });
    expect(await store.changeAgentState('a1', 'logout', 'unregistered', T0 + 6)).toEqual({
      agentId: 'a1',
      from: 'available',
      to: 'logged_out',
      reason: 'unregistered',
      at: T0 + 6,
    });
    const snap = await store.agentState('a1');
    expect(snap).toMatchObject({ id: 'a1', endpoint: 'PJSIP/a1', skills: { billing: 3 }, state: 'logged_out', pauseReason: null, stateSince: T0 + 6 });
  });

  it('walks a whole call: ringing, on_call, wrap_up (counted), available', async () => {
    const { store } = await fresh([queue('billing', { wrapUpSeconds: 45 })], [agent('a1', { billing: 3 })]);
    await store.enqueue(call('c1', 'billing'));
    const [offer] = await store.claim(T0 + 1);
    expect(offer).toEqual({ callId: 'c1', agentId: 'a1', queue: 'billing', endpoint: 'PJSIP/a1', owner: 'app-1', ringTimeoutSeconds: 15 });
    expect(await store.agentState('a1')).toMatchObject({ state: 'ringing', currentCallId: 'c1', currentQueue: 'billing' });
    expect(await codeOf(store.changeAgentState('a1', 'pause'))).toBe('INVALID_TRANSITION');
    expect(await codeOf(store.changeAgentState('a1', 'logout'))).toBe('INVALID_TRANSITION');
    expect(await codeOf(store.agentCallEnded('a1', T0 + 2))).toBe('INVALID_TRANSITION');

    expect((await store.answered('c1', 'a1', T0 + 3)).changes).toEqual([{ agentId: 'a1', from: 'ringing', to: 'on_call', reason: null, at: T0 + 3 }]);
    expect(await store.position('c1')).toBeNull();
    expect(await codeOf(store.changeAgentState('a1', 'logout'))).toBe('INVALID_TRANSITION');
    expect(await store.wrapUpEnded('a1')).toBeNull();

    const ended = await store.agentCallEnded('a1', T0 + 4 * MIN);
    expect(ended).toEqual({ wrapUpSeconds: 45, changes: [{ agentId: 'a1', from: 'on_call', to: 'wrap_up', reason: null, at: T0 + 4 * MIN }] });
    expect(await store.agentState('a1')).toMatchObject({ state: 'wrap_up', callsToday: 1, lastCallEndedAt: T0 + 4 * MIN, currentCallId: 'c1' });
    // Wrap-up is not available: a new call waits.
    await store.enqueue(call('c2', 'billing'));
    expect(await store.claim(T0 + 4 * MIN)).toEqual([]);
    expect(await store.wrapUpEnded('a1', 'some-older-call')).toBeNull();
    expect(await store.wrapUpEnded('a1', 'c1', T0 + 5 * MIN)).toEqual({ agentId: 'a1', from: 'wrap_up', to: 'available', reason: null, at: T0 + 5 * MIN });
    expect(await store.agentState('a1')).toMatchObject({ state: 'available', currentCallId: null });
    expect(pairs(await store.claim(T0 + 5 * MIN))).toEqual(['c2>a1']);
  });

  it('goes straight to available when the queue has no wrap-up, and a pause during wrap-up sticks', async () => {
    const { store } = await fresh([queue('fast', { wrapUpSeconds: 0 }), queue('slow')], [agent('a1', { fast: 1, slow: 1 })]);
    await store.enqueue(call('c1', 'fast'));
    await store.claim(T0);
    await store.answered('c1', 'a1');
    expect(await store.agentCallEnded('a1', T0 + MIN)).toMatchObject({ wrapUpSeconds: 0, changes: [{ from: 'on_call', to: 'available' }] });

    await store.enqueue(call('c2', 'slow'));
    await store.claim(T0);
    await store.answered('c2', 'a1');
    expect((await store.agentCallEnded('a1', T0 + 2 * MIN)).wrapUpSeconds).toBe(30);
    await store.changeAgentState('a1', 'pause', 'after-call-work');
    expect(await store.wrapUpEnded('a1', 'c2')).toBeNull();
    expect(await store.agentState('a1')).toMatchObject({ state: 'paused', pauseReason: 'after-call-work' });
  });

  it('resets callsToday', async () => {
    const { store } = await fresh([queue('billing', { wrapUpSeconds: 0 })], [agent('a1', { billing: 1 })]);
    await oneCall(store, 'a1', 'billing', T0 + MIN, 'x');
    expect((await store.agentState('a1'))?.callsToday).toBe(1);
    await store.resetCallsToday();
    expect((await store.agentState('a1'))?.callsToday).toBe(0);
  });
});

describe('staffing counts', () => {
  it('counts logged-in agents and the agents staffing each queue through every kind of change', async () => {
    const queues = [queue('billing', { wrapUpSeconds: 10 }), queue('tech', { skills: [{ skill: 'tech', minProficiency: 3 }] })];
    const agents = [agent('a1', { billing: 2, tech: 3 }), agent('a2', { billing: 1, tech: 2 }), agent('a3', { tech: 5 })];
    const { store } = await fresh(queues, agents, []);
    const counts = async () => {
      const [b, t] = await Promise.all([store.staffing('billing'), store.staffing('tech')]);
      return [b.loggedIn, b.staffed, t.staffed];
    };
    expect(await counts()).toEqual([0, 0, 0]);
    await store.changeAgentState('a1', 'login', undefined, T0);
    await store.changeAgentState('a2', 'login', undefined, T0);
    expect(await counts()).toEqual([2, 2, 1]); // a2 lacks tech 3
    await store.changeAgentState('a2', 'pause', 'lunch', T0);
    expect(await counts()).toEqual([2, 1, 1]); // paused is logged in but not staffing
    // Ringing, on a call and wrapping up all staff the queue.
    await store.enqueue(call('c1', 'billing'));
    expect((await store.claim(T0 + 1)).map((o) => o.agentId)).toEqual(['a1']);
    expect(await counts()).toEqual([2, 1, 1]);
    await store.answered('c1', 'a1', T0 + 2);
    await store.agentCallEnded('a1', T0 + 3);
    expect((await store.agentState('a1'))?.state).toBe('wrap_up');
    expect(await counts()).toEqual([2, 1, 1]);
    await store.changeAgentState('a1', 'logout', undefined, T0 + 4);
    expect(await counts()).toEqual([1, 0, 0]);
    // Ring-no-answer pauses the agent: no longer staffing.
    await store.changeAgentState('a2', 'unpause', undefined, T0 + 5);
    await store.enqueue(call('c2', 'billing'));
    expect((await store.claim(T0 + 6)).map((o) => o.agentId)).toEqual(['a2']);
    await store.ringNoAnswer('c2', 'a2', T0 + 7);
    expect(await counts()).toEqual([1, 0, 0]);
    // A reconfigure that changes skills recounts: a2 now qualifies for tech, a3 logs in.
    await store.changeAgentState('a2', 'unpause', undefined, T0 + 8);
    await store.changeAgentState('a3', 'login', undefined, T0 + 8);
    expect(await counts()).toEqual([2, 1, 1]);
    await store.configure(queues, [agents[0]!, agent('a2', { billing: 1, tech: 4 }), agents[2]!], T0 + 9);
    expect(await counts()).toEqual([2, 1, 2]);
    // The counts agree with the agents' own states.
    const list = await store.listAgents();
    expect(list.filter((a) => a.state !== 'logged_out').length).toBe(2);
  });
});

describe('configuration', () => {
  it('keeps agent state across a reconfigure and re-indexes changed skills', async () => {
    const { store } = await fresh([queue('billing'), queue('tech')], [agent('a1', { billing: 3 }), agent('a2', { tech: 2 })]);
    await store.changeAgentState('a2', 'pause', 'meeting');
    await store.configure([queue('billing'), queue('tech')], [agent('a1', { tech: 4 }), agent('a2', { tech: 2 }), agent('a3', { billing: 1 })]);
    const list = await store.listAgents();
    expect(list.map((a) => [a.id, a.state, a.pauseReason])).toEqual([
      ['a1', 'available', null],
      ['a2', 'paused', 'meeting'],
      ['a3', 'logged_out', null],
    ]);
    expect(list[0]?.skills).toEqual({ tech: 4 });
    await store.enqueue(call('b1', 'billing'));
    await store.enqueue(call('t1', 'tech', { enqueuedAt: T0 + 1 }));
    expect(pairs(await store.claim(T0 + MIN))).toEqual(['t1>a1']);
  });

  it('refuses to drop a busy agent or a queue with calls, and changes nothing', async () => {
    const { store } = await fresh([queue('billing'), queue('tech')], [agent('a1', { billing: 3 }), agent('a2', { tech: 1 })]);
    await store.enqueue(call('c1', 'billing'));
    await store.enqueue(call('c2', 'tech'));
    await store.changeAgentState('a2', 'pause');
    await store.claim(T0);
    expect(await codeOf(store.configure([queue('billing'), queue('tech')], [agent('a2', { tech: 1 })]))).toBe('CONFIG_CONFLICT');
    expect(await codeOf(store.configure([queue('billing')], [agent('a1', { billing: 3 }), agent('a2', { tech: 1 })]))).toBe('CONFIG_CONFLICT');
    expect(await stateOf(store, 'a1')).toBe('ringing');
    expect((await store.waiting('tech')).map((c) => c.callId)).toEqual(['c2']);
  });

  it('validates input and names the bad field', async () => {
    const { store } = await fresh([queue('billing')], []);
    const bad = (p: Promise<unknown>) => p.then(() => 'ok', (e: RoutingError) => `${e.code} ${e.message}`);
    expect(await bad(store.configure([queue('Bad Name')], []))).toMatch(/^INVALID_INPUT queues\.0\.name/);
    expect(await bad(store.configure([queue('billing')], [agent('a1', { billing: 6 })]))).toMatch(/^INVALID_INPUT agents\.0\.skills\.billing/);
    expect(await bad(store.configure([queue('billing'), queue('billing')], []))).toMatch(/^INVALID_INPUT queues\.1: duplicate/);
    expect(await bad(store.enqueue(call('c1', 'billing', { priority: 11 })))).toMatch(/^INVALID_INPUT priority/);
    expect(await bad(store.enqueue(call('c1', 'nowhere')))).toMatch(/^UNKNOWN_QUEUE/);
    await store.enqueue(call('c1', 'billing'));
    expect(await codeOf(store.enqueue(call('c1', 'billing')))).toBe('CALL_EXISTS');
  });

  it('loads a script the server does not know yet (after a restart or SCRIPT FLUSH)', async () => {
    const script = new LuaScript('echo', `-- ${inject('redisPrefix')}${Math.random()}\nreturn ARGV[1]`);
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    expect(await script.run(redis, ['hello'])).toBe('hello');
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
  });

  it('runs as one Redis Functions library, loaded again into a server that lost it (a restart without persistence, FUNCTION FLUSH)', async () => {
    const server = new RedisServer(await freePort());
    await server.start();
    const own = new Redis(server.url);
    try {
      const libraries = async () => ((await own.call('FUNCTION', 'LIST')) as unknown[][]).map((lib) => String(lib[1]));
      const store = new RoutingStore(own, 'fl:');
      await store.configure([queue('billing')], [agent('a1', { billing: 2 })], T0);
      expect(await libraries()).toEqual([expect.stringMatching(/^hotline_routing_[0-9a-f]{12}$/)]);
      await own.call('FUNCTION', 'FLUSH');
      await store.changeAgentState('a1', 'login', undefined, T0);
      await store.enqueue(call('c1', 'billing'));
      expect(pairs(await store.claim(T0))).toEqual(['c1>a1']);
      expect(await libraries()).toHaveLength(1);
    } finally {
      own.disconnect();
      await server.stop('SHUTDOWN');
    }
  });

  it('keeps every key under <prefix>routing:', async () => {
    const { store, prefix } = await fresh([queue('billing')], [agent('a1', { billing: 1, english: 1 })]);
    await store.enqueue(call('c1', 'billing', { skills: ['english'] }));
    await store.enqueue(call('c2', 'billing'));
    await store.claim(T0);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((k) => !k.startsWith(`${prefix}routing:`))).toEqual([]);
  });
});

describe('availability entries written before cfg (an upgrade)', () => {
  /**
   * av entries in the text form 'lastEnd|calls|elig|sk|endpoint' and agents without a cfg entry, as
   * the version before cfg left them: claim must read them as it reads the new ones. Two stores
   * with the same floor and history, one of them turned back to the old form, must make the
   * same offers, claim after claim, on a floor small enough to be read agent by agent and on one
   * large enough for the availability indexes.
   */
  async function toOldForm(prefix: string) {
    const base = `${prefix}routing:`;
    for (const id of await redis.smembers(`${base}agents`)) {
      const [lastEnd, calls, elig, sk, endpoint] = await redis.hmget(`${base}a:${id}`, 'lastEnd', 'calls', 'elig', 'sk', 'endpoint');
      await redis.hdel(`${base}cfg`, id);
      if (await redis.hexists(`${base}av`, id)) await redis.hset(`${base}av`, id, `${lastEnd}|${calls}|${elig}|${sk}|${endpoint}`);
    }
  }

  for (const size of [6, 90]) {
    it(`offers what the new form offers, on a floor of ${size} agents`, async () => {
      const queues = [
        queue('idle', { strategy: 'longest-idle', skills: [{ skill: 's', minProficiency: 2 }], wrapUpSeconds: 0 }),
        queue('few', { strategy: 'fewest-calls', wrapUpSeconds: 0 }),
        queue('best', { strategy: 'most-skilled', wrapUpSeconds: 0 }),
      ];
      const agents = Array.from({ length: size }, (_, i) => agent(`ag${String(i).padStart(3, '0')}`, { s: 1 + (i % 5), ...(i % 3 === 0 ? { english: 1 + (i % 4) } : {}) }));
      const floors = [await fresh(queues, agents), await fresh(queues, agents)];
      // A history, the same on both floors, so lastEnd and calls differ between agents.
      for (const { store } of floors) {
        for (let r = 0; r < 3; r++) {
          for (let n = 0; n < Math.ceil(size / 3); n++) await store.enqueue(call(`h${r}-${n}`, 'few'));
          for (const [i, o] of (await store.claim(T0)).entries()) {
            const endedAt = T0 + r * 1000 + ((i * 7) % 5) * 100;
            await store.answered(o.callId, o.agentId, endedAt);
            await store.agentCallEnded(o.agentId, endedAt);
            await store.wrapUpEnded(o.agentId, o.callId, endedAt);
          }
        }
      }
      await toOldForm(floors[1]!.prefix);
      const offered: string[][] = [[], []];
      for (let round = 0; round < 3; round++) {
        for (const [f, { store }] of floors.entries()) {
          for (const q of ['idle', 'few', 'best']) {
            for (let n = 0; n < 2; n++) await store.enqueue(call(`${q}${round}${n}`, q, { skills: n === 1 ? ['english'] : [] }));
          }
          offered[f]!.push(...pairs(await store.claim(T0 + MIN * (round + 1))));
        }
      }
      expect(offered[0]!.length).toBeGreaterThan(0);
      expect(offered[1]).toEqual(offered[0]);
    });
  }

  it('an agent configured before cfg becomes available with an entry claim reads', async () => {
    const { store, prefix } = await fresh([queue('s', { strategy: 'most-skilled' })], [agent('low', { s: 1 }), agent('high', { s: 4 })], []);
    await toOldForm(prefix);
    for (const id of ['low', 'high']) await store.changeAgentState(id, 'login', undefined, T0);
    await store.enqueue(call('x', 's'));
    expect(pairs(await store.claim(T0))).toEqual(['x>high']);
  });
});

describe('waiting order, priority and aging', () => {
  it('gives positions in service order; VIP priority goes ahead', async () => {
    const { store } = await fresh([queue('billing')], []);
    expect(await store.enqueue(call('c1', 'billing', { enqueuedAt: T0 }))).toEqual({ position: 1 });
    expect(await store.enqueue(call('c2', 'billing', { enqueuedAt: T0 + 1000 }))).toEqual({ position: 2 });
    expect(await store.enqueue(call('vip', 'billing', { enqueuedAt: T0 + 2000, priority: 8 }))).toEqual({ position: 1 });
    expect(await store.position('c1')).toBe(2);
    expect(await store.position('c2')).toBe(3);
    expect(await store.position('nope')).toBeNull();
    expect(await store.waiting('billing')).toEqual([
      call('vip', 'billing', { enqueuedAt: T0 + 2000, priority: 8 }),
      call('c1', 'billing', { enqueuedAt: T0 }),
      call('c2', 'billing', { enqueuedAt: T0 + 1000 }),
    ]);
  });

  it('lets an old normal call overtake a newer VIP once it has waited long enough (aging 1 point/min)', async () => {
    // A VIP (priority 5) is worth 5 minutes of waiting. normal waited since T0.
    const { store } = await fresh([queue('billing', { agingPerMinute: 1 })], []);
    await store.enqueue(call('normal', 'billing'));
    await store.enqueue(call('vip-4min', 'billing', { priority: 5, enqueuedAt: T0 + 4 * MIN })); // 1 min short: ahead
    await store.enqueue(call('vip-5min', 'billing', { priority: 5, enqueuedAt: T0 + 5 * MIN })); // tie: enqueue time decides
    await store.enqueue(call('vip-6min', 'billing', { priority: 5, enqueuedAt: T0 + 6 * MIN })); // too late: behind
    expect((await store.waiting('billing')).map((c) => c.callId)).toEqual(['vip-4min', 'normal', 'vip-5min', 'vip-6min']);
  });

  it('without aging, priority always wins', async () => {
    const { store } = await fresh([queue('billing', { agingPerMinute: 0 })], []);
    await store.enqueue(call('old', 'billing'));
    await store.enqueue(call('vip', 'billing', { priority: 1, enqueuedAt: T0 + 600 * MIN }));
    await store.enqueue(call('older', 'billing', { enqueuedAt: T0 - MIN }));
    expect((await store.waiting('billing')).map((c) => c.callId)).toEqual(['vip', 'older', 'old']);
  });

  it('compares effective priority across queues with different aging at claim time', async () => {
    // One agent for both queues. flat: no aging, VIP 3. aged: 2 points/min, priority 0.
    const agents = [agent('a1', { flat: 1, aged: 1 })];
    const qs = [queue('flat', { agingPerMinute: 0 }), queue('aged', { agingPerMinute: 2 })];
    for (const [waited, winner] of [
      [1, 'f'],
      [2, 'a'], // 4 > 3
    ] as const) {
      const { store } = await fresh(qs, agents);
      await store.enqueue(call('f', 'flat', { priority: 3, enqueuedAt: T0 }));
      await store.enqueue(call('a', 'aged', { enqueuedAt: T0 }));
      expect((await store.claim(T0 + waited * MIN)).map((o) => o.callId)).toEqual([winner]);
    }
  });

  it('re-scores waiting calls when a queue’s aging changes', async () => {
    const { store } = await fresh([queue('billing', { agingPerMinute: 1 })], []);
    await store.enqueue(call('normal', 'billing'));
    await store.enqueue(call('vip', 'billing', { priority: 5, enqueuedAt: T0 + 10 * MIN }));
    expect((await store.waiting('billing')).map((c) => c.callId)).toEqual(['normal', 'vip']);
    await store.configure([queue('billing', { agingPerMinute: 0 })], []);
    expect((await store.waiting('billing')).map((c) => c.callId)).toEqual(['vip', 'normal']);
  });
});

describe('skill matching', () => {
  it('indexes the holders of a skill asked for as an extra for the first time while the availability indexes are kept', async () => {
    const agents = Array.from({ length: 80 }, (_, i) => agent(`g${String(i).padStart(2, '0')}`, { billing: 1, ...(i % 3 === 0 ? { german: 1 + (i % 5) } : {}) }));
    const queues = [queue('billing')];
    const { store, prefix } = await fresh(queues, agents);
    // 80 free agents and nothing waiting: the claim builds the indexes and offers nothing.
    expect(await store.claim(T0)).toEqual([]);
    expect(await redis.hget(`${prefix}routing:qconf`, '#idx')).not.toBeNull();
    await store.enqueue(call('de', 'billing', { skills: ['german'] }));
    expect(await redis.smembers(`${prefix}routing:xs`)).toEqual(['german']);
    await expectAvailabilityIndexes(redis, prefix, agents, queues);
    expect(await redis.zscore(`${prefix}routing:as:german`, 'g03')).toBe('4');
  });

  it('requires the queue skills at their minimum proficiency', async () => {
    const q = queue('tech', { skills: [{ skill: 'tech', minProficiency: 3 }, { skill: 'network', minProficiency: 2 }] });
    const { store } = await fresh(
      [q],
      [agent('low', { tech: 2, network: 5 }), agent('partial', { tech: 5 }), agent('ok', { tech: 3, network: 2 })],
    );
    await store.enqueue(call('c1', 'tech'));
    await store.enqueue(call('c2', 'tech', { enqueuedAt: T0 + 1 }));
    expect(pairs(await store.claim(T0))).toEqual(['c1>ok']);
    expect(await store.position('c2')).toBe(1);
  });

  it('requires the call’s extra skills at any proficiency, and skips to a call that can be served', async () => {
    const { store } = await fresh(
      [queue('billing')],
      [agent('en', { billing: 5, english: 1 }), agent('plain', { billing: 5 })],
      ['plain'],
    );
    await store.enqueue(call('needs-fr-en', 'billing', { skills: ['french', 'english'] }));
    await store.enqueue(call('needs-en', 'billing', { skills: ['english'], enqueuedAt: T0 + 1 }));
    await store.enqueue(call('any', 'billing', { enqueuedAt: T0 + 2 }));
    expect(pairs(await store.claim(T0))).toEqual(['any>plain']);
    await store.changeAgentState('en', 'login');
    expect(pairs(await store.claim(T0))).toEqual(['needs-en>en']);
    expect((await store.waiting('billing')).map((c) => c.callId)).toEqual(['needs-fr-en']);
    expect((await store.waiting('billing'))[0]?.skills).toEqual(['english', 'french']);
  });

  it('serves extra-skill classes for agents holding many requested skills', async () => {
    const langs = ['ar', 'de', 'en', 'es', 'fr', 'ja', 'ru'];
    const { store } = await fresh([queue('billing', { wrapUpSeconds: 0 })], [agent('poly', { billing: 1, ...Object.fromEntries(langs.map((l) => [l, 1])) })]);
    for (const [i, l] of langs.entries()) await store.enqueue(call(`c-${l}`, 'billing', { skills: [l], enqueuedAt: T0 + i }));
    await store.enqueue(call('c-ja-ru', 'billing', { skills: ['ru', 'ja'], enqueuedAt: T0 - 1 }));
    const served: string[] = [];
    for (let i = 0; i < langs.length + 1; i++) {
      const [o] = await store.claim(T0 + MIN);
      served.push(o!.callId);
      await store.answered(o!.callId, 'poly');
      await store.agentCallEnded('poly', T0 + MIN);
    }
    expect(served).toEqual(['c-ja-ru', ...langs.map((l) => `c-${l}`)]);
  });

  it('does not offer to agents that are paused, ringing, on a call, wrapping up or logged out', async () => {
    const { store } = await fresh([queue('billing')], ['p', 'r', 'o', 'w', 'l'].map((id) => agent(id, { billing: 1 })), ['p', 'r', 'o', 'w']);
    await store.changeAgentState('p', 'pause');
    await store.enqueue(call('c-r', 'billing'));
    await store.enqueue(call('c-o', 'billing', { enqueuedAt: T0 + 1 }));
    await store.enqueue(call('c-w', 'billing', { enqueuedAt: T0 + 2 }));
    const offers = await store.claim(T0);
    expect(offers).toHaveLength(3);
    const byCall = new Map(offers.map((o) => [o.callId, o.agentId]));
    await store.answered('c-o', byCall.get('c-o')!);
    await store.answered('c-w', byCall.get('c-w')!);
    await store.agentCallEnded(byCall.get('c-w')!, T0 + MIN);
    await store.enqueue(call('late', 'billing', { enqueuedAt: T0 + 3 }));
    expect(await store.claim(T0 + MIN)).toEqual([]);
  });
});

describe('strategies', () => {
  const agents = [agent('a', { s: 2 }), agent('b', { s: 5 }), agent('c', { s: 1 })];

  /** a ended its last call at +2 min with 1 call; b at +3 min with 3 calls; c at +1 min with 2 calls. */
  async function history(strategy: QueueConfig['strategy']) {
    const { store } = await fresh([queue('s', { strategy, wrapUpSeconds: 0 }), queue('warm', { skills: [], wrapUpSeconds: 0 })], agents, []);
    const only = async (id: string, endedAt: number[]) => {
      await store.changeAgentState(id, 'login');
      for (const [i, t] of endedAt.entries()) await oneCall(store, id, 'warm', T0 + t * MIN, `${i}`);
      await store.changeAgentState(id, 'pause');
    };
    await only('a', [2]);
    await only('b', [1, 2, 3]);
    await only('c', [0.5, 1]);
    for (const id of ['a', 'b', 'c']) await store.changeAgentState(id, 'unpause');
    return store;
  }

  it('longest-idle offers the agent whose last call ended first', async () => {
    const store = await history('longest-idle');
    await store.enqueue(call('x', 's'));
    expect(pairs(await store.claim(T0 + 10 * MIN))).toEqual(['x>c']);
  });

  it('fewest-calls offers the agent with the fewest calls today', async () => {
    const store = await history('fewest-calls');
    await store.enqueue(call('x', 's'));
    expect(pairs(await store.claim(T0 + 10 * MIN))).toEqual(['x>a']);
  });

  it('most-skilled offers the highest proficiency, counting the call’s extra skills', async () => {
    const store = await history('most-skilled');
    await store.enqueue(call('x', 's'));
    expect(pairs(await store.claim(T0 + 10 * MIN))).toEqual(['x>b']);
    const { store: s2 } = await fresh(
      [queue('s', { strategy: 'most-skilled' })],
      [agent('strong', { s: 5, english: 1 }), agent('fluent', { s: 3, english: 5 }), agent('mute', { s: 5 })],
    );
    await s2.enqueue(call('en', 's', { skills: ['english'] }));
    expect(pairs(await s2.claim(T0))).toEqual(['en>fluent']);
  });

  it('fewest-calls and longest-idle break ties by the other key, then by agent id', async () => {
    const { store } = await fresh([queue('s', { strategy: 'fewest-calls' })], [agent('b', { s: 1 }), agent('a', { s: 1 })]);
    await store.enqueue(call('x', 's'));
    expect(pairs(await store.claim(T0))).toEqual(['x>a']);
  });

  it('ring-all rings every matching agent; the first to answer wins and the others are released', async () => {
    const { store } = await fresh(
      [queue('team', { strategy: 'ring-all' })],
      [agent('a', { team: 1 }), agent('b', { team: 2 }), agent('c', { team: 3 }), agent('x', { other: 1 })],
    );
    await store.enqueue(call('c1', 'team'));
    await store.enqueue(call('c2', 'team', { enqueuedAt: T0 + 1 }));
    const offers = await store.claim(T0);
    expect(pairs(offers).sort()).toEqual(['c1>a', 'c1>b', 'c1>c']);
    expect(await store.position('c2')).toBe(1);
    const won = await store.answered('c1', 'b', T0 + 1);
    expect([...won.released].sort()).toEqual(['a', 'c']);
    expect(won.changes.map((c) => `${c.agentId}:${c.to}`).sort()).toEqual(['a:available', 'b:on_call', 'c:available']);
    expect(await codeOf(store.answered('c1', 'a'))).toBe('OFFER_GONE');
    expect(pairs(await store.claim(T0 + 2)).sort()).toEqual(['c2>a', 'c2>c']);
  });

  it('ring-all: a call goes back only when the last ringing agent times out', async () => {
    const { store } = await fresh([queue('team', { strategy: 'ring-all' })], [agent('a', { team: 1 }), agent('b', { team: 1 })]);
    await store.enqueue(call('c1', 'team'));
    await store.claim(T0);
    expect(await store.ringNoAnswer('c1', 'a', T0 + 15_000)).toMatchObject({ requeued: false, position: null });
    expect(await store.position('c1')).toBeNull();
    expect(await store.ringNoAnswer('c1', 'b', T0 + 15_001)).toMatchObject({ requeued: true, position: 1 });
    expect((await store.listAgents()).map((a) => [a.id, a.state, a.pauseReason])).toEqual([
      ['a', 'paused', 'rona'],
      ['b', 'paused', 'rona'],
    ]);
  });
});

describe('ring-no-answer and caller hang-up', () => {
  it('RONA pauses the agent and puts the call back at its original place', async () => {
    const { store } = await fresh([queue('billing')], [agent('a1', { billing: 1 }), agent('a2', { billing: 1 })], ['a1']);
    await store.enqueue(call('first', 'billing', { enqueuedAt: T0 }));
    await store.enqueue(call('second', 'billing', { enqueuedAt: T0 + 1000 }));
    expect(pairs(await store.claim(T0 + 2000))).toEqual(['first>a1']);
    await store.enqueue(call('third', 'billing', { enqueuedAt: T0 + 3000 }));
    expect(await store.position('second')).toBe(1);

    const r = await store.ringNoAnswer('first', 'a1', T0 + 17_000);
    expect(r).toEqual({ changes: [{ agentId: 'a1', from: 'ringing', to: 'paused', reason: 'rona', at: T0 + 17_000 }], requeued: true, position: 1 });
    expect(await store.agentState('a1')).toMatchObject({ state: 'paused', pauseReason: 'rona', currentCallId: null });
    expect(await store.waiting('billing')).toEqual([
      call('first', 'billing', { enqueuedAt: T0 }),
      call('second', 'billing', { enqueuedAt: T0 + 1000 }),
      call('third', 'billing', { enqueuedAt: T0 + 3000 }),
    ]);
    await store.changeAgentState('a2', 'login');
    expect(pairs(await store.claim(T0 + 18_000))).toEqual(['first>a2']);
  });

  it('a ring timeout that fires after the answer changes nothing', async () => {
    const { store } = await fresh([queue('billing')], [agent('a1', { billing: 1 })]);
    await store.enqueue(call('c1', 'billing'));
    await store.claim(T0);
    await store.answered('c1', 'a1');
    expect(await store.ringNoAnswer('c1', 'a1')).toEqual({ changes: [], requeued: false, position: null });
    expect(await stateOf(store, 'a1')).toBe('on_call');
  });

  it('caller hangs up while ringing: the agent is released at once and the call is gone', async () => {
    const { store } = await fresh([queue('billing')], [agent('a1', { billing: 1 })]);
    await store.enqueue(call('c1', 'billing'));
    await store.claim(T0);
    const left = await store.callerLeft('c1', T0 + 5000);
    expect(left).toEqual({
      was: 'offered',
      channelId: null,
      ringingAgents: ['a1'],
      changes: [{ agentId: 'a1', from: 'ringing', to: 'available', reason: null, at: T0 + 5000 }],
    });
    expect(await codeOf(store.answered('c1', 'a1'))).toBe('OFFER_GONE');
    expect(await store.ringNoAnswer('c1', 'a1')).toMatchObject({ changes: [], requeued: false });
    expect(await stateOf(store, 'a1')).toBe('available');
    expect(await store.callerLeft('c1')).toEqual({ was: 'gone', channelId: null, ringingAgents: [], changes: [] });
    expect(await store.claim(T0 + 6000)).toEqual([]);
  });

  it('caller hangs up while waiting: the call leaves the order (its channel as enqueued is returned)', async () => {
    const { store } = await fresh([queue('billing')], []);
    await store.enqueue(call('c1', 'billing', { channelId: 'ch-c1' }));
    await store.enqueue(call('c2', 'billing', { enqueuedAt: T0 + 1 }));
    expect(await store.callerLeft('c1')).toEqual({ was: 'waiting', channelId: 'ch-c1', ringingAgents: [], changes: [] });
    expect(await store.position('c2')).toBe(1);
    expect(await store.waiting('billing')).toHaveLength(1);
  });

  it('caller hangs up while ringing all: every ringing agent is released', async () => {
    const { store } = await fresh([queue('team', { strategy: 'ring-all' })], [agent('a', { team: 1 }), agent('b', { team: 1 })]);
    await store.enqueue(call('c1', 'team'));
    await store.claim(T0);
    expect([...(await store.callerLeft('c1')).ringingAgents].sort()).toEqual(['a', 'b']);
    expect((await store.listAgents()).map((a) => a.state)).toEqual(['available', 'available']);
  });
});

describe('claim', () => {
  it('matches everything it can in one run, or stops at maxCalls', async () => {
    const { store } = await fresh([queue('billing')], ['a1', 'a2', 'a3'].map((id) => agent(id, { billing: 1 })));
    for (let i = 0; i < 5; i++) await store.enqueue(call(`c${i}`, 'billing', { enqueuedAt: T0 + i }));
    expect(await store.claim(T0, 1)).toHaveLength(1);
    expect(pairs(await store.claim(T0))).toEqual(['c1>a2', 'c2>a3']);
    expect(await store.claim(T0)).toEqual([]);
  });

  it('agrees with the reference planner on random floors', async () => {
    let seed = 11;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const skills = ['billing', 'tech', 'sales', 'english', 'french', 'cantonese'];
    const strategies = ['longest-idle', 'fewest-calls', 'most-skilled', 'ring-all'] as const;
    for (let round = 0; round < 12; round++) {
      const queues = ['billing', 'tech', 'sales'].map((name) =>
        queue(name, {
          strategy: round % 3 === 2 && name === 'sales' ? 'ring-all' : pick(strategies.slice(0, 3)),
          skills: [{ skill: name, minProficiency: 1 + Math.floor(rnd() * 3) }],
          agingPerMinute: pick([0, 0.5, 1, 2]),
          wrapUpSeconds: 0,
        }),
      );
      // Odd rounds have hundreds of agents, so claim's large-queue paths (chunked reads of the
      // queue index, skill-index intersections) run too.
      const large = round % 2 === 1;
      const agentCount = large ? 240 : 12;
      const agents = Array.from({ length: agentCount }, (_, i) => {
        const sk: Record<string, number> = {};
        for (const s of skills) if (rnd() < (large ? 0.85 : 0.6)) sk[s] = 1 + Math.floor(rnd() * 5);
        return agent(`ag${String(i).padStart(3, '0')}`, sk);
      });
      const warm = queue('warm', { skills: [], wrapUpSeconds: 0 });
      const { store, prefix } = await fresh([...queues, warm], agents, []);
      // History, one agent at a time, so idle times and call counts differ.
      for (const a of agents.slice(0, large ? 40 : 6)) {
        await store.changeAgentState(a.id, 'login');
        for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) await oneCall(store, a.id, 'warm', T0 + Math.floor(rnd() * 50) * MIN, `${k}`);
        await store.changeAgentState(a.id, 'pause');
      }
      for (const a of agents) await store.changeAgentState(a.id, (await stateOf(store, a.id)) === 'paused' ? 'unpause' : 'login');
      for (const a of agents) if (rnd() < (large ? 0.1 : 0.3)) await store.changeAgentState(a.id, 'pause');
      const calls = Array.from({ length: 60 }, (_, i) =>
        call(`r${round}c${i}`, pick(queues).name, {
          priority: rnd() < 0.2 ? 1 + Math.floor(rnd() * 10) : 0,
          enqueuedAt: T0 + i * 7919,
          skills: rnd() < 0.4 ? [pick(skills.slice(3))] : rnd() < 0.1 ? ['english', 'french'] : [],
        }),
      );
      for (const c of calls) await store.enqueue(c);
      const snapshot = (await store.listAgents()).filter((a) => a.state === 'available');
      const now = T0 + 90 * MIN;
      const expected = planClaim([...queues, warm], snapshot, calls, now);
      const got = await store.claim(now);
      expect(pairs(got).sort(), `round ${round}`).toEqual(pairs(expected.map((e) => ({ ...e, endpoint: '', owner: '', ringTimeoutSeconds: 0 }))).sort());
      expect(await store.claim(now)).toEqual([]);
      await expectConsistentQueues(prefix, queues);
    }
  });
});

describe('concurrency', () => {
  it('1,000 claims from 20 clients never give an agent two calls or (outside ring-all) a call two agents', async () => {
    const prefix = `${inject('redisPrefix')}rs${stores++}:`;
    const queues = [
      queue('billing', { strategy: 'longest-idle', wrapUpSeconds: 0 }),
      queue('tech', { strategy: 'fewest-calls', skills: [{ skill: 'tech', minProficiency: 2 }], wrapUpSeconds: 5 }),
      queue('sales', { strategy: 'most-skilled', wrapUpSeconds: 0 }),
      queue('vip', { strategy: 'ring-all', wrapUpSeconds: 0 }),
    ];
    let seed = 5;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const agents = Array.from({ length: 120 }, (_, i) => {
      const sk: Record<string, number> = {};
      for (const s of ['billing', 'tech', 'sales', 'english']) if (rnd() < 0.5) sk[s] = 1 + Math.floor(rnd() * 5);
      if (i % 15 === 0) sk.vip = 1;
      return agent(`c${String(i).padStart(3, '0')}`, sk);
    });
    const setupStore = new RoutingStore(redis, prefix);
    await setupStore.configure(queues, agents, T0);
    const byAgent = new Map(agents.map((a) => [a.id, a]));
    const byQueue = new Map(queues.map((q) => [q.name, q]));
    const callInfo = new Map<string, WaitingCall>();

    const clients = Array.from({ length: 20 }, () => new Redis(inject('redisUrl')));
    const violations: string[] = [];
    const offersPerCall = new Map<string, Set<string>>();
    let claims = 0;
    let callSeq = 0;
    try {
      await Promise.all(
        clients.map(async (conn, ci) => {
          const store = new RoutingStore(conn, prefix);
          const mine = agents.filter((_, i) => i % 20 === ci);
          let loggedIn = 0;
          for (let k = 0; k < 50; k++) {
            if (loggedIn < mine.length && k % 3 === 0) await store.changeAgentState(mine[loggedIn++]!.id, 'login');
            for (let j = 0; j < 2; j++) {
              const q = queues[(ci + k + j) % queues.length]!;
              const c = call(`k${ci}-${callSeq++}`, q.name, { priority: (k * 7 + j) % 11, enqueuedAt: T0 + k * 1000 + ci, skills: j === 1 && k % 4 === 0 ? ['english'] : [] });
              callInfo.set(c.callId, c);
              await store.enqueue(c);
            }
            const offers = await store.claim(T0 + 60 * MIN, k % 4);
            claims += 1;
            const groups = new Map<string, Offer[]>();
            for (const o of offers) groups.set(o.callId, [...(groups.get(o.callId) ?? []), o]);
            for (const [callId, group] of groups) {
              const c = callInfo.get(callId)!;
              const q = byQueue.get(c.queue)!;
              const seen = offersPerCall.get(callId) ?? new Set<string>();
              for (const o of group) {
                const a = byAgent.get(o.agentId)!;
                if (queueSkillSum(a.skills, q) === null || c.skills.some((s) => !a.skills[s])) violations.push(`${o.agentId} lacks skills for ${callId}`);
                seen.add(o.agentId);
              }
              offersPerCall.set(callId, seen);
              if (q.strategy !== 'ring-all' && group.length > 1) violations.push(`${callId} rang ${group.length} agents`);
              // Work the offer, in a different way per call: every step must find the agent still
              // ringing for this call, which it would not if the agent had been offered another.
              const first = group[0]!;
              const mode = callSeq % 5;
              try {
                if (mode === 0) {
                  const r = await store.ringNoAnswer(callId, first.agentId);
                  if (r.changes.length !== 1) violations.push(`rona of ${first.agentId} for ${callId} found no ringing agent`);
                  await store.changeAgentState(first.agentId, 'unpause');
                  if (group.length > 1) await store.callerLeft(callId);
                } else if (mode === 1) {
                  const r = await store.callerLeft(callId);
                  if (r.was !== 'offered' || r.ringingAgents.length !== group.length) violations.push(`caller left ${callId}: ${JSON.stringify(r)}`);
                } else {
                  const r = await store.answered(callId, first.agentId);
                  if (r.released.length !== group.length - 1) violations.push(`answered ${callId}: released ${r.released.length} of ${group.length - 1}`);
                  const ended = await store.agentCallEnded(first.agentId, T0 + 61 * MIN);
                  if (ended.wrapUpSeconds > 0) await store.wrapUpEnded(first.agentId, callId);
                }
              } catch (err) {
                violations.push(`${callId}/${first.agentId}: ${(err as Error).message}`);
              }
            }
          }
        }),
      );
    } finally {
      for (const c of clients) c.disconnect();
    }
    expect(claims).toBe(1000);
    expect(violations).toEqual([]);
    expect(offersPerCall.size).toBeGreaterThan(200);

    // The indexes agree with the agents' states, and nothing is left that could be matched.
    const store = new RoutingStore(redis, prefix);
    const last = await store.claim(T0 + 60 * MIN);
    const list = await store.listAgents();
    await expectAvailabilityIndexes(redis, prefix, list.filter((a) => a.state === 'available'), queues);
    // Every offer was worked to the end, so only the last claim's agents ring.
    expect(list.filter((a) => a.state === 'ringing').map((a) => a.id).sort()).toEqual(last.map((o) => o.agentId).sort());
    expect(new Set(last.map((o) => o.agentId)).size).toBe(last.length);
    await expectConsistentQueues(prefix, queues);
    const waiting = (await Promise.all(queues.map((q) => store.waiting(q.name)))).flat();
    expect(planClaim(queues, list.filter((a) => a.state === 'available'), waiting, T0 + 60 * MIN)).toEqual([]);
  });
});

describe('routing store: overflow, callback requests, endpoint index', () => {
  it('relax-skills drops the extras and keeps the enqueue time; a waiting call is then matched without them', async () => {
    const { store } = await fresh([queue('general')], [agent('a1', { general: 3 })], []);
    await store.enqueue(call('old', 'general', { skills: ['english'], enqueuedAt: T0 }));
    await store.enqueue(call('new', 'general', { enqueuedAt: T0 + MIN }));
    await store.changeAgentState('a1', 'login', undefined, T0 + 2 * MIN);
    // a1 lacks english: the newer call is offered, the older one waits.
    expect(pairs(await store.claim(T0 + 2 * MIN))).toEqual(['new>a1']);
    const r = await store.overflow('old', 'relax-skills');
    expect(r).toEqual({ applied: true, queue: 'general', position: 1 });
    expect((await store.waiting('general')).map((c) => [c.callId, c.skills, c.enqueuedAt])).toEqual([['old', [], T0]]);
    // Not applied twice, and not to a call that is not waiting.
    expect((await store.overflow('old', 'relax-skills')).applied).toBe(false);
    expect(await store.overflow('new', 'relax-skills')).toEqual({ applied: false, queue: 'general', position: null });
  });

  it('move puts the call in the target queue at the place its enqueue time gives it', async () => {
    const { store } = await fresh([queue('billing'), queue('general')], [agent('a1', { general: 3 })], []);
    await store.enqueue(call('g1', 'general', { enqueuedAt: T0 + MIN }));
    await store.enqueue(call('b1', 'billing', { enqueuedAt: T0 }));
    const r = await store.overflow('b1', 'move', 'general');
    expect(r).toEqual({ applied: true, queue: 'general', position: 1 });
    expect((await store.waiting('general')).map((c) => c.callId)).toEqual(['b1', 'g1']);
    expect(await store.waiting('billing')).toEqual([]);
    expect(await codeOf(store.overflow('g1', 'move', 'nowhere'))).toBe('UNKNOWN_QUEUE');
    await store.changeAgentState('a1', 'login', undefined, T0 + 2 * MIN);
    expect(pairs(await store.claim(T0 + 2 * MIN))).toEqual(['b1>a1']);
  });

  it('a callback request is kept only for a waiting call and survives RONA, with what a restart needs', async () => {
    const { store } = await fresh([queue('general')], [agent('a1', { general: 3 })], []);
    await store.enqueue(call('c1', 'general'));
    const kept = { dialed: '10010', entryQueue: 'billing', overflowApplied: [0], recordId: 'rec-1', seq: 0, leftIn: 'general' };
    expect(await store.callbackNumber('c1')).toBeNull();
    expect(await store.callbackRequest('c1')).toBeNull();
    expect(await store.markCallback('c1', '13800138000', kept)).toBe(true);
    expect(await store.callbackNumber('c1')).toBe('13800138000');
    expect(await store.callbackRequest('c1')).toEqual({ number: '13800138000', ...kept });
    expect(await store.markCallback('nope', '13800138000', kept)).toBe(false);
    await store.changeAgentState('a1', 'login', undefined, T0);
    expect(pairs(await store.claim(T0))).toEqual(['c1>a1']);
    // Ringing: no longer waiting, so no (second) request.
    expect(await store.markCallback('c1', '13900139000', { ...kept, dialed: '10086' })).toBe(false);
    await store.keepCallbackState('c1', { seq: 2 });
    await store.ringNoAnswer('c1', 'a1', T0 + 15_000);
    await store.keepCallbackState('c1', { seq: 3 });
    expect(await store.callbackRequest('c1')).toEqual({ number: '13800138000', ...kept, seq: 3 });
    expect((await store.waiting('general')).map((c) => c.callId)).toEqual(['c1']);
    // Once the call has left routing nothing is kept, and a late update does not bring its hash back.
    await store.callerLeft('c1', T0 + 20_000);
    await store.keepCallbackState('c1', { seq: 4 });
    expect(await store.callbackRequest('c1')).toBeNull();
    await store.enqueue(call('c1', 'general'));
  });

  it('records an applied overflow rule in the step that applies it; a callback request marked later keeps it', async () => {
    const { store } = await fresh([queue('billing'), queue('general')], [agent('a1', { general: 3 })], []);
    const kept = { dialed: '10010', entryQueue: 'billing', overflowApplied: [], recordId: 'rec-1', seq: 0, leftIn: 'general' };
    const rulesOf = async (callId: string) => (await store.callbackRequest(callId))?.overflowApplied;
    await store.enqueue(call('c1', 'billing', { skills: ['english'] }));
    expect((await store.overflow('c1', 'relax-skills', '', 0)).applied).toBe(true);
    // A rule that changes nothing is not recorded; one applied twice is recorded once.
    expect((await store.overflow('c1', 'relax-skills', '', 2)).applied).toBe(false);
    expect((await store.overflow('c1', 'move', 'general', 1)).applied).toBe(true);
    expect((await store.overflow('c1', 'move', 'general', 1)).applied).toBe(true);
    // Marked by an instance that had not yet seen the rules apply: the store's record stays.
    expect(await store.markCallback('c1', '13800138000', kept)).toBe(true);
    expect(await rulesOf('c1')).toEqual([0, 1]);
    // A call that is not waiting is not overflowed, so nothing is recorded.
    await store.changeAgentState('a1', 'login', undefined, T0);
    expect(pairs(await store.claim(T0))).toEqual(['c1>a1']);
    expect((await store.overflow('c1', 'relax-skills', '', 3)).applied).toBe(false);
    expect(await rulesOf('c1')).toEqual([0, 1]);
    // A retry joins as a new call: it takes the rules its timer carried and records more.
    await store.answered('c1', 'a1', T0);
    await store.enqueue(call('c1', 'general', { skills: ['french'] }));
    expect(await store.markCallback('c1', '13800138000', { ...kept, overflowApplied: [0, 1] })).toBe(true);
    expect((await store.overflow('c1', 'relax-skills', '', 2)).applied).toBe(true);
    expect(await rulesOf('c1')).toEqual([0, 1, 2]);
  });

  it('finds an agent by softphone endpoint, following reconfiguration', async () => {
    const { store } = await fresh([queue('general')], [agent('a1', { general: 3 }), agent('a2', { general: 1 })], ['a2']);
    expect((await store.agentByEndpoint('PJSIP/a2'))?.state).toBe('available');
    expect(await store.agentByEndpoint('PJSIP/ghost')).toBeNull();
    await store.configure([queue('general')], [{ id: 'a2', endpoint: 'PJSIP/desk7', skills: { general: 1 } }]);
    expect(await store.agentByEndpoint('PJSIP/a2')).toBeNull();
    expect((await store.agentByEndpoint('PJSIP/desk7'))?.id).toBe('a2');
  });

  it('keeps the recent handle times of a queue for wait estimates (last 50)', async () => {
    const { store } = await fresh([queue('general')], []);
    expect(await store.recentHandleTime('general')).toBeNull();
    for (let i = 1; i <= 60; i++) await store.recordHandleTime('general', i);
    // The last 50 recorded: 11..60, mean 35.5.
    expect(await store.recentHandleTime('general')).toBe(35.5);
  });
});
