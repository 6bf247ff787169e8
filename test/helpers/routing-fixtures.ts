/**
 * Fixtures shared by the routing tests (unit and integration): queue and agent configs, waiting
 * calls, error codes, a claim checked against the reference planner, and the check that the
 * availability indexes in Redis agree with the agents.
 */
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { RoutingStore } from '../../src/routing/routing-store.ts';
import { planClaim, queueSkillSum } from '../../src/routing/strategy.ts';
import { RoutingError, type Offer, type QueueConfig, type WaitingCall } from '../../src/routing/types.ts';

export const MIN = 60_000;
/** A fixed clock for routing tests (2027-01-15). */
export const T0 = 1_800_000_000_000;

/** A queue needing its own name as a skill at proficiency 1, longest-idle, 10 s wrap-up. */
export function queue(name: string, over: Partial<QueueConfig> = {}): QueueConfig {
  return {
    announce: { position: true, estimatedWait: true, everySeconds: 30 },
    overflow: [],
    callback: true,
    joinWhenEmpty: false,
    name,
    skills: [{ skill: name, minProficiency: 1 }],
    strategy: 'longest-idle',
    ringTimeoutSeconds: 15,
    wrapUpSeconds: 10,
    maxWaitSeconds: 600,
    agingPerMinute: 1,
    ...over,
  };
}

/** A plain call waiting in `q` since T0, owned by app-1. */
export const call = (callId: string, q: string, over: Partial<WaitingCall> = {}): WaitingCall => ({
  callId,
  queue: q,
  skills: [],
  priority: 0,
  enqueuedAt: T0,
  owner: 'app-1',
  ...over,
});

/** 'ok', or the RoutingError code the promise was rejected with (anything else is rethrown). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RoutingError) return err.code;
    throw err;
  }
  return 'ok';
}

/**
 * The availability indexes agree with `available` (the agents in state available): av holds
 * exactly them; the per-queue and per-skill indexes, while claim keeps them (qconf '#idx'),
 * hold exactly the eligible ones, and do not exist otherwise.
 */
export async function expectAvailabilityIndexes(
  redis: Redis,
  prefix: string,
  available: ReadonlyArray<{ id: string; skills: Record<string, number> }>,
  queues: readonly QueueConfig[],
): Promise<void> {
  const base = `${prefix}routing:`;
  expect((await redis.hkeys(`${base}av`)).sort(), 'av').toEqual(available.map((a) => a.id).sort());
  const indexed = (await redis.hget(`${base}qconf`, '#idx')) !== null;
  const xs = await redis.smembers(`${base}xs`);
  for (const q of queues) {
    const eligible = available.filter((a) => queueSkillSum(a.skills, q) !== null).map((a) => a.id).sort();
    if (indexed) expect((await redis.zrange(`${base}aq:${q.name}`, 0, -1)).sort(), q.name).toEqual(eligible);
    else expect(await redis.exists(`${base}aq:${q.name}`), `aq:${q.name} without #idx`).toBe(0);
  }
  for (const s of xs) {
    const holders = available.filter((a) => a.skills[s]).map((a) => a.id).sort();
    if (indexed) expect((await redis.zrange(`${base}as:${s}`, 0, -1)).sort(), s).toEqual(holders);
    else expect(await redis.exists(`${base}as:${s}`), `as:${s} without #idx`).toBe(0);
  }
}

/** Offers as sorted 'call>agent' strings: which agent each call went to, in any order. */
export const offerPairs = (offers: ReadonlyArray<{ callId: string; agentId: string }>): string[] =>
  offers.map((o) => `${o.callId}>${o.agentId}`).sort();

/** The planner's offers for its first `maxCalls` calls (all when 0), as claim stops there too. */
export function firstCalls<T extends { callId: string }>(offers: T[], maxCalls: number): T[] {
  if (maxCalls === 0) return offers;
  const calls = new Set<string>();
  return offers.filter((o) => {
    if (!calls.has(o.callId)) {
      if (calls.size === maxCalls) return false;
      calls.add(o.callId);
    }
    return true;
  });
}

/**
 * One claim, checked against the reference planner (planClaim) on the same snapshot: the
 * agents available now and the calls in `waiting`, which the offered calls then leave.
 */
export async function claimAsPlanned(
  store: RoutingStore,
  queues: readonly QueueConfig[],
  waiting: Map<string, WaitingCall>,
  now: number,
  maxCalls: number,
  label: string,
): Promise<Offer[]> {
  const available = (await store.listAgents()).filter((a) => a.state === 'available');
  const expected = firstCalls(planClaim(queues, available, [...waiting.values()], now), maxCalls);
  const got = await store.claim(now, maxCalls);
  expect(offerPairs(got), label).toEqual(offerPairs(expected));
  for (const o of got) waiting.delete(o.callId);
  return got;
}
