import { BUSY_STATES, STAFFED_STATES, type AgentStateInterval } from './agent-intervals.ts';
import { isCallerHangup, isSystemLoss, MAX_PATH, type CallSummary } from './call-summary.ts';
import { mean, percentile, ratio } from './stats.ts';

/**
 * The hotline's KPIs, one definition each, over call summaries (see call-summary.ts) and, for
 * occupancy, agent state intervals (see agent-intervals.ts). The README's "KPIs" section says
 * the same in one line each; keep the two together. Rates are fractions (0..1) and are null
 * when their denominator is 0; times are seconds. Callback records (direction `callback`) are
 * not inbound calls: only AHT, handled per agent and the callback counts include them.
 */

export interface KpiThresholds {
  /** An abandon after less than this wait is a short abandon, counted apart. Default 5. */
  readonly shortAbandonSeconds?: number;
  /** Service level threshold T. Default 20. */
  readonly serviceLevelSeconds?: number;
}

export interface KpiOptions extends KpiThresholds {
  /**
   * Thresholds of a queue's own (its configuration), by queue name: a call counts with the
   * thresholds of the queue it was last in (`CallSummary.queue`), each one falling back to the
   * top-level value, then to the default. A report over several queues mixes them that way.
   */
  readonly perQueue?: Readonly<Record<string, KpiThresholds>>;
}

export const DEFAULT_SHORT_ABANDON_SECONDS = 5;
export const DEFAULT_SERVICE_LEVEL_SECONDS = 20;

/** The thresholds one call counts with (see KpiOptions.perQueue). */
export function thresholdsOf(c: Pick<CallSummary, 'queue'>, opts: KpiOptions = {}): Required<KpiThresholds> {
  const own = c.queue !== null && opts.perQueue !== undefined && Object.hasOwn(opts.perQueue, c.queue) ? opts.perQueue[c.queue] : undefined;
  return {
    shortAbandonSeconds: own?.shortAbandonSeconds ?? opts.shortAbandonSeconds ?? DEFAULT_SHORT_ABANDON_SECONDS,
    serviceLevelSeconds: own?.serviceLevelSeconds ?? opts.serviceLevelSeconds ?? DEFAULT_SERVICE_LEVEL_SECONDS,
  };
}

type Calls = readonly CallSummary[];

function inbound(calls: Calls): Calls {
  return calls.filter((c) => c.direction === 'inbound');
}

/** Offered: every inbound call that arrived (has a summary). */
export function offered(calls: Calls): number {
  return inbound(calls).length;
}

/** IVR containment: ended calls that never asked for an agent / ended calls. */
export function ivrContainment(calls: Calls): { contained: number; ended: number; rate: number | null } {
  const ended = inbound(calls).filter((c) => c.containedInIvr !== null);
  const contained = ended.filter((c) => c.containedInIvr === true).length;
  return { contained, ended: ended.length, rate: ratio(contained, ended.length) };
}

/** Mean IVR time: mean over ended calls of the time spent in the flow (neither queued nor talking). */
export function meanIvrSeconds(calls: Calls): number | null {
  return mean(inbound(calls).filter((c) => c.endedAt !== null).map((c) => c.ivrSeconds));
}

