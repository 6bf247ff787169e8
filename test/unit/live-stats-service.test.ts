import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { CallEvent, CallEventType } from '../../src/domain/call-event.ts';
import type { CallSummary } from '../../src/kpi/call-summary.ts';
import type { CoalescerTimers } from '../../src/live/coalescer.ts';
import type { LiveCallState } from '../../src/live/live-call.ts';
import type { LiveSnapshot } from '../../src/live/live-snapshot.ts';
import { LiveStats } from '../../src/live/live-stats.ts';
import type { LiveStore } from '../../src/live/live-store.ts';
import { createLogger } from '../../src/log/logger.ts';
import { QueueConfigSchema, type QueueConfig } from '../../src/routing/types.ts';

/*
 * LiveStats' own logic with a fake store (no Redis): which writes it makes per event, how a
 * call seen first after a restart is resumed from the stored summary, and that a change made
 * while a GET's read was under way still reaches listeners.
 */

const T0 = Date.parse('2025-03-03T09:00:00.000Z');

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A store in memory: contributions per call, summaries, reads answered by hand when `hold` is on. */
function fakeStore() {
  const states = new Map<string, LiveCallState>();
  const summaries = new Map<string, CallSummary>();
  const log: string[] = [];
  const reads: Array<() => void> = [];
  let hold = false;
  const store = {
    channel: 'live:changed',
    async apply(callId: string, summary: CallSummary, state: LiveCallState) {
      log.push(`apply ${callId}`);
      states.set(callId, state);
      summaries.set(callId, summary);
    },
    async loadCall(callId: string) {
      log.push(`load ${callId}`);
      return summaries.get(callId) ?? null;
    },
    async announce(subject: string) {
      log.push(`announce ${subject}`);
    },
    /** Reads the counters at once; with `hold`, answers only on release() (a slow read). */
    async readDay() {
      const counters: Record<string, string> = {};
      for (const s of states.values()) for (const [f, v] of Object.entries(s.counts)) counters[f] = String(Number(counters[f] ?? 0) + v);
      if (hold) {
        const d = deferred<void>();
        reads.push(d.resolve);
        await d.promise;
      }
      return { counters, phases: { ivr: 0, queued: 0, talking: 0 } };
    },
    async readFloor() {
      return { agents: {}, queues: {} };
    },
  };
  return {
    store: store as unknown as LiveStore,
    states,
    summaries,
    log,
    hold: (on: boolean) => (hold = on),
    release: () => reads.splice(0).forEach((r) => r()),
  };
}

function manualTimers() {
  const due: Array<{ fn: () => void; live: boolean; ms: number }> = [];
  const timers: CoalescerTimers = {
    now: () => T0,
    setTimeout(fn, ms) {
      const t = { fn, live: true, ms };
      due.push(t);
      return { cancel: () => (t.live = false) };
    },
  };
  /** Runs the coalescer's timers (under a second), as often as new ones appear; the midnight timer is left alone. */
  const fireAll = async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setImmediate(r));
      const ready = due.filter((t) => t.live && t.ms < 1_000);
      if (!ready.length) return;
      for (const t of ready) {
        t.live = false;
        t.fn();
      }
      await new Promise((r) => setImmediate(r));
    }
  };
  return { timers, fireAll };
}

function setup(fake = fakeStore(), queues: readonly QueueConfig[] = []) {
  const clock = manualTimers();
  const subscriber = new EventEmitter() as EventEmitter & { subscribe(): Promise<void> };
  subscriber.subscribe = async () => undefined;
  const live = new LiveStats({
    store: fake.store,
    queues: () => queues,
    subscriber: subscriber as unknown as Redis,
    timeZone: 'Asia/Shanghai',
    log: createLogger('silent'),
    now: () => T0,
    timers: clock.timers,
  });
  return { live, fake, clock, announce: () => subscriber.emit('message', 'live:changed', 'x'), start: () => live.start() };
}

function events(callId: string, steps: ReadonlyArray<[CallEventType, Record<string, unknown>?]>, from = 1): CallEvent[] {
  return steps.map(([type, data = {}], i) => ({ id: `${callId}-${from + i}`, callId, seq: from + i, type, at: new Date(T0 + (from + i) * 1000).toISOString(), data }));
}

const settle = () => new Promise((r) => setImmediate(r));

