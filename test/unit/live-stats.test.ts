import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { summarizeCalls, type CallSummary, type FoldableEvent } from '../../src/kpi/call-summary.ts';
import { abandoned, answered, offered, serviceLevel } from '../../src/kpi/kpis.ts';
import { Coalescer, type CoalescerTimers } from '../../src/live/coalescer.ts';
import { countField, reduceLiveCall, sameLiveState, type LiveCallState } from '../../src/live/live-call.ts';
import { dayOf, msUntilNextDay } from '../../src/live/live-day.ts';
import { buildSnapshot, type LiveInputs } from '../../src/live/live-snapshot.ts';
import { applyMergePatch, mergePatchBetween } from '../../src/live/merge-patch.ts';

/*
 * Hand-built calls (times in seconds after each call's base), shaped like what the flow nodes
 * and routing record:
 *   A  contained in the IVR, completed at 30
 *   B  general: joined 5, answered 15 (waited 10 s), agent hangs up 100, ends 105
 *   C  general: joined 5, answered 40 (waited 35 s), ends 200 while talking
 *   D  general: joined 5, caller hangs up at 15 (abandon after 10 s)
 *   E  general: joined 5, caller hangs up at 7 (short abandon, 2 s)
 *   F  billing first (joined 3, left by key at 8), then general: joined 10, answered 20 (waited 5 + 10 s)
 *   G  general: joined 5, lost by a restart at 60 (dropped, not an abandon)
 *   Cb a callback record answered by an agent (not an inbound call: counts nothing)
 *   H  general: in progress, still queued (joined 4)
 *   I  in progress, still in the IVR
 * By hand, over A..I: offered 9 (all but Cb); general: offered 7 (B C D E F G H), answered 3
 * (B C F), abandoned 1 (D), short 1 (E), reached 7, SL base 7 - 1 = 6, within 20 s: B (10)
 * and F (15) = 2, so SL 2/6; billing: nothing (F's last queue is general).
 */
const T0 = Date.parse('2025-03-03T09:00:00.000Z');
const TZ = 'Asia/Shanghai';
const ctx = { timeZone: TZ, kpi: {} };

type Step = readonly [seconds: number, type: string, data?: Record<string, unknown>];
function call(callId: string, base: number, steps: readonly Step[]): FoldableEvent[] {
  return steps.map(([t, type, data = {}], i) => ({ callId, seq: i + 1, type, at: new Date(T0 + (base + t) * 1000).toISOString(), data }));
}
const started: Step = [0, 'call.started', { caller: '13800000000', dialed: '10010' }];
const queued = (q: string, t: number): Step[] => [
  [t - 1, 'queue.requested', { queue: q }],
  [t, 'queue.joined', { queue: q, position: 1 }],
];
const answeredAt = (q: string, t: number): Step[] => [
  [t, 'agent.offered', { agentId: 'a1', queue: q }],
  [t, 'agent.answered', { agentId: 'a1', queue: q }],
  [t, 'queue.left', { queue: q, reason: 'answered', agentId: 'a1' }],
];

const CALLS: Record<string, FoldableEvent[]> = {
  A: call('A', 0, [started, [1, 'flow.node_entered', { type: 'menu' }], [2, 'dtmf', { digit: '1' }], [30, 'call.ended', { cause: 'completed' }]]),
  B: call('B', 10, [started, ...queued('general', 5), ...answeredAt('general', 15), [100, 'bridge.ended'], [105, 'call.ended', { cause: 'completed' }]]),
  C: call('C', 20, [started, ...queued('general', 5), ...answeredAt('general', 40), [200, 'call.ended', { cause: 'caller_hangup' }]]),
  D: call('D', 30, [started, ...queued('general', 5), [15, 'call.ended', { cause: 'caller_hangup' }]]),
  E: call('E', 40, [started, ...queued('general', 5), [7, 'call.ended', { cause: 'hangup:16' }]]),
  F: call('F', 50, [
    started,
    ...queued('billing', 3),
    [8, 'queue.left', { queue: 'billing', reason: 'exit' }],
    ...queued('general', 10),
    ...answeredAt('general', 20),
    [90, 'call.ended', { cause: 'caller_hangup' }],
  ]),
  G: call('G', 60, [started, ...queued('general', 5), [60, 'call.ended', { cause: 'app_restarted' }]]),
  Cb: call('Cb', 70, [[0, 'call.started', { direction: 'callback', caller: '13800000000', queue: 'general' }], [4, 'agent.answered', { agentId: 'a2' }], [12, 'callback.connected', { agentId: 'a2' }], [70, 'call.ended', { cause: 'completed' }]]),
  H: call('H', 80, [started, ...queued('general', 4)]),
  I: call('I', 90, [started, [1, 'flow.node_entered', { type: 'menu' }]]),
};

