import type { AgentConfig, QueueConfig, Strategy, WaitingCall } from './types.ts';

/**
 * The routing rules as pure functions. The Lua scripts apply the same formulas inside Redis
 * (common.lua, claim.lua); `planClaim` is the plain, slow statement of what claim must decide,
 * used by tests to check the indexed Lua version against it.
 */

const MINUTE_MS = 60_000;

/**
 * Effective priority: the call's priority plus `agingPerMinute` points per minute waited.
 * With aging 1/min, a priority-0 caller who has waited 5 minutes more than a priority-5 VIP
 * ties with them, and enqueue time breaks the tie in the older caller's favour.
 */
export function effectivePriority(priority: number, enqueuedAt: number, agingPerMinute: number, now: number): number {
  return priority + (agingPerMinute * (now - enqueuedAt)) / MINUTE_MS;
}

/**
 * A waiting call's sorted-set score (lower is served first). Within one queue the order by
 * effective priority never changes with time, because every call ages at the same rate:
 * p + a(now - t) > p' + a(now - t')  <=>  t - p/a < t' - p'/a. So the score is the enqueue time
 * moved earlier by the priority's worth of minutes, and ties fall to the earlier enqueue time
 * (the member starts with it). Without aging, the score is simply -priority.
 */
export function waitingScore(priority: number, enqueuedAt: number, agingPerMinute: number): number {
  return agingPerMinute > 0 ? enqueuedAt - (priority * MINUTE_MS) / agingPerMinute : -priority;
}

/** One-letter strategy codes stored in each agent's eligibility list. */
export const STRATEGY_CODE: Record<Strategy, string> = {
  'longest-idle': 'i',
  'fewest-calls': 'f',
  'most-skilled': 'm',
  'ring-all': 'r',
};

/** Call counts above this stop mattering to fewest-calls, which keeps scores exact doubles. */
const MAX_SCORED_CALLS = 899;
const SCALE = 1e13;

/**
 * An available agent's score in a queue's index (lower is offered first); ties fall to the
 * lower agent id. longest-idle and ring-all: oldest last call end (0 = never had a call);
 * fewest-calls: fewest calls today, then longest idle; most-skilled: highest sum of
 * proficiency on the required skills, then longest idle.
 */
export function agentScore(strategy: Strategy, lastCallEndedAt: number, callsToday: number, skillSum: number): number {
  switch (strategy) {
    case 'fewest-calls':
      return Math.min(callsToday, MAX_SCORED_CALLS) * SCALE + lastCallEndedAt;
    case 'most-skilled':
      return -skillSum * SCALE + lastCallEndedAt;
    default:
      return lastCallEndedAt;
  }
}

/** Sum of the agent's proficiency on the queue's skills, or null when any is missing or below the minimum. */
export function queueSkillSum(skills: Record<string, number>, queue: Pick<QueueConfig, 'skills'>): number | null {
  let sum = 0;
  for (const { skill, minProficiency } of queue.skills) {
    const p = skills[skill] ?? 0;
    if (p < minProficiency) return null;
    sum += p;
  }
  return sum;
}

/** The extra skills of a call as stored: sorted and without duplicates, so equal needs share a class. */
export function normalizeExtras(skills: readonly string[]): string[] {
  return [...new Set(skills)].sort();
}

/** `skill=proficiency,...`, sorted by skill. */
export function encodeSkills(skills: Record<string, number>): string {
  return Object.keys(skills)
    .sort()
    .map((s) => `${s}=${skills[s]}`)
    .join(',');
}

export function decodeSkills(encoded: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!encoded) return out;
  for (const item of encoded.split(',')) {
    const [skill, p] = item.split('=');
    if (skill) out[skill] = Number(p);
  }
  return out;
}

/**
 * The queues an agent may serve, as stored on the agent for the Lua indexes:
 * `queue=<strategy code>:<skill sum>,...`.
 */
export function encodeEligibility(agent: Pick<AgentConfig, 'skills'>, queues: readonly QueueConfig[]): string {
  const out: string[] = [];
  for (const q of queues) {
    const sum = queueSkillSum(agent.skills, q);
    if (sum !== null) out.push(`${q.name}=${STRATEGY_CODE[q.strategy]}:${sum}`);
  }
  return out.join(',');
}

/** What planClaim needs to know about an available agent. */
export interface AvailableAgent {
  readonly id: string;
  readonly skills: Record<string, number>;
  readonly lastCallEndedAt: number;
  readonly callsToday: number;
}

export interface PlannedOffer {
  readonly callId: string;
  readonly agentId: string;
  readonly queue: string;
}

/**
 * The reference claim: every waiting call in order of effective priority (then enqueue time),
 * each given the best free agent that has every required skill (the queue's at its minimum,
 * the call's extras at 1 or more), by its queue's strategy; ring-all takes every such agent.
 * O(calls x agents): for tests and as the specification, not for production.
 */
export function planClaim(
  queues: readonly QueueConfig[],
  agents: readonly AvailableAgent[],
  calls: readonly WaitingCall[],
  now: number,
): PlannedOffer[] {
  const byName = new Map(queues.map((q) => [q.name, q]));
  const ordered = calls
    .filter((c) => byName.has(c.queue))
    .map((c) => ({ c, eff: effectivePriority(c.priority, c.enqueuedAt, byName.get(c.queue)!.agingPerMinute, now) }))
    .sort((x, y) => y.eff - x.eff || x.c.enqueuedAt - y.c.enqueuedAt || (x.c.callId < y.c.callId ? -1 : 1));
  const taken = new Set<string>();
  const out: PlannedOffer[] = [];
  for (const { c } of ordered) {
    const q = byName.get(c.queue)!;
    const extras = normalizeExtras(c.skills);
    const candidates: Array<{ id: string; score: number }> = [];
    for (const a of agents) {
      if (taken.has(a.id)) continue;
      const sum = queueSkillSum(a.skills, q);
      if (sum === null || !extras.every((s) => (a.skills[s] ?? 0) >= 1)) continue;
      const extraSum = extras.reduce((n, s) => n + (a.skills[s] ?? 0), 0);
      candidates.push({ id: a.id, score: agentScore(q.strategy, a.lastCallEndedAt, a.callsToday, sum + extraSum) });
    }
    candidates.sort((x, y) => x.score - y.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const chosen = q.strategy === 'ring-all' ? candidates : candidates.slice(0, 1);
    for (const { id } of chosen) {
      taken.add(id);
      out.push({ callId: c.callId, agentId: id, queue: q.name });
    }
  }
  return out;
}