describe('LiveStats', () => {
  it('writes a call when its contribution changes, only announces when it does not, and skips other events', async () => {
    const { live, fake } = setup();
    const call = events('A', [
      ['call.started', { caller: '1' }],
      ['dtmf', { digit: '2' }],
      ['queue.requested', { queue: 'general' }],
      ['queue.joined', { queue: 'general' }],
      ['agent.offered', { agentId: 'a1', queue: 'general' }],
    ]);
    for (const e of call) live.recordCall(e);
    await settle();
    expect(fake.log).toEqual(['apply A', 'apply A', 'apply A', 'announce A']);
    expect(fake.states.get('A')).toMatchObject({ phase: 'queued', counts: { 'general|offered': 1, 'general|reachedQueue': 1 } });
  });

  it('resumes a call it did not see start from the summary stored before a restart', async () => {
    const first = setup();
    for (const e of events('B', [['call.started'], ['queue.requested', { queue: 'general' }], ['queue.joined', { queue: 'general' }]])) first.live.recordCall(e);
    await settle();

    // A new process, the same store: the caller hangs up 30 s after joining.
    const store = first.fake;
    const { live } = setup(store);
    live.recordCall({ id: 'B-4', callId: 'B', seq: 4, type: 'call.ended', at: new Date(T0 + 33_000).toISOString(), data: { cause: 'caller_hangup' } });
    await settle();
    expect(store.log.slice(-2)).toEqual(['load B', 'apply B']);
    expect(store.states.get('B')).toMatchObject({ phase: null, counts: { 'general|offered': 1, 'general|abandoned': 1, 'general|slBase': 1 } });
  });

  it("counts each call with its queue's thresholds, and the snapshot says which", async () => {
    const base = { skills: [], strategy: 'longest-idle', ringTimeoutSeconds: 15, wrapUpSeconds: 10, maxWaitSeconds: 300, agingPerMinute: 1 };
    const queues = [QueueConfigSchema.parse({ ...base, name: 'sales', serviceLevelSeconds: 10, shortAbandonSeconds: 2 }), QueueConfigSchema.parse({ ...base, name: 'general' })];
    const { live, fake } = setup(fakeStore(), queues);
    // In each queue: one call answered after 15 s of waiting, one abandoned after 3 s (events 1 s apart from `from`).
    const answeredAfter15 = (id: string, queue: string) =>
      events(id, [['call.started'], ['queue.requested', { queue }], ['queue.joined', { queue }], ...Array.from({ length: 14 }, () => ['agent.rona', {}] as [CallEventType, Record<string, unknown>]), ['agent.answered', { agentId: 'a1', queue }]]);
    const abandonedAfter3 = (id: string, queue: string) =>
      events(id, [['call.started'], ['queue.requested', { queue }], ['queue.joined', { queue }], ['agent.rona', {}], ['agent.rona', {}], ['call.ended', { cause: 'caller_hangup' }]]);
    for (const e of [...answeredAfter15('S1', 'sales'), ...abandonedAfter3('S2', 'sales'), ...answeredAfter15('G1', 'general'), ...abandonedAfter3('G2', 'general')]) live.recordCall(e);
    await settle();
    // sales (T 10, short 2): 15 s is not within T, 3 s is an abandon. general (defaults 20 and 5): within, and a short abandon.
    expect(fake.states.get('S1')!.counts).not.toHaveProperty('sales|slWithin');
    expect(fake.states.get('S2')!.counts).toMatchObject({ 'sales|abandoned': 1, 'sales|slBase': 1 });
    expect(fake.states.get('G1')!.counts).toMatchObject({ 'general|slWithin': 1, 'general|slBase': 1 });
    expect(fake.states.get('G2')!.counts).toMatchObject({ 'general|shortAbandoned': 1 });
    const snap = await live.snapshot();
    expect(snap.queues.sales).toMatchObject({ serviceLevelSeconds: 10, shortAbandonSeconds: 2, today: { answered: 1, abandoned: 1, shortAbandoned: 0, serviceLevel: 0 } });
    expect(snap.queues.general).toMatchObject({ serviceLevelSeconds: 20, shortAbandonSeconds: 5, today: { answered: 1, abandoned: 0, shortAbandoned: 1, serviceLevel: 1 } });
    expect([snap.serviceLevelSeconds, snap.shortAbandonSeconds]).toEqual([20, 5]);
  });

  it('pushes a change that came while a GET read was under way', async () => {
    const { live, fake, clock, announce, start } = setup();
    await start();
    const seen: LiveSnapshot[] = [];
    live.onChange((s) => seen.push(s));
    fake.hold(true);
    const get = live.snapshot(); // a GET's read, started before the change
    for (const e of events('C', [['call.started']])) live.recordCall(e);
    await settle();
    announce();
    await clock.fireAll(); // the push shares the GET's read
    fake.hold(false);
    fake.release();
    await get;
    await clock.fireAll(); // ...and, since that read may have missed the change, reads again
    expect(seen.map((s) => s.today.offered)).toEqual([0, 1]);
  });
});