/** Folds each call and keeps its latest contribution, as the Lua script does in Redis. */
function foldAll(calls: Record<string, FoldableEvent[]>): { states: Map<string, LiveCallState>; summaries: CallSummary[] } {
  const states = new Map<string, LiveCallState>();
  const summaries: CallSummary[] = [];
  for (const [id, events] of Object.entries(calls)) {
    let summary: CallSummary | null = null;
    for (const e of events) {
      const r = reduceLiveCall(summary, e, ctx);
      summary = r.summary;
      states.set(id, r.state);
    }
    summaries.push(summary!);
  }
  return { states, summaries };
}

/** The day hash the Lua script keeps: every call's latest counts summed. */
function dayHash(states: Iterable<LiveCallState>, day: string): Record<string, string> {
  const sums = new Map<string, number>();
  for (const s of states) if (s.day === day) for (const [f, v] of Object.entries(s.counts)) sums.set(f, (sums.get(f) ?? 0) + v);
  return Object.fromEntries([...sums].map(([f, v]) => [f, String(v)]));
}

function inputs(over: Partial<LiveInputs>): LiveInputs {
  return {
    now: T0,
    day: '2025-03-03',
    timeZone: TZ,
    serviceLevelSeconds: 20,
    shortAbandonSeconds: 5,
    counters: {},
    phases: { ivr: 0, queued: 0, talking: 0 },
    queues: [],
    floor: { agents: {}, queues: {} },
    ...over,
  };
}

describe('live call reducer', () => {
  it("today's counters are the hand-worked figures, and the KPI functions' over the same calls", () => {
    const { states, summaries } = foldAll(CALLS);
    const snap = buildSnapshot(inputs({ counters: dayHash(states.values(), '2025-03-03'), queues: ['general', 'billing'] }));
    const general = snap.queues.general!.today;
    expect(snap.today.offered).toBe(9);
    expect(general).toMatchObject({ offered: 7, reachedQueue: 7, answered: 3, abandoned: 1, shortAbandoned: 1, answeredWithinThreshold: 2, serviceLevelBase: 6 });
    expect(general.serviceLevel).toBeCloseTo(2 / 6, 12);
    expect(snap.queues.billing!.today).toMatchObject({ offered: 0, reachedQueue: 0, serviceLevel: null });

    // The same numbers as the KPI module's over the whole set of summaries.
    const byQueue = summarizeCalls(Object.values(CALLS).flat()).filter((c) => c.queue === 'general');
    expect(snap.today.offered).toBe(offered(summaries));
    expect(general.answered).toBe(answered(byQueue));
    expect(general.abandoned).toBe(abandoned(byQueue).abandoned);
    expect(general.serviceLevel).toBe(serviceLevel(byQueue));
  });

  it('places calls in phases: H queued, I in the IVR, ended calls and callbacks nowhere', () => {
    const { states } = foldAll(CALLS);
    const phases = Object.fromEntries([...states].map(([id, s]) => [id, s.phase]));
    expect(phases).toEqual({ A: null, B: null, C: null, D: null, E: null, F: null, G: null, Cb: null, H: 'queued', I: 'ivr' });
    const talking = foldAll({ C: CALLS.C!.slice(0, -1) }).states.get('C')!;
    expect(talking.phase).toBe('talking');
  });

  it('moves a call\'s counts with it when it goes to another queue', () => {
    const F = CALLS.F!;
    const inBilling = foldAll({ F: F.slice(0, 3) }).states.get('F')!;
    expect(inBilling.counts).toEqual({ [countField('billing', 'offered')]: 1, [countField('billing', 'agentRequests')]: 1, [countField('billing', 'reachedQueue')]: 1, [countField('billing', 'slBase')]: 1 });
    const final = foldAll({ F }).states.get('F')!;
    expect(Object.keys(final.counts).every((k) => k.startsWith('general|'))).toBe(true);
  });

  it('a repeated event changes nothing; skipped event types leave the summary as it was', () => {
    const events = CALLS.B!;
    let summary: CallSummary | null = null;
    let state: LiveCallState | null = null;
    for (const e of events.slice(0, 4)) ({ summary, state } = reduceLiveCall(summary, e, ctx));
    const again = reduceLiveCall(summary, events[3]!, ctx);
    expect(again.summary).toBe(summary);
    expect(sameLiveState(again.state, state!)).toBe(true);
    const dtmf = reduceLiveCall(summary, { callId: 'B', seq: 99, type: 'dtmf', at: events[3]!.at, data: { digit: '1' } }, ctx);
    expect(dtmf.summary).toBe(summary);
  });

  it("a call belongs to the hotline day it started, in the hotline's time zone", () => {
    const late = call('Z', 0, [started]).map((e) => ({ ...e, at: '2025-03-03T16:30:00.000Z' }));
    expect(reduceLiveCall(null, late[0]!, ctx).state.day).toBe('2025-03-04');
    expect(reduceLiveCall(null, late[0]!, { timeZone: 'UTC', kpi: {} }).state.day).toBe('2025-03-03');
  });
});

