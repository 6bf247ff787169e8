import { thresholdsOf, type KpiThresholds } from '../kpi/kpis.ts';
import { ratio } from '../kpi/stats.ts';
import { AGENT_STATES, type AgentState } from '../routing/types.ts';
import { LIVE_COUNTS, type LiveCount, type LivePhase } from './live-call.ts';
import type { LiveFloor } from './live-store.ts';

/** Today's numbers for a queue, or for the whole hotline. */
export interface LiveCounts {
  /** Inbound calls; for a queue, the calls whose last queue it is (they all asked for an agent). */
  readonly offered: number;
  readonly agentRequests: number;
  readonly reachedQueue: number;
  readonly answered: number;
  /** Hung up while queued after the short-abandon time; short abandons are counted apart. */
  readonly abandoned: number;
  readonly shortAbandoned: number;
  /** Answered within the service-level threshold (the service level's numerator). */
  readonly answeredWithinThreshold: number;
  /** Reached the queue minus short abandons (the service level's denominator). */
  readonly serviceLevelBase: number;
  /** answeredWithinThreshold / serviceLevelBase; null before any call counts. */
  readonly serviceLevel: number | null;
}

export type AgentsByState = Readonly<Record<AgentState, number>>;

export interface QueueLive {
  /** Calls waiting for an agent (offered calls, whose agent is ringing, are not waiting). */
  readonly waiting: number;
  /** Enqueue time of the longest-waiting call; kept through ring-no-answer and overflow. */
  readonly oldestEnqueuedAt: string | null;
  readonly longestWaitSeconds: number | null;
  /** Agents whose skills qualify for the queue, by state (one agent counts in each of its queues). */
  readonly agents: AgentsByState;
  readonly today: LiveCounts;
  /** The thresholds this queue's calls count with (its own, else the hotline's). */
  readonly serviceLevelSeconds: number;
  readonly shortAbandonSeconds: number;
}

/** Emergency mode, when on: the numbers playing the announcement flow (src/flows/emergency-mode.ts). */
export interface LiveEmergency {
  readonly flow: string;
  readonly reason: string;
  readonly numbers: string[];
  readonly since: string;
}

export interface LiveSnapshot {
  readonly at: string;
  /** The hotline day the `today` figures are for, in `timeZone`. */
  readonly day: string;
  readonly timeZone: string;
  readonly serviceLevelSeconds: number;
  readonly shortAbandonSeconds: number;
  /** Inbound calls in the flow (not queued, not talking; a post-call survey is IVR). */
  readonly callsInIvr: number;
  /** Inbound calls queued, waiting or with an agent ringing. */
  readonly callsQueued: number;
  readonly callsTalking: number;
  readonly agents: AgentsByState;
  readonly today: LiveCounts;
  /** Configured queues, and any queue that has counts today. */
  readonly queues: Readonly<Record<string, QueueLive>>;
  readonly emergency: LiveEmergency | null;
}

/** Everything a snapshot is built from, as read from Redis at one moment. */
export interface LiveInputs {
  readonly now: number;
  readonly day: string;
  readonly timeZone: string;
  readonly serviceLevelSeconds: number;
  readonly shortAbandonSeconds: number;
  /** Thresholds of queues that set their own (queue configuration). */
  readonly perQueue?: Readonly<Record<string, KpiThresholds>>;
  /** The day's counter hash: `<queue>|<count>` -> integer as text. */
  readonly counters: Readonly<Record<string, string>>;
  readonly phases: Readonly<Record<LivePhase, number>>;
  /** The configured queues' names. */
  readonly queues: readonly string[];
  /** Routing's waiting calls and agents, counted (live-floor.lua). */
  readonly floor: LiveFloor;
  readonly emergency?: LiveEmergency | null;
}

const zeroCounts = (): Record<LiveCount, number> => Object.fromEntries(LIVE_COUNTS.map((c) => [c, 0])) as Record<LiveCount, number>;

function liveCounts(c: Record<LiveCount, number>): LiveCounts {
  return {
    offered: c.offered,
    agentRequests: c.agentRequests,
    reachedQueue: c.reachedQueue,
    answered: c.answered,
    abandoned: c.abandoned,
    shortAbandoned: c.shortAbandoned,
    answeredWithinThreshold: c.slWithin,
    serviceLevelBase: c.slBase,
    serviceLevel: ratio(c.slWithin, c.slBase),
  };
}

/** Every state, 0 where the floor has none. */
function byState(counts: Partial<Record<AgentState, number>> | undefined): AgentsByState {
  return Object.fromEntries(AGENT_STATES.map((s) => [s, counts?.[s] ?? 0])) as Record<AgentState, number>;
}

/** Sums the day's hash per queue and for the hotline; fields it does not know are ignored. */
function sumCounters(counters: Readonly<Record<string, string>>): { total: Record<LiveCount, number>; perQueue: Map<string, Record<LiveCount, number>> } {
  const known = new Set<string>(LIVE_COUNTS);
  const total = zeroCounts();
  const perQueue = new Map<string, Record<LiveCount, number>>();
  for (const [field, text] of Object.entries(counters)) {
    const bar = field.lastIndexOf('|');
    const queue = field.slice(0, bar);
    const count = field.slice(bar + 1);
    const value = Number(text);
    if (bar < 0 || !known.has(count) || !Number.isFinite(value)) continue;
    total[count as LiveCount] += value;
    if (queue === '') continue;
    let q = perQueue.get(queue);
    if (!q) perQueue.set(queue, (q = zeroCounts()));
    q[count as LiveCount] += value;
  }
  return { total, perQueue };
}

/** The snapshot: pure, from what was read. */
export function buildSnapshot(i: LiveInputs): LiveSnapshot {
  const { total, perQueue } = sumCounters(i.counters);
  const names = new Set([...i.queues, ...perQueue.keys()]);
  const queues: Record<string, QueueLive> = {};
  for (const name of [...names].sort()) {
    const f = i.floor.queues[name];
    const oldest = f && f.waiting > 0 && f.oldest > 0 ? f.oldest : null;
    queues[name] = {
      waiting: f?.waiting ?? 0,
      oldestEnqueuedAt: oldest === null ? null : new Date(oldest).toISOString(),
      longestWaitSeconds: oldest === null ? null : Math.max(0, Math.round((i.now - oldest) / 1000)),
      agents: byState(f?.agents),
      today: liveCounts(perQueue.get(name) ?? zeroCounts()),
      ...thresholdsOf({ queue: name }, i),
    };
  }
  return {
    at: new Date(i.now).toISOString(),
    day: i.day,
    timeZone: i.timeZone,
    serviceLevelSeconds: i.serviceLevelSeconds,
    shortAbandonSeconds: i.shortAbandonSeconds,
    callsInIvr: i.phases.ivr,
    callsQueued: i.phases.queued,
    callsTalking: i.phases.talking,
    agents: byState(i.floor.agents),
    today: liveCounts(total),
    queues,
    emergency: i.emergency ?? null,
  };
}
