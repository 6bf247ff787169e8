import { emptySummary, foldCallEvent, type CallSummary, type FoldableEvent } from '../kpi/call-summary.ts';
import { abandoned, agentRequests, answered, offered, reachedQueue, serviceLevel, type KpiOptions } from '../kpi/kpis.ts';
import { dayOf } from './live-day.ts';

/**
 * The live view of one call: the pure reducer behind today's counters and the calls-in-IVR
 * gauge. A call's events fold into its summary (the same fold as the `calls` row, see
 * kpi/call-summary.ts); the summary says what the call adds to today's counters, through the
 * KPI functions themselves applied to that one call, so a live number and the day's report can
 * never disagree on a definition. What a call adds is stored next to it (in Redis) and replaced
 * whole at every change, so counters are the sum of the calls' latest contributions: a repeated
 * write adds nothing, and a call that moves to another queue moves its counts with it.
 */

/**
 * Call events that change a live figure: a counter, the call's phase, or routing's waiting
 * calls and agents (agent.offered takes a call out of `waiting`). Other events (prompts, keys,
 * nodes) are skipped: the fields the counters read do not depend on them.
 */
export const LIVE_CALL_EVENTS: ReadonlySet<string> = new Set([
  'call.started',
  'queue.requested',
  'queue.joined',
  'queue.overflowed',
  'queue.left',
  'agent.offered',
  'agent.rona',
  'agent.answered',
  'callback.connected',
  'bridge.ended',
  'call.ended',
]);

/**
 * Per-call counts, each an additive KPI (its value over many calls is the sum over the calls):
 * `slWithin` / `slBase` is the service level's numerator / denominator.
 */
export const LIVE_COUNTS = ['offered', 'agentRequests', 'reachedQueue', 'answered', 'abandoned', 'shortAbandoned', 'slWithin', 'slBase'] as const;
export type LiveCount = (typeof LIVE_COUNTS)[number];

/** Where an inbound call is now; callbacks and ended calls are in none. */
export type LivePhase = 'ivr' | 'queued' | 'talking';

/** What one call contributes, as stored next to it. */
export interface LiveCallState {
  /** The hotline day (its time zone) the call started: the day its counts belong to. */
  readonly day: string;
  /** `<queue>|<count>` -> value; zeros left out. The queue is the call's last queue, '' for none. */
  readonly counts: Readonly<Record<string, number>>;
  readonly phase: LivePhase | null;
}

export interface LiveCallContext {
  readonly timeZone: string;
  readonly kpi: KpiOptions;
}

/** The key of a count in the day's hash: the queue ('' when the call asked for none) and the count. */
export function countField(queue: string, count: LiveCount): string {
  return `${queue}|${count}`;
}

/** One call's counts, by the KPI definitions applied to that call alone. */
export function callCounts(s: CallSummary, kpi: KpiOptions): Record<LiveCount, number> {
  const one = [s];
  const { abandoned: long, shortAbandoned } = abandoned(one, kpi);
  const reached = reachedQueue(one);
  return {
    offered: offered(one),
    agentRequests: agentRequests(one),
    reachedQueue: reached,
    answered: answered(one),
    abandoned: long,
    shortAbandoned,
    // Over one call the service level's denominator is 1 whenever the ratio is defined, so the
    // ratio is the call's numerator (0 or 1); summed over calls these give the same ratio.
    slWithin: serviceLevel(one, kpi) ?? 0,
    slBase: reached - shortAbandoned,
  };
}

/** The call's contribution: its day, its counts under its queue, its phase. */
export function liveStateOf(s: CallSummary, ctx: LiveCallContext): LiveCallState {
  const queue = s.queue ?? '';
  const counts: Record<string, number> = {};
  for (const [name, value] of Object.entries(callCounts(s, ctx.kpi))) if (value !== 0) counts[countField(queue, name as LiveCount)] = value;
  const phase = s.direction === 'inbound' && s.phase !== 'ended' ? s.phase : null;
  return { day: dayOf(Date.parse(s.startedAt ?? new Date(0).toISOString()), ctx.timeZone), counts, phase };
}

export function sameLiveState(a: LiveCallState, b: LiveCallState): boolean {
  if (a.day !== b.day || a.phase !== b.phase) return false;
  const ka = Object.keys(a.counts);
  return ka.length === Object.keys(b.counts).length && ka.every((k) => a.counts[k] === b.counts[k]);
}

/**
 * Folds one event into the call's summary (null: nothing known of the call yet) and says what
 * the call now contributes. Events outside LIVE_CALL_EVENTS leave the summary as it is.
 */
export function reduceLiveCall(prev: CallSummary | null, event: FoldableEvent, ctx: LiveCallContext): { summary: CallSummary; state: LiveCallState } {
  const base = prev ?? emptySummary(event.callId);
  const summary = LIVE_CALL_EVENTS.has(event.type) ? foldCallEvent(base, event) : base;
  return { summary, state: liveStateOf(summary, ctx) };
}