describe('live snapshot', () => {
  it("shows routing's counts per queue with every agent state, and the longest wait from the oldest call", () => {
    const snap = buildSnapshot(
      inputs({
        now: T0 + 95_000,
        queues: ['general', 'vip', 'empty'],
        floor: {
          agents: { logged_out: 1, available: 1, on_call: 1, paused: 1 },
          queues: {
            general: { waiting: 3, oldest: T0 + 5_000, agents: { available: 1, on_call: 1 } },
            vip: { waiting: 0, oldest: 0, agents: { on_call: 1, paused: 1 } },
          },
        },
        phases: { ivr: 4, queued: 3, talking: 1 },
      }),
    );
    expect(snap.queues.general).toMatchObject({ waiting: 3, longestWaitSeconds: 90, oldestEnqueuedAt: new Date(T0 + 5_000).toISOString() });
    expect(snap.queues.general!.agents).toEqual({ logged_out: 0, available: 1, ringing: 0, on_call: 1, wrap_up: 0, paused: 0 });
    expect(snap.queues.vip).toMatchObject({ waiting: 0, longestWaitSeconds: null, oldestEnqueuedAt: null, agents: { on_call: 1, paused: 1, available: 0 } });
    expect(snap.queues.empty).toMatchObject({ waiting: 0, longestWaitSeconds: null, agents: { logged_out: 0, available: 0 } });
    expect(snap.agents).toEqual({ logged_out: 1, available: 1, ringing: 0, on_call: 1, wrap_up: 0, paused: 1 });
    expect([snap.callsInIvr, snap.callsQueued, snap.callsTalking]).toEqual([4, 3, 1]);
  });

  it('shows a queue that has counts today but is no longer configured, and ignores unknown fields', () => {
    const snap = buildSnapshot(inputs({ counters: { 'old|answered': '2', 'old|bogus': '7', '|offered': '5', 'old|offered': '3' } }));
    expect(Object.keys(snap.queues)).toEqual(['old']);
    expect(snap.queues.old!.today).toMatchObject({ answered: 2, offered: 3 });
    expect(snap.today).toMatchObject({ offered: 8, answered: 2 });
  });
});

