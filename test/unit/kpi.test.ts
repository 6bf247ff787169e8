import { describe, expect, it } from 'vitest';
import type { CallEvent, CallEventType } from '../../src/domain/call-event.ts';
import { attachWrapUp, intervalsFromStateChanges, type AgentStateInterval } from '../../src/kpi/agent-intervals.ts';
import { emptySummary, foldCallEvent, summarizeCall, summarizeCalls, type CallSummary, type FoldableEvent } from '../../src/kpi/call-summary.ts';
import {
  abandoned,
  agentRequests,
  aht,
  answered,
  answerRate,
  asa,
  callbacks,
  callKpis,
  firstLevelKeys,
  handledByAgent,
  ivrContainment,
  meanIvrSeconds,
  nodeHeatMap,
  occupancy,
  offered,
  reachedQueue,
  serviceLevel,
  survey,
  transfersToIvr,
  waitTimes,
} from '../../src/kpi/kpis.ts';
import { mean, percentile } from '../../src/kpi/stats.ts';

/*
 * Eleven hand-built calls through the `main` flow (v3) and the `survey` flow (v1), shaped like
 * what the flow nodes and routing record. Each call starts at its own `base` second; every time
 * below is seconds after that base. Expected values are worked out by hand next to each test.
 *
 *   A  contained: key 1 (billing), back to the main menu (key 3), balance, completed at 40
 *   B  key 2, joined 6, answered 16 by a1, agent hangs up 136, survey 5 (+ resolved 1/2), ends 141
 *   C  key 2, joined 5, a2 rings and RONAs, answered 35 by a1, agent hangs up 215, survey 3, ends 221
 *   D  key 2, joined 7, caller hangs up at 57 (abandon after 50 s)
 *   E  key 2, joined 3, caller hangs up at 6 (short abandon, 3 s)
 *   F  key 2, no agent logged in (unavailable) at 8, apology, ends 12
 *   G  key 2, joined 4, answered 16 by a2, agent hangs up 76, caller sent to the PIN gather, hangs up 90
 *   H  caller hangs up in the main menu at 11 without a key
 *   I  key 0, joined 5, queue timeout 125, callback requested, ends 130
 *   Icb  I's callback, its own record (direction callback): a1 answers at 4, the customer at 12, ends 72
 *   K  key 2, joined 3, answered 23 by a1, agent hangs up 113, survey offered, caller hangs up 118
 *   L  key 2, joined 2, answered 47 by a2, caller hangs up while talking at 107
 */