/** First-level key distribution: calls per first-level menu key, share of the calls that chose one. */
export function firstLevelKeys(calls: Calls): { key: string; calls: number; share: number }[] {
  const counts = new Map<string, number>();
  for (const c of inbound(calls)) if (c.firstLevelKey !== null) counts.set(c.firstLevelKey, (counts.get(c.firstLevelKey) ?? 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => ({ key, calls: n, share: n / total }));
}

/** Agent requests: calls that entered a queue node. */
export function agentRequests(calls: Calls): number {
  return inbound(calls).filter((c) => c.agentRequested).length;
}

/** Reached queue: calls that joined a queue (a request with no agent logged in never does). */
export function reachedQueue(calls: Calls): number {
  return inbound(calls).filter((c) => c.reachedQueue).length;
}

/** Answered: calls an agent answered. */
export function answered(calls: Calls): number {
  return inbound(calls).filter((c) => c.answeredAt !== null).length;
}

/**
 * Abandoned: the caller hung up while queued, after waiting at least the short-abandon time;
 * short abandons (less than that) are counted apart and are not in `abandoned`.
 */
export function abandoned(calls: Calls, opts: KpiOptions = {}): { abandoned: number; shortAbandoned: number } {
  let long = 0;
  let shortCount = 0;
  for (const c of inbound(calls)) {
    if (c.queueOutcome !== 'abandoned') continue;
    if (c.waitSeconds < thresholdsOf(c, opts).shortAbandonSeconds) shortCount += 1;
    else long += 1;
  }
  return { abandoned: long, shortAbandoned: shortCount };
}

/** Answer rate: answered / agent requests. */
export function answerRate(calls: Calls): number | null {
  return ratio(answered(calls), agentRequests(calls));
}

/** Service level: answered within T seconds of waiting / (calls that reached the queue − short abandons); T (and the short-abandon time) per the call's queue. */
export function serviceLevel(calls: Calls, opts: KpiOptions = {}): number | null {
  const within = inbound(calls).filter((c) => c.answeredAt !== null && c.waitSeconds <= thresholdsOf(c, opts).serviceLevelSeconds).length;
  return ratio(within, reachedQueue(calls) - abandoned(calls, opts).shortAbandoned);
}

/** ASA: mean wait of answered calls. */
export function asa(calls: Calls): number | null {
  return mean(inbound(calls).filter((c) => c.answeredAt !== null).map((c) => c.waitSeconds));
}

/** Wait: mean and nearest-rank p90 of the wait of calls that reached a queue and are no longer in it. */
export function waitTimes(calls: Calls): { mean: number | null; p90: number | null } {
  const waits = inbound(calls).filter((c) => c.reachedQueue && c.phase !== 'queued').map((c) => c.waitSeconds);
  return { mean: mean(waits), p90: percentile(waits, 90) };
}

/** AHT: mean of talk + hold + wrap-up over handled calls (answered, or connected callbacks) whose talk has ended (unknown wrap-up counts 0). */
export function aht(calls: Calls): number | null {
  return mean(calls.filter((c) => c.answeredAt !== null && c.talkEndedAt !== null).map((c) => c.talkSeconds + c.holdSeconds + (c.wrapUpSeconds ?? 0)));
}

/** Handled per agent: answered calls and connected callbacks per agent id. */
export function handledByAgent(calls: Calls): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) if (c.answeredAt !== null && c.agentId !== null) out[c.agentId] = (out[c.agentId] ?? 0) + 1;
  return out;
}

export interface AgentOccupancy {
  readonly busySeconds: number;
  readonly staffedSeconds: number;
  /** busy / staffed time; null when the agent was not staffed in the window. */
  readonly occupancy: number | null;
}

/**
 * Occupancy per agent: time ringing, on a call or in wrap-up / time in those states or
 * available, within `window` if given (intervals are clipped to it).
 */
export function occupancy(intervals: readonly AgentStateInterval[], window?: { from: string; to: string }): Record<string, AgentOccupancy> {
  const lo = window ? Date.parse(window.from) : -Infinity;
  const hi = window ? Date.parse(window.to) : Infinity;
  const sums = new Map<string, { busy: number; staffed: number }>();
  for (const i of intervals) {
    const seconds = Math.max(0, Math.min(hi, Date.parse(i.to)) - Math.max(lo, Date.parse(i.from))) / 1000;
    const sum = sums.get(i.agentId) ?? { busy: 0, staffed: 0 };
    if (BUSY_STATES.includes(i.state)) sum.busy += seconds;
    if (STAFFED_STATES.includes(i.state)) sum.staffed += seconds;
    sums.set(i.agentId, sum);
  }
  const out: Record<string, AgentOccupancy> = {};
  for (const [agentId, s] of sums) out[agentId] = { busySeconds: s.busy, staffedSeconds: s.staffed, occupancy: s.staffed > 0 ? s.busy / s.staffed : null };
  return out;
}

/** Transfers back to IVR: times an agent hung up and the caller's next input node was a menu, gather or voicemail. */
export function transfersToIvr(calls: Calls): number {
  return inbound(calls).reduce((n, c) => n + c.transfersToIvr, 0);
}

/** Callbacks: callback.requested and callback.completed events, whichever call record holds them. */
export function callbacks(calls: Calls): { requested: number; completed: number } {
  return {
    requested: calls.reduce((n, c) => n + c.callbacksRequested, 0),
    completed: calls.reduce((n, c) => n + c.callbacksCompleted, 0),
  };
}

export interface SurveyKpis {
  /** Calls that entered a survey node. */
  readonly offered: number;
  /** Calls with at least one answer (for the question, if one is named). */
  readonly answeredCalls: number;
  /** answeredCalls / offered. */
  readonly participation: number | null;
  readonly answers: number;
  readonly meanScore: number | null;
  /** Answers of 4 or 5 / answers on a 1-5 scale (answers on other scales are left out). */
  readonly csat: number | null;
}