describe('merge patches', () => {
  it('turns one snapshot into the next, and says nothing when they are equal', () => {
    const from = { a: 1, b: { c: 2, d: null, g: 'x' }, e: 3, h: { i: 1 } };
    const to = { a: 1, b: { c: 3, d: 4, g: null }, f: [1, 2], h: { i: 1 } };
    const patch = mergePatchBetween(from, to);
    expect(patch).toEqual({ b: { c: 3, d: 4, g: null }, e: null, f: [1, 2] });
    expect(applyMergePatch(from, patch)).toEqual({ a: 1, b: { c: 3, d: 4 }, f: [1, 2], h: { i: 1 } });
    expect(mergePatchBetween(to, structuredClone(to))).toBeUndefined();
  });

  it('patches a real snapshot change to the same JSON (nulls read as absent)', () => {
    const { states } = foldAll({ A: CALLS.A!, B: CALLS.B! });
    const before = buildSnapshot(inputs({ queues: ['general'] }));
    const after = buildSnapshot(inputs({ now: T0 + 1000, queues: ['general'], counters: dayHash(states.values(), '2025-03-03') }));
    const withoutNulls = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v) => (v === null ? undefined : v)));
    const patched = applyMergePatch(JSON.parse(JSON.stringify(before)), mergePatchBetween(before, after));
    expect(withoutNulls(patched)).toEqual(withoutNulls(after));
    expect(withoutNulls(patched)).not.toEqual(withoutNulls(before));
  });
});

describe('hotline day', () => {
  it('is the calendar day in the time zone, and the next one starts at its midnight', () => {
    expect(dayOf(Date.parse('2025-03-03T15:59:59.000Z'), TZ)).toBe('2025-03-03');
    expect(dayOf(Date.parse('2025-03-03T16:00:00.000Z'), TZ)).toBe('2025-03-04');
    expect(msUntilNextDay(Date.parse('2025-03-03T15:59:59.000Z'), TZ)).toBe(1_000);
    expect(msUntilNextDay(Date.parse('2025-03-03T16:00:00.000Z'), TZ)).toBe(86_400_000);
    expect(msUntilNextDay(Date.parse('2025-03-03T10:30:00.250Z'), 'UTC')).toBe(13.5 * 3_600_000 - 250);
  });
});

/** Timers driven by hand: `fire()` runs what is due at the current time. */
function manualTimers() {
  let now = 0;
  const due: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const timers: CoalescerTimers = {
    now: () => now,
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      due.push(t);
      return { cancel: () => (t.live = false) };
    },
  };
  return {
    timers,
    advance(ms: number) {
      now += ms;
    },
    pending: () => due.filter((t) => t.live).map((t) => t.at - now),
    fire() {
      const ready = due.filter((t) => t.live && t.at <= now);
      for (const t of ready) {
        t.live = false;
        t.fn();
      }
    },
  };
}

describe('coalescer', () => {
  it('turns a burst into one run, runs once more for a poke during a run, and spaces runs apart', async () => {
    const clock = manualTimers();
    let runs = 0;
    let release: () => void = () => undefined;
    const c = new Coalescer(
      () => {
        runs += 1;
        return new Promise<void>((r) => (release = r));
      },
      200,
      clock.timers,
    );
    for (let i = 0; i < 5; i++) c.poke();
    expect(clock.pending()).toEqual([0]);
    clock.fire();
    expect(runs).toBe(1);
    c.poke();
    c.poke();
    expect(clock.pending()).toEqual([]);
    clock.advance(50);
    release();
    await new Promise((r) => setImmediate(r));
    expect(clock.pending()).toEqual([150]);
    clock.advance(150);
    clock.fire();
    expect(runs).toBe(2);
    release();
    await new Promise((r) => setImmediate(r));
    expect(clock.pending()).toEqual([]);
    c.close();
    c.poke();
    expect(clock.pending()).toEqual([]);
  });
});

describe('METRICS_TOKEN', () => {
  it('is off by default, taken when 16+ characters, refused when shorter', () => {
    expect(loadConfig({ ARI_PASSWORD: 'x' }).metricsToken).toBeNull();
    expect(loadConfig({ ARI_PASSWORD: 'x', METRICS_TOKEN: 'm'.repeat(16) }).metricsToken).toBe('m'.repeat(16));
    expect(() => loadConfig({ ARI_PASSWORD: 'x', METRICS_TOKEN: 'short' })).toThrow(ConfigError);
  });
});
