/**
 * Drives a simulated floor through claim, checking every claim against the reference planner:
 * agents log in in waves while calls arrive, then rounds in which offers end in different ways
 * and agents come back. The floor tests (routing-claim-paths, routing-claim-collation) build
 * their own floors (queues, agents, calls) and differ only in the knobs of FloorPlan.
 */
import { expect } from 'vitest';
import type { RoutingStore } from '../../src/routing/routing-store.ts';
import type { AgentConfig, Offer, QueueConfig, WaitingCall } from '../../src/routing/types.ts';
import { claimAsPlanned, MIN, offerPairs, T0 } from './routing-fixtures.ts';

/** A seeded generator (Park-Miller), so that a seed makes the same floor on every run and server. */
export function seededRandom(seed: number): { rnd: () => number; pick: <T>(xs: readonly T[]) => T } {
  let s = seed;
  const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647);
  return { rnd, pick: (xs) => xs[Math.floor(rnd() * xs.length)]! };
}

/** What is on the floor: a store configured with `queues` and `agents` (all logged out), and its calls. */
export interface Floor {
  store: RoutingStore;
  queues: readonly QueueConfig[];
  agents: readonly AgentConfig[];
  /** The floor's random numbers; the driver draws from it in a fixed order, so a seed makes one floor. */
  rnd: () => number;
  /** The `seq`th call of the floor (0, 1, ...), arriving at `at`. */
  newCall: (seq: number, at: number) => WaitingCall;
}

/** How a floor is driven: what the floor tests differ in. */
export interface FloorPlan {
  /** Agents logging in per wave, and calls arriving with each wave. */
  waves: { agents: number; calls: number };
  /** How many rounds, the calls arriving in each, and the minutes from its offers ending to its claim. */
  rounds: { count: number; calls: number; minutes: number };
  /**
   * Whether scores tie, so that ids decide: every agent logs in at T0, a round's offers all end
   * at one millisecond and its answered calls last one minute (equal lastEnd). Otherwise agents
   * log in at their wave's time, offers end a second apart and calls last up to ten minutes.
   */
  ties: boolean;
  /** The chance that each waiting caller hangs up in a round; none do (and nothing is drawn) without it. */
  leaveChance?: number;
  /** Runs after a round's callers leave, before its calls arrive. */
  beforeRoundCalls?: (round: number) => Promise<void>;
  /** Put before each claim's label in failure messages. */
  label?: string;
}

export interface FloorResult {
  /** The time of the last claim. */
  t: number;
  /** Each claim's offers as offerPairs, in order: the floor's whole history of offers. */
  transcript: string[][];
}

/**
 * Drives `floor` as `plan` says. Agents log in a wave at a time with calls arriving, so every
 * count of available agents from 1 up is seen by some claim; then each round ends half the
 * ringing offers (ring-no-answer one time in five, answered otherwise, which releases ring-all
 * partners), takes back the calls that returned to waiting, lets some callers leave and claims
 * again. Claims run with and without a limit (maxCalls).
 */
export async function driveFloor(floor: Floor, plan: FloorPlan): Promise<FloorResult> {
  const { store, queues, agents, rnd } = floor;
  const waiting = new Map<string, WaitingCall>();
  const transcript: string[][] = [];
  let seq = 0;
  const enqueue = async (n: number, at: number) => {
    for (let i = 0; i < n; i++) {
      const c = floor.newCall(seq++, at);
      waiting.set(c.callId, c);
      await store.enqueue(c);
    }
  };
  const claim = async (now: number, maxCalls: number, label: string): Promise<Offer[]> => {
    const got = await claimAsPlanned(store, queues, waiting, now, maxCalls, plan.label ? `${plan.label}: ${label}` : label);
    transcript.push(offerPairs(got));
    return got;
  };

  let t = T0;
  const ringing: Offer[] = [];
  for (let i = 0; i < agents.length; i += plan.waves.agents) {
    for (const a of agents.slice(i, i + plan.waves.agents)) await store.changeAgentState(a.id, 'login', undefined, plan.ties ? T0 : t);
    await enqueue(plan.waves.calls, t);
    t += MIN;
    ringing.push(...(await claim(t, seq % 3 === 0 ? 2 : 0, `login wave ${i}`)));
  }
  for (let round = 0; round < plan.rounds.count; round++) {
    const batch = ringing.splice(0, Math.ceil(ringing.length / 2));
    const answered = new Set<string>();
    if (plan.ties) t += 1000;
    for (const o of batch) {
      if (!plan.ties) t += 1000;
      if (answered.has(o.callId)) continue; // a ring-all partner answered: already released
      if (rnd() < 0.2) {
        const r = await store.ringNoAnswer(o.callId, o.agentId, t);
        if (r.changes.length) await store.changeAgentState(o.agentId, 'unpause', undefined, t);
      } else {
        const r = await store.answered(o.callId, o.agentId, t);
        answered.add(o.callId);
        await store.agentCallEnded(o.agentId, t + (plan.ties ? MIN : Math.floor(rnd() * 10 * MIN)));
        for (const id of r.released) {
          const k = ringing.findIndex((x) => x.agentId === id);
          if (k >= 0) ringing.splice(k, 1);
        }
      }
    }
    // Calls that went back to waiting after ring-no-answer are in the queue again.
    for (const q of queues) for (const c of await store.waiting(q.name)) waiting.set(c.callId, c);
    // Some waiting callers hang up, the first in line among them.
    const leaveChance = plan.leaveChance ?? 0;
    if (leaveChance > 0) {
      for (const c of [...waiting.values()].filter(() => rnd() < leaveChance)) {
        expect((await store.callerLeft(c.callId, t)).was).toBe('waiting');
        waiting.delete(c.callId);
      }
    }
    await plan.beforeRoundCalls?.(round);
    await enqueue(plan.rounds.calls, t);
    t += plan.rounds.minutes * MIN;
    ringing.push(...(await claim(t, round % 2 === 0 ? 1 + (round % 3) : 0, `round ${round}`)));
  }
  return { t, transcript };
}