/** Survey participation, mean score and CSAT, for one question or all of them. */
export function survey(calls: Calls, question?: string): SurveyKpis {
  const offeredCalls = inbound(calls).filter((c) => c.surveyOffered);
  const answersOf = (c: CallSummary) => c.surveyAnswers.filter((a) => question === undefined || a.question === question);
  const answers = inbound(calls).flatMap(answersOf);
  const fivePoint = answers.filter((a) => a.scale === 5);
  const answeredCalls = offeredCalls.filter((c) => answersOf(c).length > 0).length;
  return {
    offered: offeredCalls.length,
    answeredCalls,
    participation: ratio(answeredCalls, offeredCalls.length),
    answers: answers.length,
    meanScore: mean(answers.map((a) => a.score)),
    csat: ratio(fivePoint.filter((a) => a.score >= 4).length, fivePoint.length),
  };
}

/** One IVR node's traffic: how many calls came in, went on, and where the call stopped. */
export interface NodeHeat {
  readonly flow: string;
  readonly version: number;
  readonly node: string;
  readonly type: string;
  /** Visits (a call that loops back counts each time). */
  readonly entered: number;
  /** Distinct calls that entered. */
  readonly calls: number;
  /** Visits followed by another node (the call left for the next one). */
  readonly movedOn: number;
  /** Calls that ended while at this node (the node was their last): hungUpHere + endedByFlow + lostHere. */
  readonly endedHere: number;
  /** Of those, the caller hung up (caller_hangup or hangup:<code>): abandoned at this node, where callers give up. */
  readonly hungUpHere: number;
  /** Of those, the flow ended the call (hang-up node, transfer, no agent, ...: any cause that is neither of the others). */
  readonly endedByFlow: number;
  /** Of those, the system lost the call (app restart, outage, shutdown, error). */
  readonly lostHere: number;
  /** Calls still at this node. */
  readonly current: number;
}

/**
 * Node heat map from each call's path (flow.node_entered events). Nodes are keyed by flow,
 * version and node name, since a node of the same name may mean something else in another
 * version. A path cut at MAX_PATH does not know its last node, so it adds no end.
 */
export function nodeHeatMap(calls: Calls): NodeHeat[] {
  const heat = new Map<string, { -readonly [K in keyof NodeHeat]: NodeHeat[K] }>();
  for (const c of inbound(calls)) {
    const seen = new Set<string>();
    c.path.forEach((v, i) => {
      const key = `${v.flow}@${v.version}/${v.node}`;
      let h = heat.get(key);
      if (!h) {
        h = { flow: v.flow, version: v.version, node: v.node, type: v.type, entered: 0, calls: 0, movedOn: 0, endedHere: 0, hungUpHere: 0, endedByFlow: 0, lostHere: 0, current: 0 };
        heat.set(key, h);
      }
      h.entered += 1;
      if (!seen.has(key)) h.calls += 1;
      seen.add(key);
      if (i < c.path.length - 1) h.movedOn += 1;
      else if (c.path.length < MAX_PATH) {
        if (c.endedAt === null) h.current += 1;
        else {
          h.endedHere += 1;
          if (isCallerHangup(c.hangupCause)) h.hungUpHere += 1;
          else if (isSystemLoss(c.hangupCause)) h.lostHere += 1;
          else h.endedByFlow += 1;
        }
      }
    });
  }
  return [...heat.values()].sort(compareNodes);
}

/** The heat map's order: by flow, version, node. */
export function compareNodes(a: NodeHeat, b: NodeHeat): number {
  return a.flow.localeCompare(b.flow) || a.version - b.version || a.node.localeCompare(b.node);
}

/** Every call KPI above in one object (what a report row carries). */
export function callKpis(calls: Calls, opts: KpiOptions = {}) {
  const containment = ivrContainment(calls);
  return {
    offered: offered(calls),
    ivrContainmentRate: containment.rate,
    meanIvrSeconds: meanIvrSeconds(calls),
    firstLevelKeys: firstLevelKeys(calls),
    agentRequests: agentRequests(calls),
    reachedQueue: reachedQueue(calls),
    answered: answered(calls),
    ...abandoned(calls, opts),
    answerRate: answerRate(calls),
    serviceLevel: serviceLevel(calls, opts),
    asa: asa(calls),
    wait: waitTimes(calls),
    aht: aht(calls),
    handledByAgent: handledByAgent(calls),
    transfersToIvr: transfersToIvr(calls),
    callbacks: callbacks(calls),
    survey: survey(calls),
  };
}