const T0 = Date.parse('2025-03-03T09:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** Callback event names are spelled out so the test does not depend on when they join CallEventType. */
type Step = readonly [seconds: number, type: CallEventType | `callback.${'requested' | 'dialing' | 'connected' | 'completed' | 'failed'}`, data?: Record<string, unknown>];

function call(callId: string, base: number, steps: readonly Step[]): FoldableEvent[] {
  return steps.map(([t, type, data = {}], i) => ({ id: `${callId}-${i + 1}`, callId, seq: i + 1, type, at: at(base + t), data }));
}

const node = (name: string, type: string, flow = 'main', version = flow === 'main' ? 3 : 1) => ({ flow, version, node: name, type });
const entered = (t: number, name: string, type: string, flow?: string): Step => [t, 'flow.node_entered', node(name, type, flow)];
const start = (caller: string): Step[] => [
  [0, 'call.started', { channelId: `ch-${caller}`, caller, callerName: '', dialed: '4008001234', role: 'caller', flow: 'main', version: 3 }],
  [0, 'flow.started', { flow: 'main', version: 3, language: 'zh' }],
  entered(0, 'welcome', 'play'),
];
const menu = (t: number, digit: string, target: string, firstLevel = true): Step[] => [
  [t, 'dtmf', { digit, node: 'menu', bargeIn: false }],
  [t, 'menu.selected', { node: firstLevel ? 'menu' : 'billing', digit, target, firstLevel }],
];
const queue = (t: number): Step[] => [
  entered(t, 'agent', 'queue'),
  [t, 'queue.requested', { node: 'agent', queue: 'general', skills: [], priority: 0 }],
  [t, 'queue.joined', { node: 'agent', queue: 'general', position: 1 }],
];
const answer = (t: number, agentId: string): Step[] => [
  [t, 'agent.answered', { agentId, queue: 'general' }],
  [t, 'queue.left', { node: 'agent', queue: 'general', reason: 'answered', agentId }],
];
const toSurvey = (t: number, agentId: string): Step[] => [
  [t, 'bridge.ended', { node: 'agent', agentId, by: 'agent' }],
  entered(t, 'after_agent', 'goto'),
  entered(t, 'intro', 'play', 'survey'),
];
const ended = (t: number, cause: string, at: string): Step => [t, 'call.ended', { cause, node: at, flow: 'main', version: 3 }];

const A = call('A', 0, [
  ...start('+8613800000001'),
  entered(5, 'menu', 'menu'),
  ...menu(9, '1', 'billing'),
  entered(9, 'billing', 'menu'),
  ...menu(12, '9', 'menu', false),
  entered(12, 'menu', 'menu'),
  ...menu(14, '3', 'billing'),
  entered(14, 'billing', 'menu'),
  ...menu(20, '4', 'balance', false),
  entered(20, 'balance', 'play'),
  ended(40, 'completed', 'balance'),
]);
const B = call('B', 1000, [
  ...start('+8613800000002'),
  entered(4, 'menu', 'menu'),
  ...menu(6, '2', 'agent'),
  ...queue(6),
  [8, 'agent.offered', { agentId: 'a1', queue: 'general' }],
  ...answer(16, 'a1'),
  ...toSurvey(136, 'a1'),
  entered(138, 'rating', 'survey', 'survey'),
  [139, 'survey.answered', { question: 'satisfaction', score: 5, scale: 5, node: 'rating', agentId: 'a1' }],
  entered(139, 'resolved', 'survey', 'survey'),
  [140, 'survey.answered', { question: 'resolved', score: 1, scale: 2, node: 'resolved', agentId: 'a1' }],
  entered(140, 'thanks', 'hangup', 'survey'),
  ended(141, 'completed', 'thanks'),
]);
const C = call('C', 2000, [
  ...start('+8613800000003'),
  entered(3, 'menu', 'menu'),
  ...menu(5, '2', 'agent'),
  ...queue(5),
  [6, 'agent.offered', { agentId: 'a2', queue: 'general' }],
  [21, 'agent.rona', { agentId: 'a2', cause: 19, requeued: true, position: 1 }],
  [22, 'agent.offered', { agentId: 'a1', queue: 'general' }],
  ...answer(35, 'a1'),
  ...toSurvey(215, 'a1'),
  entered(217, 'rating', 'survey', 'survey'),
  [220, 'survey.answered', { question: 'satisfaction', score: 3, scale: 5, node: 'rating', agentId: 'a1' }],
  entered(220, 'thanks', 'hangup', 'survey'),
  ended(221, 'completed', 'thanks'),
]);
const D = call('D', 3000, [...start('+8613800000004'), entered(4, 'menu', 'menu'), ...menu(7, '2', 'agent'), ...queue(7), ended(57, 'caller_hangup', 'agent')]);
const E = call('E', 4000, [...start('+8613800000005'), entered(2, 'menu', 'menu'), ...menu(3, '2', 'agent'), ...queue(3), ended(6, 'hangup:17', 'agent')]);
const F = call('F', 5000, [
  ...start('+8613800000006'),
  entered(5, 'menu', 'menu'),
  ...menu(8, '2', 'agent'),
  entered(8, 'agent', 'queue'),
  [8, 'queue.requested', { node: 'agent', queue: 'general', skills: [], priority: 0 }],
  [8, 'queue.left', { node: 'agent', queue: 'general', reason: 'unavailable', detail: 'no agent is logged in' }],
  ended(12, 'queue_unavailable', 'agent'),
]);
const G = call('G', 6000, [
  ...start('+8613800000007'),
  entered(2, 'menu', 'menu'),
  ...menu(4, '2', 'agent'),
  ...queue(4),
  [5, 'agent.offered', { agentId: 'a2', queue: 'general' }],
  ...answer(16, 'a2'),
  [76, 'bridge.ended', { node: 'agent', agentId: 'a2', by: 'agent' }],
  entered(76, 'pin', 'gather'),
  ended(90, 'caller_hangup', 'pin'),
]);
const H = call('H', 7000, [...start('+8613800000008'), entered(5, 'menu', 'menu'), [11, 'menu.timeout', { node: 'menu', retries: 1 }], ended(11, 'caller_hangup', 'menu')]);
const I = call('I', 8000, [
  ...start('+8613800000009'),
  entered(3, 'menu', 'menu'),
  ...menu(5, '0', 'agent'),
  ...queue(5),
  [125, 'queue.left', { node: 'agent', queue: 'general', reason: 'timeout' }],
  entered(125, 'callback_offer', 'play'),
  [125, 'callback.requested', { number: '+8613800000009' }],
  ended(130, 'completed', 'callback_offer'),
]);
const Icb = call('Icb', 8200, [
  [0, 'call.started', { direction: 'callback', originalCallId: 'I', caller: '+8613800000009', dialed: '4008001234', queue: 'general' }],
  [0, 'agent.offered', { agentId: 'a1', queue: 'general' }],
  [4, 'agent.answered', { agentId: 'a1', queue: 'general' }],
  [4, 'callback.dialing', { agentId: 'a1' }],
  [12, 'callback.connected', { agentId: 'a1' }],
  [72, 'callback.completed', { agentId: 'a1', talkSeconds: 60 }],
  [72, 'call.ended', { cause: 'completed' }],
]);
const K = call('K', 9000, [
  ...start('+8613800000010'),
  entered(2, 'menu', 'menu'),
  ...menu(3, '2', 'agent'),
  ...queue(3),
  [3, 'agent.offered', { agentId: 'a1', queue: 'general' }],
  ...answer(23, 'a1'),
  ...toSurvey(113, 'a1'),
  entered(115, 'rating', 'survey', 'survey'),
  [118, 'survey.timeout', { node: 'rating', retries: 1 }],
  ended(118, 'caller_hangup', 'rating'),
]);
const L = call('L', 10_000, [
  ...start('+8613800000011'),
  entered(1, 'menu', 'menu'),
  ...menu(2, '2', 'agent'),
  ...queue(2),
  [2, 'agent.offered', { agentId: 'a2', queue: 'general' }],
  ...answer(47, 'a2'),
  ended(107, 'caller_hangup', 'agent'),
]);

const ALL = [A, B, C, D, E, F, G, H, I, Icb, K, L];
const calls = summarizeCalls(ALL.flat());
const byId = (id: string) => calls.find((c) => c.callId === id)!;

describe('call summary (the calls row)', () => {
  it('folds an answered call into its row', () => {
    const b = byId('B');
    expect(b).toMatchObject({
      caller: '+8613800000002',
      dialed: '4008001234',
      flow: 'main',
      flowVersion: 3,
      startedAt: at(1000),
      endedAt: at(1141),
      firstLevelKey: '2',
      // IVR: 0 -> 6 before the queue, 136 -> 141 after the agent.
      ivrSeconds: 6 + (141 - 136),
      containedInIvr: false,
      agentRequested: true,
      reachedQueue: true,
      queue: 'general',
      queuedAt: at(1006),
      queueOutcome: 'answered',
      waitSeconds: 16 - 6,
      offers: 1,
      ronas: 0,
      agentId: 'a1',
      answeredAt: at(1016),
      talkEndedAt: at(1136),
      talkSeconds: 136 - 16,
      holdSeconds: 0,
      wrapUpSeconds: null,
      disposition: 'answered',
      surveyOffered: true,
      transfersOut: 0,
      transfersToIvr: 0,
      hangupCause: 'completed',
      phase: 'ended',
    });
    expect(b.surveyAnswers).toEqual([
      { question: 'satisfaction', score: 5, scale: 5 },
      { question: 'resolved', score: 1, scale: 2 },
    ]);
  });

  it('gives each call its disposition', () => {
    expect(Object.fromEntries(calls.map((c) => [c.callId, c.disposition]))).toEqual({
      A: 'contained',
      B: 'answered',
      C: 'answered',
      D: 'abandoned',
      E: 'abandoned',
      F: 'queue_unavailable',
      G: 'answered',
      H: 'contained',
      I: 'queue_timeout',
      Icb: 'answered',
      K: 'answered',
      L: 'answered',
    });
  });

  it('keeps the first first-level key, not a later visit of the menu or a sub-menu key', () => {
    // A pressed 1, then 9 in the billing sub-menu, then 3 in the main menu again.
    expect(byId('A').firstLevelKey).toBe('1');
    expect(byId('A').path.map((v) => v.node)).toEqual(['welcome', 'menu', 'billing', 'menu', 'billing', 'balance']);
  });

  it('counts RONAs and offers, and talk that ends with the caller hanging up', () => {
    expect(byId('C')).toMatchObject({ offers: 2, ronas: 1, agentId: 'a1', waitSeconds: 35 - 5 });
    expect(byId('L')).toMatchObject({ talkSeconds: 107 - 47, talkEndedAt: at(10_107), hangupCause: 'caller_hangup' });
  });

  it('folds incrementally: partial rows, a JSON round trip, and redelivered events', () => {
    const half = B.slice(0, 9); // up to queue.joined
    let row = emptySummary('B');
    for (const e of half) row = foldCallEvent(row, e);
    expect(row).toMatchObject({ phase: 'queued', reachedQueue: true, waitSeconds: 0, ivrSeconds: 6, disposition: 'in_progress', containedInIvr: null, endedAt: null });
    // A redelivered (or older) event changes nothing: the same object comes back.
    expect(foldCallEvent(row, half[3]!)).toBe(row);
    // The row is plain JSON: it can be stored and folded on later.
    let stored = JSON.parse(JSON.stringify(row)) as CallSummary;
    for (const e of B.slice(9)) stored = foldCallEvent(stored, e);
    for (const e of B) stored = foldCallEvent(stored, e);
    expect(stored).toEqual(byId('B'));
  });

  it('sorts a call by seq before folding it', () => {
    expect(summarizeCall([...C].reverse())).toEqual(byId('C'));
    expect(summarizeCall([])).toBeNull();
  });

  it('takes a real CallEvent as it is', () => {
    const e: CallEvent = { id: 'x-1', callId: 'x', seq: 1, type: 'call.started', at: at(0), data: { caller: '1', dialed: '2', flow: 'main', version: 3 } };
    expect(foldCallEvent(emptySummary('x'), e)).toMatchObject({ caller: '1', dialed: '2', startedAt: at(0) });
  });

  it('does not call a call lost by the system while queued an abandon', () => {
    const lost = summarizeCall(call('M', 0, [...start('+1'), ...queue(4), ended(30, 'app_restarted', 'agent')]))!;
    expect(lost).toMatchObject({ queueOutcome: 'dropped', disposition: 'queue_dropped', waitSeconds: 26 });
    expect(abandoned([lost])).toEqual({ abandoned: 0, shortAbandoned: 0 });
  });

  it('a caller whose instance was lost while queued (instance_lost, ended by another instance) is dropped by the system, not an abandon', () => {
    const lost = summarizeCall(call('N', 0, [...start('+1'), ...queue(4), [30, 'call.ended', { cause: 'instance_lost', instance: 'app-b' }]]))!;
    expect(lost).toMatchObject({ queueOutcome: 'dropped', disposition: 'queue_dropped', hangupCause: 'instance_lost', waitSeconds: 26 });
    expect(abandoned([lost])).toEqual({ abandoned: 0, shortAbandoned: 0 });
    expect(nodeHeatMap([lost]).find((h) => h.node === 'agent')).toMatchObject({ endedHere: 1, lostHere: 1, hungUpHere: 0, endedByFlow: 0 });
  });
});

describe('KPIs over the eleven calls', () => {
  it('offered: inbound calls only', () => {
    expect(offered(calls)).toBe(11); // the 12 records less Icb, a callback
  });

  it('IVR containment and mean IVR time', () => {
    // Contained: A and H (never asked for an agent); all 11 have ended.
    expect(ivrContainment(calls)).toEqual({ contained: 2, ended: 11, rate: 2 / 11 });
    // IVR seconds: A 40, B 6+5, C 5+6, D 7, E 3, F 12, G 4+14, H 11, I 5+5, K 3+5, L 2.
    expect(calls.filter((c) => c.direction === 'inbound').map((c) => [c.callId, c.ivrSeconds])).toEqual([
      ['A', 40], ['B', 11], ['C', 11], ['D', 7], ['E', 3], ['F', 12], ['G', 18], ['H', 11], ['I', 10], ['K', 8], ['L', 2],
    ]);
    expect(meanIvrSeconds(calls)).toBeCloseTo((40 + 11 + 11 + 7 + 3 + 12 + 18 + 11 + 10 + 8 + 2) / 11, 10);
  });

  it('first-level key distribution', () => {
    // 10 calls chose a first-level key: A '1', I '0', and 8 calls '2' (H chose none).
    expect(firstLevelKeys(calls)).toEqual([
      { key: '0', calls: 1, share: 1 / 10 },
      { key: '1', calls: 1, share: 1 / 10 },
      { key: '2', calls: 8, share: 8 / 10 },
    ]);
  });

  it('agent requests, reached queue, answered, abandoned, answer rate', () => {
    expect(agentRequests(calls)).toBe(9); // B C D E F G I K L
    expect(reachedQueue(calls)).toBe(8); // all of those but F (unavailable)
    expect(answered(calls)).toBe(5); // B C G K L (not the callback Icb)
    expect(abandoned(calls)).toEqual({ abandoned: 1, shortAbandoned: 1 }); // D after 50 s; E after 3 s < 5
    expect(abandoned(calls, { shortAbandonSeconds: 2 })).toEqual({ abandoned: 2, shortAbandoned: 0 });
    expect(answerRate(calls)).toBe(5 / 9);
  });

  it('service level', () => {
    // Waits of the answered calls: B 10, C 30, G 12, K 20, L 45. Within 20 s: B, G, K (20 <= 20).
    // Denominator: 8 reached the queue - 1 short abandon (E).
    expect(serviceLevel(calls)).toBe(3 / (8 - 1));
    expect(serviceLevel(calls, { serviceLevelSeconds: 30 })).toBe(4 / (8 - 1));
    // E's 3 s is no longer a short abandon: it stays in the denominator.
    expect(serviceLevel(calls, { shortAbandonSeconds: 2 })).toBe(3 / 8);
  });

  it('ASA, mean and p90 wait', () => {
    expect(asa(calls)).toBe((10 + 30 + 12 + 20 + 45) / 5);
    // Every call that reached the queue: 3 10 12 20 30 45 50 120 (E B G K C L D I).
    // p90 nearest rank: ceil(0.9 * 8) = 8th value = 120.
    expect(waitTimes(calls)).toEqual({ mean: (3 + 10 + 12 + 20 + 30 + 45 + 50 + 120) / 8, p90: 120 });
  });

  it('AHT, with wrap-up from the agents\' intervals when it is known', () => {
    // Talk: B 120, C 180, G 60, K 90, L 60, and the callback Icb 72 - 12 = 60; no wrap-up known yet.
    expect(aht(calls)).toBe((120 + 180 + 60 + 90 + 60 + 60) / 6);
    const wrapUps: AgentStateInterval[] = [
      { agentId: 'a1', state: 'wrap_up', from: at(1136), to: at(1146) }, // B: 10 s
      { agentId: 'a1', state: 'wrap_up', from: at(2215.4), to: at(2230.4) }, // C: 15 s, starts 0.4 s after the bridge
      { agentId: 'a1', state: 'wrap_up', from: at(9114), to: at(9124) }, // K: 10 s
      { agentId: 'a2', state: 'wrap_up', from: at(6076), to: at(6081) }, // G: 5 s
      { agentId: 'a2', state: 'wrap_up', from: at(10_200), to: at(10_230) }, // 93 s after L's talk: not L's
      { agentId: 'a2', state: 'on_call', from: at(10_047), to: at(10_107) },
    ];
    const withWrap = attachWrapUp(calls, wrapUps);
    expect(withWrap.map((c) => c.wrapUpSeconds)).toEqual([null, 10, 15, null, null, null, 5, null, null, null, 10, null]);
    expect(aht(withWrap)).toBeCloseTo((120 + 10 + (180 + 15) + (60 + 5) + (90 + 10) + 60 + 60) / 6, 10);
  });

  it('handled calls per agent', () => {
    expect(handledByAgent(calls)).toEqual({ a1: 4, a2: 2 }); // a1: B C K and the callback Icb; a2: G L
  });

  it('transfers back to IVR: only G went from the agent to an IVR input node', () => {
    // B, C and K went through goto + play to the survey; L hung up while talking.
    expect(calls.map((c) => c.transfersToIvr)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(transfersToIvr(calls)).toBe(1);
  });

  it('callbacks requested (on I) and completed (on the callback\'s own record)', () => {
    expect(callbacks(calls)).toEqual({ requested: 1, completed: 1 });
  });

  it('a callback record: the agent, then talk from when the customer picks up', () => {
    expect(byId('Icb')).toMatchObject({
      direction: 'callback',
      caller: '+8613800000009',
      queue: 'general',
      agentId: 'a1',
      answeredAt: at(8212),
      talkSeconds: 72 - 12,
      ivrSeconds: 12,
      reachedQueue: false,
      containedInIvr: false,
      disposition: 'answered',
    });
    const failed = summarizeCall(
      call('cb2', 0, [
        [0, 'call.started', { direction: 'callback', originalCallId: 'X', caller: '+1', queue: 'general' }],
        [4, 'agent.answered', { agentId: 'a2' }],
        [34, 'callback.failed', { cause: 19 }],
        [34, 'call.ended', { cause: 'callback_failed' }],
      ]),
    )!;
    expect(failed).toMatchObject({ direction: 'callback', agentId: 'a2', answeredAt: null, talkSeconds: 0, disposition: 'not_connected' });
    expect(handledByAgent([failed])).toEqual({});
  });

  it('survey participation, mean score and CSAT', () => {
    // Offered (entered a survey node): B, C, K. Answered: B (5 and 1 on a 2-point scale), C (3).
    expect(survey(calls)).toEqual({ offered: 3, answeredCalls: 2, participation: 2 / 3, answers: 3, meanScore: (5 + 1 + 3) / 3, csat: 1 / 2 });
    expect(survey(calls, 'satisfaction')).toEqual({ offered: 3, answeredCalls: 2, participation: 2 / 3, answers: 2, meanScore: (5 + 3) / 2, csat: 1 / 2 });
    // No answer on a 1-5 scale: no CSAT.
    expect(survey(calls, 'resolved')).toEqual({ offered: 3, answeredCalls: 1, participation: 1 / 3, answers: 1, meanScore: 1, csat: null });
  });

  it('node heat map: entered, moved on, ended and hung up per node', () => {
    const row = (flow: string, nodeName: string, entered: number, callsIn: number, movedOn: number, hungUpHere: number, endedByFlow: number) => ({
      flow,
      node: nodeName,
      entered,
      calls: callsIn,
      movedOn,
      endedHere: hungUpHere + endedByFlow,
      hungUpHere,
      endedByFlow,
      lostHere: 0,
      current: 0,
    });
    const heat = nodeHeatMap(calls).map(({ flow, node: n, entered, calls: c, movedOn, endedHere, hungUpHere, endedByFlow, lostHere, current }) => ({
      flow,
      node: n,
      entered,
      calls: c,
      movedOn,
      endedHere,
      hungUpHere,
      endedByFlow,
      lostHere,
      current,
    }));
    expect(heat).toEqual([
      row('main', 'after_agent', 3, 3, 3, 0, 0), // B C K
      // 9 requests; moved on: B C G I K; caller hung up here: D E (queued), L (talking); the flow ended F (no agent)
      row('main', 'agent', 9, 9, 5, 3, 1),
      row('main', 'balance', 1, 1, 0, 0, 1), // A, completed
      row('main', 'billing', 2, 1, 2, 0, 0), // A twice
      row('main', 'callback_offer', 1, 1, 0, 0, 1), // I, completed
      // 11 calls, A twice; everyone moved on but H, who hung up there
      row('main', 'menu', 12, 11, 11, 1, 0),
      row('main', 'pin', 1, 1, 0, 1, 0), // G
      row('main', 'welcome', 11, 11, 11, 0, 0),
      row('survey', 'intro', 3, 3, 3, 0, 0),
      row('survey', 'rating', 3, 3, 2, 1, 0), // K hung up there
      row('survey', 'resolved', 1, 1, 1, 0, 0), // B
      row('survey', 'thanks', 2, 2, 0, 0, 2), // B C, completed
    ]);
  });

  it('node heat map: a call the system lost counts apart from hang-ups and flow endings', () => {
    // Lost at the menu by an app restart, then a second call of the same flow that hung up there.
    const lost = call('X', 9000, [...start('+8613800000099'), entered(3, 'menu', 'menu'), ended(20, 'app_restarted', 'menu')]);
    const gaveUp = call('Y', 9100, [...start('+8613800000098'), entered(3, 'menu', 'menu'), ended(9, 'caller_hangup', 'menu')]);
    const menuNode = nodeHeatMap(summarizeCalls([...lost, ...gaveUp])).find((h) => h.node === 'menu')!;
    expect(menuNode).toMatchObject({ entered: 2, calls: 2, movedOn: 0, endedHere: 2, hungUpHere: 1, endedByFlow: 0, lostHere: 1, current: 0 });
  });

  it('a call still in progress counts where it is, not as ended', () => {
    const live = summarizeCall(D.slice(0, -1))!;
    const agentNode = nodeHeatMap([live]).find((h) => h.node === 'agent')!;
    expect(agentNode).toMatchObject({ entered: 1, current: 1, endedHere: 0 });
    // Still queued: not yet in the wait statistics, not contained, not ended.
    expect(waitTimes([live])).toEqual({ mean: null, p90: null });
    expect(ivrContainment([live])).toEqual({ contained: 0, ended: 0, rate: null });
  });

  it('callKpis carries every call KPI', () => {
    const k = callKpis(calls);
    expect(k).toMatchObject({ offered: 11, agentRequests: 9, reachedQueue: 8, answered: 5, abandoned: 1, shortAbandoned: 1, serviceLevel: 3 / 7, transfersToIvr: 1 });
  });
});

describe('agent occupancy', () => {
  const S = (s: number) => at(s);
  const intervals: AgentStateInterval[] = [
    { agentId: 'a1', state: 'available', from: S(0), to: S(100) },
    { agentId: 'a1', state: 'ringing', from: S(100), to: S(110) },
    { agentId: 'a1', state: 'on_call', from: S(110), to: S(230) },
    { agentId: 'a1', state: 'wrap_up', from: S(230), to: S(240) },
    { agentId: 'a1', state: 'paused', from: S(240), to: S(300) },
    { agentId: 'a1', state: 'available', from: S(300), to: S(400) },
    { agentId: 'a1', state: 'logged_out', from: S(400), to: S(500) },
    { agentId: 'a2', state: 'paused', from: S(0), to: S(500) },
  ];

  it('is busy (ringing + on call + wrap-up) over staffed (busy + available) time', () => {
    const busy = 10 + 120 + 10;
    expect(occupancy(intervals)).toEqual({
      a1: { busySeconds: busy, staffedSeconds: busy + 100 + 100, occupancy: busy / (busy + 200) },
      a2: { busySeconds: 0, staffedSeconds: 0, occupancy: null },
    });
    // Clipped to [50, 350): available 50 s + 50 s.
    expect(occupancy(intervals, { from: S(50), to: S(350) }).a1).toEqual({ busySeconds: busy, staffedSeconds: busy + 50 + 50, occupancy: busy / (busy + 100) });
  });

  it('builds the intervals from agent.state_changed events', () => {
    const change = (s: number, from: string, to: string) => ({ at: S(s), data: { agentId: 'a1', from, to, reason: null } });
    const changes = [
      change(300, 'paused', 'available'),
      change(0, 'logged_out', 'available'),
      change(100, 'available', 'ringing'),
      change(110, 'ringing', 'on_call'),
      change(230, 'on_call', 'wrap_up'),
      change(240, 'wrap_up', 'paused'),
      change(400, 'available', 'logged_out'),
    ];
    expect(intervalsFromStateChanges(changes, S(500))).toEqual(intervals.filter((i) => i.agentId === 'a1'));
  });
});

describe('stats', () => {
  it('nearest-rank percentile and mean', () => {
    expect(percentile([5, 1, 4, 2, 3], 90)).toBe(5); // ceil(4.5) = 5th of 1..5
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3); // ceil(2.5) = 3rd
    expect(percentile([7], 90)).toBe(7);
    expect(percentile([], 90)).toBeNull();
    expect(mean([1, 2, 6])).toBe(3);
    expect(mean([])).toBeNull();
  });
});
