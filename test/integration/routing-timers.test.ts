import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { waitUntil } from './helpers/wait.ts';
import { queue as baseQueue } from '../helpers/routing-fixtures.ts';
import { FakeTelephony } from '../unit/fakes/fake-telephony.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { createLogger } from '../../src/log/logger.ts';
import { DEFAULT_CALLBACK_RETRY, RoutingService } from '../../src/routing/routing-service.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import { BullRoutingTimers, type TimerJob } from '../../src/routing/routing-timers.ts';
import type { QueueConfig } from '../../src/routing/types.ts';

/** Routing timers as BullMQ delayed jobs on the run's real Redis. */
describe('durable routing timers', () => {
  const open: BullRoutingTimers[] = [];
  const make = (prefix: string, instance: string, fired: TimerJob[], handle = async (job: TimerJob) => void fired.push(job)) => {
    const t = new BullRoutingTimers(inject('redisUrl'), prefix, instance, handle, createLogger('silent'));
    open.push(t);
    return t;
  };
  afterAll(async () => {
    for (const t of open) await t.close().catch(() => undefined);
  });

  it('a timer armed by an instance that then dies fires in its restarted successor (same instance id)', async () => {
    const prefix = `${inject('redisPrefix')}timers-a:`;
    // The process is gone before it handles the timers, however late it stops: a job it took
    // meanwhile fails back to Redis (attempts: 3), as a dead worker's would.
    let dies = () => undefined as void;
    const gone = new Promise<void>((r) => (dies = r));
    const first = make(prefix, 'app-1', [], async () => {
      await gone;
      throw new Error('instance gone');
    });
    await first.schedule({ kind: 'max-wait', callId: 'c1' }, 1_500);
    await first.schedule({ kind: 'wrap-up', agentId: 'a1', callId: 'c1' }, 1_500);
    dies();
    await first.close();
    const fired: TimerJob[] = [];
    make(prefix, 'app-1', fired);
    await waitUntil(() => fired.length === 2, 15_000, () => `fired: ${JSON.stringify(fired)}`);
    expect(fired).toEqual(expect.arrayContaining([{ kind: 'max-wait', callId: 'c1' }, { kind: 'wrap-up', agentId: 'a1', callId: 'c1' }]));
  });

  it('a caller timer goes to its own instance; a wrap-up to any instance; a cancelled timer never fires', async () => {
    const prefix = `${inject('redisPrefix')}timers-b:`;
    const one: TimerJob[] = [];
    const two: TimerJob[] = [];
    const a = make(prefix, 'app-1', one);
    make(prefix, 'app-2', two);
    await a.schedule({ kind: 'announce', callId: 'c1', n: 0 }, 200);
    // Cancelled 3 s before it is due: ahead of it even on a machine that stalls for a second.
    const due = Date.now() + 3_000;
    await a.schedule({ kind: 'overflow', callId: 'c1', rule: 0 }, 3_000);
    await a.cancel({ kind: 'overflow', callId: 'c1', rule: 0 });
    await a.schedule({ kind: 'wrap-up', agentId: 'a9', callId: 'c1' }, 200);
    await waitUntil(() => one.length + two.length >= 2, 15_000, () => `fired: ${JSON.stringify({ one, two })}`);
    // Past the cancelled timer's due time: it must not appear.
    await new Promise((r) => setTimeout(r, Math.max(0, due + 700 - Date.now())));
    expect(one.filter((j) => j.kind !== 'wrap-up')).toEqual([{ kind: 'announce', callId: 'c1', n: 0 }]);
    expect(two.filter((j) => j.kind !== 'wrap-up')).toEqual([]);
    expect([...one, ...two].filter((j) => j.kind === 'wrap-up')).toEqual([{ kind: 'wrap-up', agentId: 'a9', callId: 'c1' }]);
  });

  it('re-arming a timer replaces it (one job per id), also after it has fired once', async () => {
    const prefix = `${inject('redisPrefix')}timers-c:`;
    const fired: TimerJob[] = [];
    const t = make(prefix, 'app-1', fired);
    await t.schedule({ kind: 'max-wait', callId: 'c2' }, 60_000);
    await t.schedule({ kind: 'max-wait', callId: 'c2' }, 100);
    await waitUntil(() => fired.length === 1, 10_000, () => 'never fired');
    await t.schedule({ kind: 'max-wait', callId: 'c2' }, 100);
    await waitUntil(() => fired.length === 2, 10_000, () => 'a finished job id blocked the second timer');
    await new Promise((r) => setTimeout(r, 500));
    expect(fired).toHaveLength(2);
  });
});

/**
 * Callback attempts on real Redis (RoutingStore) with the real BullMQ timers between them; the
 * telephony is a fake whose legs the test answers or fails, as Asterisk would report them.
 */
describe('callback attempts (real Redis, durable retry timers)', () => {
  const redis = new Redis(inject('redisUrl'));
  const open: { die(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const app of open) await app.die().catch(() => undefined); // held jobs too, should a test have failed holding them
    await redis.quit();
  });

  const queue = (callbackRetry?: QueueConfig['callbackRetry']): QueueConfig =>
    baseQueue('general', {
      wrapUpSeconds: 0,
      maxWaitSeconds: 300,
      announce: { position: false, estimatedWait: false, everySeconds: 30 },
      joinWhenEmpty: true,
      ...(callbackRetry ? { callbackRetry } : {}),
    });

  /**
   * One app instance: its service, fake telephony, the callback records it wrote and its timers.
   * `conn`: its own Redis connection (default: the shared one); `onEvent` sees each event once written.
   *
   * The test decides the order of its steps and the timers that could overtake them: `hold`
   * keeps fired timer jobs it matches from the service until released (a loaded machine can
   * stall a step for a second; a late timer is something BullMQ allows anyway), and `die` ends
   * the instance: jobs it holds fail back to Redis, whose retry (attempts: 3) goes to the
   * successor, as a dead worker's jobs would. `handled` lists the jobs passed to the service.
   */
  function instance(
    prefix: string,
    instanceId: string,
    cfg: QueueConfig,
    events: CallEvent[],
    more: QueueConfig[] = [],
    { conn = redis, onEvent }: { conn?: Redis; onEvent?: (e: CallEvent) => void } = {},
  ) {
    const telephony = new FakeTelephony();
    const store = new RoutingStore(conn, prefix);
    let service: RoutingService | null = null;
    const holds: { match: (job: TimerJob) => boolean; released: Promise<void>; release: () => void }[] = [];
    let gone = false;
    const handled: TimerJob[] = [];
    const handle = async (job: TimerJob) => {
      await Promise.all(holds.filter((h) => h.match(job)).map((h) => h.released));
      if (gone) throw new Error('instance gone: the job is retried by its successor');
      handled.push(job);
      return service?.onTimer(job);
    };
    const timers = new BullRoutingTimers(inject('redisUrl'), prefix, instanceId, handle, createLogger('silent'));
    /** Holds the timer jobs `match` picks, from now until the returned function (or `die`) is called. */
    const hold = (match: (job: TimerJob) => boolean) => {
      let release = () => undefined as void;
      const released = new Promise<void>((r) => (release = r));
      const h = { match, released, release };
      holds.push(h);
      return () => {
        if (holds.includes(h)) holds.splice(holds.indexOf(h), 1);
        h.release();
      };
    };
    const die = async () => {
      gone = true;
      for (const h of holds.splice(0)) h.release();
      await timers.close();
    };
    open.push({ die });
    /** The scheduled delays, as the service asked for them. */
    const scheduled: { job: TimerJob; delayMs: number }[] = [];
    service = new RoutingService({
      store,
      queueConfig: (name) => [cfg, ...more].find((q) => q.name === name),
      ops: { append: () => undefined },
      events: {
        append: (e) => {
          events.push(e);
          onEvent?.(e);
        },
      },
      telephony,
      calls: { notify: () => undefined, record: () => undefined },
      log: createLogger('silent'),
      instanceId,
      timers: {
        schedule: (job, delayMs) => (scheduled.push({ job, delayMs }), timers.schedule(job, delayMs)),
        cancel: (job) => timers.cancel(job),
      },
      callbackEndpoint: 'PJSIP/{number}@trunk',
      now: () => Date.now(),
      setTimer: (fn, ms) => {
        const t = setTimeout(fn, ms);
        return { cancel: () => clearTimeout(t) };
      },
    });
    /** Channel ids of the legs originated to `endpoint`, in order. */
    const legsTo = (endpoint: string) => telephony.calls.filter((c) => c.startsWith(`originate ${endpoint} `)).map((c) => c.split(' ')[2]!);
    return { service, store, telephony, timers, legsTo, hold, die, handled, scheduled };
  }

  /**
   * a1 logs in (and takes a break unless `pause` is false); a caller joins general with `skills`
   * and `priority`, asks for a callback and hangs up. Returns the call and its place as it joined.
   * The request is made in general before any overflow rule applies, however late: rules that
   * fall due meanwhile wait for it.
   */
  async function callerLeavesRequest(app: ReturnType<typeof instance>, { skills = [] as string[], priority = 0, pause = true } = {}) {
    await app.service.changeAgentState('a1', 'login');
    if (pause) await app.service.changeAgentState('a1', 'pause', 'break');
    const callId = `cb-${randomUUID()}`;
    const releaseOverflow = app.hold((j) => j.kind === 'overflow');
    expect(await app.service.enqueue({ callId, channelId: 'caller-ch', caller: '13800138000', queue: 'general', skills, priority, mohClass: 'default', dialed: '10010' })).toMatchObject({ ok: true });
    const [joined] = await app.store.waiting('general');
    expect(await app.service.requestCallback(callId)).toEqual({ ok: true });
    releaseOverflow();
    await app.service.callEnded(callId);
    return { callId, joined: joined! };
  }

  /** A caller waits (agent a1 paused), asks for a callback and hangs up; then a1 is free. */
  async function callbackRequested(prefix: string, cfg: QueueConfig, events: CallEvent[]) {
    const app = instance(prefix, 'app-1', cfg, events);
    await app.store.configure([cfg], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    const { callId } = await callerLeavesRequest(app);
    await app.service.changeAgentState('a1', 'unpause');
    return { app, callId };
  }

  /** The agent answers the n-th offer (1-based); the caller's phone is then dialled. */
  async function agentAnswers(app: ReturnType<typeof instance>, callId: string, n: number): Promise<{ agentLeg: string; callerLeg: string }> {
    await waitUntil(() => app.legsTo('PJSIP/a1').length >= n, 15_000, () => `offer ${n} never made: ${JSON.stringify(app.telephony.calls)}`);
    const agentLeg = app.legsTo('PJSIP/a1')[n - 1]!;
    await app.service.agentLegAnswered(agentLeg, callId, 'a1');
    const callerLegs = app.legsTo('PJSIP/13800138000@trunk');
    return { agentLeg, callerLeg: callerLegs.at(-1)! };
  }

  /** The caller's phone is busy (cause 17); Hotline ends the agent's leg, whose end Asterisk reports. */
  async function callerBusy(app: ReturnType<typeof instance>, legs: { agentLeg: string; callerLeg: string }) {
    await app.service.channelDestroyed(legs.callerLeg, 17);
    expect(app.telephony.calls).toContain(`hangup ${legs.agentLeg}`);
    await app.service.channelDestroyed(legs.agentLeg, 16);
  }

  const typesOf = (events: CallEvent[]) => events.map((e) => e.type);
  const dataOf = (events: CallEvent[], type: string) => events.filter((e) => e.type === type).map((e) => e.data);

  it('a busy caller is called again after retrySeconds, keeping their place; the second attempt connects', async () => {
    const events: CallEvent[] = [];
    const { app, callId } = await callbackRequested(`${inject('redisPrefix')}cbr-a:`, queue({ maxAttempts: 3, retrySeconds: 1 }), events);
    const releaseRetry = app.hold((j) => j.kind === 'callback-retry'); // looked at before the retry, however late
    await callerBusy(app, await agentAnswers(app, callId, 1));
    expect(dataOf(events, 'callback.attempt_failed')).toEqual([{ attempt: 1, maxAttempts: 3, cause: 17, agentId: 'a1' }]);
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: 1 }]);
    // Between attempts the request is not in the queue: nobody is offered it before the timer.
    expect(await app.store.waiting('general')).toEqual([]);
    releaseRetry();

    const second = await agentAnswers(app, callId, 2);
    await app.service.callbackLegAnswered(second.callerLeg, callId);
    await app.service.channelDestroyed(second.agentLeg, 16); // the agent hangs up after talking
    expect(typesOf(events)).toEqual([
      'call.started',
      'agent.offered',
      'agent.answered',
      'callback.dialing',
      'callback.attempt_failed',
      'callback.retry_scheduled',
      'agent.offered',
      'agent.answered',
      'callback.dialing',
      'callback.connected',
      'callback.completed',
      'call.ended',
    ]);
    expect(dataOf(events, 'callback.dialing').map((d) => d.attempt)).toEqual([1, 2]);
    expect(events.at(-1)!.data).toEqual({ cause: 'completed', attempts: 2 });
    // One record (the callback's own), numbered without gaps.
    expect(new Set(events.map((e) => e.callId)).size).toBe(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it("attempts follow the callbackRetry of the queue the request was left in (here the one the call entered), not that of the queue overflow moved it to afterwards", async () => {
    const prefix = `${inject('redisPrefix')}cbr-p:`;
    // general (2 attempts, 1 s apart) moves the call after 1 s to backup (5 attempts, 60 s
    // apart), which is all a1 staffs: every attempt is made from backup.
    const cfg: QueueConfig = { ...queue({ maxAttempts: 2, retrySeconds: 1 }), overflow: [{ afterSeconds: 1, action: 'move', queue: 'backup' }] };
    const backup: QueueConfig = { ...queue({ maxAttempts: 5, retrySeconds: 60 }), name: 'backup', skills: [{ skill: 'backup', minProficiency: 1 }] };
    const events: CallEvent[] = [];
    const app = instance(prefix, 'app-1', cfg, events, [backup]);
    await app.store.configure([cfg, backup], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { backup: 3 } }]);
    const { callId } = await callerLeavesRequest(app, { pause: false });
    await callerBusy(app, await agentAnswers(app, callId, 1));
    expect(dataOf(events, 'queue.overflowed').map((d) => d.to)).toEqual(['backup']);
    expect(dataOf(events, 'callback.attempt_failed')).toEqual([{ attempt: 1, maxAttempts: 2, cause: 17, agentId: 'a1' }]);
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: 1 }]);
    // The retry waits in backup and is offered there; its failure is general's last attempt.
    await callerBusy(app, await agentAnswers(app, callId, 2));
    expect(dataOf(events, 'agent.offered').map((d) => d.queue)).toEqual(['backup', 'backup']);
    expect(typesOf(events).slice(-3)).toEqual(['callback.attempt_failed', 'callback.abandoned', 'call.ended']);
    expect(events.at(-1)!.data).toEqual({ cause: 'callback_abandoned', attempts: 2 });
  });

  /**
   * general takes no callback requests and moves its calls after 1 s to backup, which takes them
   * (2 attempts, 1 s apart) and which a1 alone staffs. A caller waits in general with a1 paused:
   * the callback key is refused there and accepted once the call is in backup; the caller hangs up.
   */
  async function requestLeftInBackup(prefix: string, events: CallEvent[]) {
    const cfg: QueueConfig = { ...queue(), callback: false, overflow: [{ afterSeconds: 1, action: 'move', queue: 'backup' }] };
    const backup: QueueConfig = { ...queue({ maxAttempts: 2, retrySeconds: 1 }), name: 'backup', skills: [{ skill: 'backup', minProficiency: 1 }] };
    const app = instance(prefix, 'app-1', cfg, events, [backup]);
    await app.store.configure([cfg, backup], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { backup: 3 } }]);
    await app.service.changeAgentState('a1', 'login');
    await app.service.changeAgentState('a1', 'pause', 'break');
    const callId = `cb-${randomUUID()}`;
    const releaseMove = app.hold((j) => j.kind === 'overflow'); // the first key press comes before the move, however late
    expect(await app.service.enqueue({ callId, channelId: 'caller-ch', caller: '13800138000', queue: 'general', skills: [], priority: 0, mohClass: 'default', dialed: '10010' })).toMatchObject({ ok: true });
    expect(await app.service.requestCallback(callId)).toEqual({ ok: false, reason: 'callbacks are off for this queue' });
    releaseMove();
    await waitUntil(async () => (await app.store.waiting('backup')).length === 1, 15_000, () => 'the call never moved to backup');
    expect(await app.service.requestCallback(callId)).toEqual({ ok: true });
    await app.service.callEnded(callId);
    return { app, cfg, backup, callId };
  }

  it("a request left in a queue the call was moved to follows that queue's callbackRetry, not the entry queue's (which takes no callbacks)", async () => {
    const events: CallEvent[] = [];
    const { app, callId } = await requestLeftInBackup(`${inject('redisPrefix')}cbr-q:`, events);
    await app.service.changeAgentState('a1', 'unpause');
    await callerBusy(app, await agentAnswers(app, callId, 1));
    expect(dataOf(events, 'callback.attempt_failed')).toEqual([{ attempt: 1, maxAttempts: 2, cause: 17, agentId: 'a1' }]);
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: 1 }]);
    await callerBusy(app, await agentAnswers(app, callId, 2));
    expect(typesOf(events).slice(-3)).toEqual(['callback.attempt_failed', 'callback.abandoned', 'call.ended']);
    expect(events.at(-1)!.data).toEqual({ cause: 'callback_abandoned', attempts: 2 });
  });

  it('the queue a request was left in holds its callbackRetry across restarts: before its first attempt (read back from Redis) and between attempts (from the retry timer)', async () => {
    const prefix = `${inject('redisPrefix')}cbr-r:`;
    const { app, cfg, backup, callId } = await requestLeftInBackup(prefix, []);
    await app.timers.close(); // gone before any agent is free

    const events: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, events, [backup]);
    expect(await successor.service.recover(['general', 'backup'])).toBe(1);
    await successor.service.changeAgentState('a1', 'unpause');
    successor.hold((j) => j.kind === 'callback-retry'); // gone again before it makes the retry, however late
    await callerBusy(successor, await agentAnswers(successor, callId, 1));
    expect(dataOf(events, 'callback.attempt_failed')).toEqual([{ attempt: 1, maxAttempts: 2, cause: 17, agentId: 'a1' }]);
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: 1 }]);
    await successor.die();

    const last = instance(prefix, 'app-1', cfg, events, [backup]);
    await callerBusy(last, await agentAnswers(last, callId, 1));
    expect(typesOf(events).slice(-3)).toEqual(['callback.attempt_failed', 'callback.abandoned', 'call.ended']);
    expect(events.at(-1)!.data).toEqual({ cause: 'callback_abandoned', attempts: 2 });
  }, 30_000);

  it('after maxAttempts failed attempts the callback is abandoned and its record ends', async () => {
    const events: CallEvent[] = [];
    const { app, callId } = await callbackRequested(`${inject('redisPrefix')}cbr-b:`, queue({ maxAttempts: 2, retrySeconds: 1 }), events);
    await callerBusy(app, await agentAnswers(app, callId, 1));
    await callerBusy(app, await agentAnswers(app, callId, 2));
    expect(dataOf(events, 'callback.attempt_failed').map((d) => d.attempt)).toEqual([1, 2]);
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: 1 }]);
    expect(typesOf(events).slice(-3)).toEqual(['callback.attempt_failed', 'callback.abandoned', 'call.ended']);
    expect(dataOf(events, 'callback.abandoned')).toEqual([{ attempts: 2 }]);
    expect(events.at(-1)!.data).toEqual({ cause: 'callback_abandoned', attempts: 2 });
    // No third offer, and the agent is free again.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(app.legsTo('PJSIP/a1')).toHaveLength(2);
    expect((await app.store.agentState('a1'))?.state).toBe('available');
  });

  it('the agent hanging up before the caller answers is a failed attempt too; without callbackRetry the queue allows 3', async () => {
    const events: CallEvent[] = [];
    const { app, callId } = await callbackRequested(`${inject('redisPrefix')}cbr-c:`, queue(), events);
    const legs = await agentAnswers(app, callId, 1);
    await app.service.channelDestroyed(legs.agentLeg, 16);
    expect(app.telephony.calls).toContain(`hangup ${legs.callerLeg}`);
    await app.service.channelDestroyed(legs.callerLeg, 16); // the ringing leg's late end changes nothing
    expect(dataOf(events, 'callback.attempt_failed')).toEqual([{ attempt: 1, maxAttempts: DEFAULT_CALLBACK_RETRY.maxAttempts, cause: 'agent_hung_up', agentId: 'a1' }]);
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: DEFAULT_CALLBACK_RETRY.retrySeconds }]);
    expect(typesOf(events).at(-1)).toBe('callback.retry_scheduled');
  });

  it('a retry armed by an instance that then dies is made by its restarted successor (same instance id), continuing the record', async () => {
    const prefix = `${inject('redisPrefix')}cbr-d:`;
    const cfg = queue({ maxAttempts: 3, retrySeconds: 2 });
    const events: CallEvent[] = [];
    const { app, callId } = await callbackRequested(prefix, cfg, events);
    app.hold((j) => j.kind === 'callback-retry'); // the process is gone before it makes the retry, however late
    await callerBusy(app, await agentAnswers(app, callId, 1));
    await app.die();

    const after: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, after);
    const legs = await agentAnswers(successor, callId, 1);
    await successor.service.callbackLegAnswered(legs.callerLeg, callId);
    await successor.service.channelDestroyed(legs.agentLeg, 16);
    expect(typesOf(after)).toEqual(['agent.offered', 'agent.answered', 'callback.dialing', 'callback.connected', 'callback.completed', 'call.ended']);
    expect(after[0]!.callId).toBe(events[0]!.callId);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => events.length + i + 1));
    expect(after.at(-1)!.data).toEqual({ cause: 'completed', attempts: 2 });
  });

  /**
   * The first request, not a retry: a caller (extra skill english, priority 3) asks for a
   * callback while a1 is paused, hangs up, and the instance dies (its timers closed, its memory
   * gone) before any agent is free. general relaxes extra skills 2 s after joining.
   */
  async function requestThenRestart(prefix: string) {
    const cfg: QueueConfig = { ...queue({ maxAttempts: 3, retrySeconds: 1 }), overflow: [{ afterSeconds: 2, action: 'relax-skills' }] };
    const before: CallEvent[] = [];
    const app = instance(prefix, 'app-1', cfg, before);
    await app.store.configure([cfg], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    app.hold((j) => j.kind === 'overflow'); // the process is gone before its overflow timer is handled, however late
    const { callId, joined } = await callerLeavesRequest(app, { skills: ['english'], priority: 3 });
    await app.die();
    const events: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, events);
    return { successor, callId, cfg, before, events, enqueuedAt: joined.enqueuedAt };
  }

  it('a waiting callback request outlives a restart: the successor (same instance id) applies its overflow, offers it and calls back once', async () => {
    const { successor, callId, before, events, enqueuedAt } = await requestThenRestart(`${inject('redisPrefix')}cbr-h:`);
    expect(before).toEqual([]);
    await successor.service.recover(['general']);
    // The overflow rule the dead instance had armed applies to the request in the successor.
    await waitUntil(() => dataOf(events, 'queue.overflowed').length === 1, 15_000, () => `overflow never applied: ${JSON.stringify(events)}`);
    expect(await successor.store.waiting('general')).toEqual([{ callId, queue: 'general', skills: [], priority: 3, enqueuedAt, owner: 'app-1' }]);

    await successor.service.changeAgentState('a1', 'unpause');
    const legs = await agentAnswers(successor, callId, 1);
    expect(legs.callerLeg).toBeDefined();
    await successor.service.callbackLegAnswered(legs.callerLeg, callId);
    await successor.service.channelDestroyed(legs.agentLeg, 16);
    expect(typesOf(events)).toEqual(['call.started', 'queue.overflowed', 'agent.offered', 'agent.answered', 'callback.dialing', 'callback.connected', 'callback.completed', 'call.ended']);
    // The dialed number is kept in Redis: the successor's record still has it.
    expect(events[0]!.data).toMatchObject({ direction: 'callback', originalCallId: callId, caller: '13800138000', dialed: '10010' });
    expect(events.at(-1)!.data).toEqual({ cause: 'completed', attempts: 1 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Called back once: one agent leg, one caller leg; recovering again changes nothing.
    await successor.service.recover(['general']);
    await new Promise((r) => setTimeout(r, 500));
    expect(successor.legsTo('PJSIP/a1')).toHaveLength(1);
    expect(successor.legsTo('PJSIP/13800138000@trunk')).toHaveLength(1);
    expect((await successor.store.agentState('a1'))?.state).toBe('available');
  }, 30_000);

  it('an overflow timer that fired into the successor before recover() is not lost: recover applies the overdue rule at once', async () => {
    const { successor, callId, events, enqueuedAt } = await requestThenRestart(`${inject('redisPrefix')}cbr-j:`);
    // The rule's timer runs in the successor, finding no caller.
    await waitUntil(() => successor.handled.some((j) => j.kind === 'overflow'), 15_000, () => 'the overflow timer never fired');
    expect(events).toEqual([]);
    expect(await successor.store.waiting('general')).toEqual([{ callId, queue: 'general', skills: ['english'], priority: 3, enqueuedAt, owner: 'app-1' }]);
    expect(await successor.service.recover(['general'])).toBe(1);
    await waitUntil(() => dataOf(events, 'queue.overflowed').length === 1, 5_000, () => 'the overdue rule never applied');
    expect(await successor.store.waiting('general')).toEqual([{ callId, queue: 'general', skills: [], priority: 3, enqueuedAt, owner: 'app-1' }]);
  }, 30_000);

  it('a request claimed by the successor before recover() is still offered and called back', async () => {
    const { successor, callId, cfg, events } = await requestThenRestart(`${inject('redisPrefix')}cbr-k:`);
    // a1 now speaks english, so the request matches without overflow; no recover() call.
    await successor.store.configure([cfg], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3, english: 2 } }]);
    await successor.service.changeAgentState('a1', 'unpause');
    const legs = await agentAnswers(successor, callId, 1);
    await successor.service.callbackLegAnswered(legs.callerLeg, callId);
    await successor.service.channelDestroyed(legs.agentLeg, 16);
    expect(typesOf(events)).toEqual(['call.started', 'agent.offered', 'agent.answered', 'callback.dialing', 'callback.connected', 'callback.completed', 'call.ended']);
    expect(successor.legsTo('PJSIP/13800138000@trunk')).toHaveLength(1);
  }, 30_000);

  it('a restored request that the caller does not answer is retried in its original place', async () => {
    const { successor, callId, events, enqueuedAt } = await requestThenRestart(`${inject('redisPrefix')}cbr-i:`);
    await successor.service.recover(['general']);
    await waitUntil(() => dataOf(events, 'queue.overflowed').length === 1, 15_000, () => 'overflow never applied');
    await successor.service.changeAgentState('a1', 'unpause');
    const releaseRetry = successor.hold((j) => j.kind === 'callback-retry');
    await callerBusy(successor, await agentAnswers(successor, callId, 1));
    await successor.service.changeAgentState('a1', 'pause', 'break'); // before the retry, however late: it stays visible in its queue
    releaseRetry();
    await waitUntil(async () => (await successor.store.waiting('general')).length === 1, 15_000, () => 'the retry never waited');
    expect(await successor.store.waiting('general')).toEqual([{ callId, queue: 'general', skills: [], priority: 3, enqueuedAt, owner: 'app-1' }]);
    await successor.service.changeAgentState('a1', 'unpause');
    const second = await agentAnswers(successor, callId, 2);
    await successor.service.callbackLegAnswered(second.callerLeg, callId);
    await successor.service.channelDestroyed(second.agentLeg, 16);
    expect(events.at(-1)!.data).toEqual({ cause: 'completed', attempts: 2 });
    expect(successor.legsTo('PJSIP/13800138000@trunk')).toHaveLength(2);
  }, 30_000);

  it('a request that overflow had moved, whose record had started, goes on after a restart from where it was: entry queue, rules applied, record', async () => {
    const prefix = `${inject('redisPrefix')}cbr-m:`;
    // general moves the call to backup after 1 s and relaxes its extra skills after 3 s; backup's
    // own rule (to third after 2 s) is not the call's: it entered general.
    const cfg: QueueConfig = {
      ...queue({ maxAttempts: 3, retrySeconds: 1 }),
      overflow: [
        { afterSeconds: 1, action: 'move', queue: 'backup' },
        { afterSeconds: 3, action: 'relax-skills' },
      ],
    };
    const backup: QueueConfig = { ...queue(), name: 'backup', overflow: [{ afterSeconds: 2, action: 'move', queue: 'third' }] };
    const third: QueueConfig = { ...queue(), name: 'third' };
    const before: CallEvent[] = [];
    const app = instance(prefix, 'app-1', cfg, before, [backup, third]);
    await app.store.configure([cfg, backup, third], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    app.hold((j) => j.kind === 'overflow' && j.rule === 1); // the relax is left to the successor, however late the restart
    const { callId, joined } = await callerLeavesRequest(app, { skills: ['english'], priority: 3 });
    // The move applies before the restart and starts the callback's record.
    await waitUntil(() => before.length === 2, 15_000, () => `move never applied: ${JSON.stringify(before)}`);
    expect(typesOf(before)).toEqual(['call.started', 'queue.overflowed']);
    await app.die();

    const events: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, events, [backup, third]);
    expect(await successor.service.recover(['general', 'backup', 'third'])).toBe(1);
    // general's relax-skills rule applies (at 3 s), the move not again, backup's rule not at all.
    await waitUntil(() => events.length >= 1, 15_000, () => 'no overflow rule applied after the restart');
    await new Promise((r) => setTimeout(r, Math.max(500, joined.enqueuedAt + 4_000 - Date.now())));
    expect(typesOf(events)).toEqual(['queue.overflowed']);
    expect(events[0]!.data).toMatchObject({ action: 'relax-skills', from: 'backup', to: 'backup' });
    expect(await successor.store.waiting('backup')).toEqual([{ callId, queue: 'backup', skills: [], priority: 3, enqueuedAt: joined.enqueuedAt, owner: 'app-1' }]);

    await successor.service.changeAgentState('a1', 'unpause');
    const legs = await agentAnswers(successor, callId, 1);
    await successor.service.callbackLegAnswered(legs.callerLeg, callId);
    await successor.service.channelDestroyed(legs.agentLeg, 16);
    // One record: the successor's events continue the one started before the restart, in order.
    const all = [...before, ...events];
    expect(typesOf(all)).toEqual(['call.started', 'queue.overflowed', 'queue.overflowed', 'agent.offered', 'agent.answered', 'callback.dialing', 'callback.connected', 'callback.completed', 'call.ended']);
    expect(new Set(all.map((e) => e.callId))).toEqual(new Set([before[0]!.callId]));
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  }, 30_000);

  it("a crash right after a callback record's event does not reuse its sequence: the restarted instance numbers on after it", async () => {
    const prefix = `${inject('redisPrefix')}cbr-n:`;
    // general relaxes extra skills 1 s after joining; the rule's event starts the callback's record.
    const cfg: QueueConfig = { ...queue({ maxAttempts: 3, retrySeconds: 1 }), overflow: [{ afterSeconds: 1, action: 'relax-skills' }] };
    // The instance dies the moment queue.overflowed is written: its connection goes at once, so
    // nothing it would do after the event reaches Redis.
    const conn = new Redis(inject('redisUrl'));
    const before: CallEvent[] = [];
    const app = instance(prefix, 'app-1', cfg, before, [], { conn, onEvent: (e) => e.type === 'queue.overflowed' && conn.disconnect() });
    await app.store.configure([cfg], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    const { callId } = await callerLeavesRequest(app, { skills: ['english'] });
    await waitUntil(() => before.length === 2, 15_000, () => `the rule never applied: ${JSON.stringify(before)}`);
    expect(before.map((e) => [e.type, e.seq])).toEqual([
      ['call.started', 1],
      ['queue.overflowed', 2],
    ]);
    await app.timers.close();

    const events: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, events);
    expect(await successor.service.recover(['general'])).toBe(1);
    await successor.service.changeAgentState('a1', 'unpause');
    const legs = await agentAnswers(successor, callId, 1);
    await successor.service.callbackLegAnswered(legs.callerLeg, callId);
    await successor.service.channelDestroyed(legs.agentLeg, 16);
    // The record goes on at 3: no number twice, no second call.started.
    const all = [...before, ...events];
    expect(all.map((e) => [e.type, e.seq])).toEqual([
      ['call.started', 1],
      ['queue.overflowed', 2],
      ['agent.offered', 3],
      ['agent.answered', 4],
      ['callback.dialing', 5],
      ['callback.connected', 6],
      ['callback.completed', 7],
      ['call.ended', 8],
    ]);
    expect(new Set(all.map((e) => e.callId))).toEqual(new Set([before[0]!.callId]));
  }, 30_000);

  it('an overflow rule the store applied just before a crash is not applied again after the restart', async () => {
    const prefix = `${inject('redisPrefix')}cbr-o:`;
    // general moves the call to backup after 2 s and relaxes its extra skills after 3 s.
    const cfg: QueueConfig = {
      ...queue({ maxAttempts: 3, retrySeconds: 1 }),
      overflow: [
        { afterSeconds: 2, action: 'move', queue: 'backup' },
        { afterSeconds: 3, action: 'relax-skills' },
      ],
    };
    const backup: QueueConfig = { ...queue(), name: 'backup' };
    const app = instance(prefix, 'app-1', cfg, [], [backup]);
    await app.store.configure([cfg, backup], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { general: 3 } }]);
    app.hold((j) => j.kind === 'overflow'); // none of its rules is handled by the instance, however late it dies
    const { callId, joined } = await callerLeavesRequest(app, { skills: ['english'], priority: 3 });
    await app.die();
    // The dying instance's last step: the store applied the move (rule 0); nothing after it ran.
    expect(await app.store.overflow(callId, 'move', 'backup', 0)).toMatchObject({ applied: true, queue: 'backup' });

    const events: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, events, [backup]);
    expect(await successor.service.recover(['general', 'backup'])).toBe(1);
    // Rules apply in order, so a move still taken as pending would apply before the relax.
    await waitUntil(() => events.some((e) => e.type === 'queue.overflowed'), 15_000, () => 'no overflow rule applied after the restart');
    await new Promise((r) => setTimeout(r, Math.max(500, joined.enqueuedAt + 3_500 - Date.now())));
    expect(dataOf(events, 'queue.overflowed').map((d) => [d.action, d.from, d.to])).toEqual([['relax-skills', 'backup', 'backup']]);
    expect(await successor.store.waiting('backup')).toEqual([{ callId, queue: 'backup', skills: [], priority: 3, enqueuedAt: joined.enqueuedAt, owner: 'app-1' }]);
    expect((await successor.store.callbackRequest(callId))?.overflowApplied).toEqual([0, 1]);
  }, 30_000);

  it('a retry waits with the requirements overflow had given the call (skills relaxed, queue moved), in its original place', async () => {
    const prefix = `${inject('redisPrefix')}cbr-e:`;
    // general relaxes the caller's extra skill after 1 s and moves the call to backup after 2 s;
    // a1 staffs only backup and does not speak english, so only the overflowed call reaches a1.
    const cfg: QueueConfig = {
      ...queue({ maxAttempts: 3, retrySeconds: 1 }),
      overflow: [
        { afterSeconds: 1, action: 'relax-skills' },
        { afterSeconds: 2, action: 'move', queue: 'backup' },
      ],
    };
    const backup: QueueConfig = { ...queue({ maxAttempts: 3, retrySeconds: 1 }), name: 'backup', skills: [{ skill: 'backup', minProficiency: 1 }] };
    const events: CallEvent[] = [];
    const app = instance(prefix, 'app-1', cfg, events, [backup]);
    await app.store.configure([cfg, backup], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { backup: 3 } }]);
    const { callId, joined } = await callerLeavesRequest(app, { skills: ['english'], priority: 4, pause: false });
    expect(joined).toMatchObject({ callId, skills: ['english'], priority: 4 });

    const first = await agentAnswers(app, callId, 1);
    expect(dataOf(events, 'queue.overflowed').map((d) => [d.action, d.to])).toEqual([
      ['relax-skills', 'general'],
      ['move', 'backup'],
    ]);
    const releaseRetry = app.hold((j) => j.kind === 'callback-retry');
    await callerBusy(app, first);
    await app.service.changeAgentState('a1', 'pause', 'break'); // before the retry, however late: it stays visible in its queue
    releaseRetry();
    expect(dataOf(events, 'callback.retry_scheduled')).toEqual([{ attempt: 2, inSeconds: 1 }]);

    await waitUntil(async () => (await app.store.waiting('backup')).length === 1, 15_000, () => 'the retry never waited in backup');
    expect(await app.store.waiting('general')).toEqual([]);
    expect(await app.store.waiting('backup')).toEqual([{ callId, queue: 'backup', skills: [], priority: 4, enqueuedAt: joined.enqueuedAt, owner: 'app-1' }]);

    await app.service.changeAgentState('a1', 'unpause');
    const second = await agentAnswers(app, callId, 2);
    await app.service.callbackLegAnswered(second.callerLeg, callId);
    await app.service.channelDestroyed(second.agentLeg, 16);
    expect(events.at(-1)!.data).toEqual({ cause: 'completed', attempts: 2 });
  });

  /**
   * general's rules move the call to mid after 1 s, to backup after 3 s, to last after 4 s and
   * relax its extra skill after 7 s; a1 staffs mid and last only. The call (extra: english)
   * waits with a1 paused until the first move, a1 is offered it in mid, the caller is busy.
   * However late each step runs: the later rules wait until the attempt has failed (they then
   * find the call between attempts and do nothing), and the retry is held for the caller of
   * this helper to release (`releaseRetry`) or to leave to a successor (`die`).
   */
  async function overflowedThenFailed(prefix: string, retrySeconds: number, events: CallEvent[]) {
    const retry = { maxAttempts: 3, retrySeconds };
    const cfg: QueueConfig = {
      ...queue(retry),
      overflow: [
        { afterSeconds: 1, action: 'move', queue: 'mid' },
        { afterSeconds: 3, action: 'move', queue: 'backup' },
        { afterSeconds: 4, action: 'move', queue: 'last' },
        { afterSeconds: 7, action: 'relax-skills' },
      ],
    };
    // The failed attempt takes its retry delay from general, the queue the call entered (the others agree).
    const more = ['mid', 'backup', 'last'].map((name): QueueConfig => ({ ...queue(retry), name, skills: [{ skill: name, minProficiency: 1 }] }));
    const app = instance(prefix, 'app-1', cfg, events, more);
    await app.store.configure([cfg, ...more], [{ id: 'a1', endpoint: 'PJSIP/a1', skills: { mid: 3, last: 3, english: 3 } }]);
    const releaseLater = app.hold((j) => j.kind === 'overflow' && j.rule > 0);
    const releaseRetry = app.hold((j) => j.kind === 'callback-retry');
    const { callId, joined } = await callerLeavesRequest(app, { skills: ['english'], priority: 2 });
    await waitUntil(async () => (await app.store.waiting('mid')).length === 1, 15_000, () => 'the first rule never moved the call');
    await app.service.changeAgentState('a1', 'unpause');
    await callerBusy(app, await agentAnswers(app, callId, 1));
    releaseLater();
    await app.service.changeAgentState('a1', 'pause', 'break'); // the retry waits where overflow puts it
    return { app, callId, cfg, more, enqueuedAt: joined.enqueuedAt, releaseRetry };
  }

  const moves = (events: CallEvent[]) => dataOf(events, 'queue.overflowed').map((d) => [d.action, d.to]);

  it("a retry re-arms the overflow rules that had not fired, due from the original enqueue time; overdue ones apply at once, in order, applied ones not again", async () => {
    const events: CallEvent[] = [];
    const { app, callId, enqueuedAt, releaseRetry } = await overflowedThenFailed(`${inject('redisPrefix')}cbr-f:`, 3, events);
    // The attempt came after the first rule only; the retry is due 3 s after it, at least 4 s after joining.
    expect(moves(events)).toEqual([['move', 'mid']]);
    const releaseRelax = app.hold((j) => j.kind === 'overflow' && j.rule === 3); // looked at in last before it relaxes, however late
    releaseRetry();

    // The two moves overdue at the retry both apply, the later one last; relaxing waits for 7 s after joining.
    await waitUntil(async () => (await app.store.waiting('last')).length === 1, 15_000, () => `the retry never moved on: ${JSON.stringify(moves(events))}`);
    expect(await app.store.waiting('last')).toEqual([{ callId, queue: 'last', skills: ['english'], priority: 2, enqueuedAt, owner: 'app-1' }]);
    // The retry re-armed the relax with what was left of its 7 s from joining (at most 3 s), not 7 s from the retry.
    const relaxArmed = app.scheduled.filter(({ job }) => job.kind === 'overflow' && job.rule === 3).map((s) => s.delayMs);
    expect(relaxArmed).toHaveLength(2); // at the join, and at the retry
    expect(relaxArmed[1]).toBeLessThanOrEqual(3_000);
    releaseRelax();
    await waitUntil(() => moves(events).length === 4, 15_000, () => `never relaxed: ${JSON.stringify(moves(events))}`);
    expect(moves(events)).toEqual([
      ['move', 'mid'],
      ['move', 'backup'],
      ['move', 'last'],
      ['relax-skills', 'last'],
    ]);
    // Never before its time (a late timer only makes it later).
    const relaxedAt = Date.parse(events.find((e) => e.type === 'queue.overflowed' && e.data.action === 'relax-skills')!.at);
    expect(relaxedAt).toBeGreaterThanOrEqual(enqueuedAt + 7_000);
    expect(await app.store.waiting('last')).toEqual([{ callId, queue: 'last', skills: [], priority: 2, enqueuedAt, owner: 'app-1' }]);

    await app.service.changeAgentState('a1', 'unpause');
    const second = await agentAnswers(app, callId, 2);
    await app.service.callbackLegAnswered(second.callerLeg, callId);
    await app.service.channelDestroyed(second.agentLeg, 16);
    expect(events.at(-1)!.data).toEqual({ cause: 'completed', attempts: 2 });
  }, 30_000);

  it('a restarted successor making the retry re-arms only the rules the retry timer says had not applied', async () => {
    const prefix = `${inject('redisPrefix')}cbr-g:`;
    const events: CallEvent[] = [];
    const { app, callId, cfg, more, enqueuedAt } = await overflowedThenFailed(prefix, 4, events);
    expect(moves(events)).toEqual([['move', 'mid']]);
    await app.die(); // the process is gone before it makes the retry (held since the attempt), however late

    const after: CallEvent[] = [];
    const successor = instance(prefix, 'app-1', cfg, after, more);
    await waitUntil(async () => (await successor.store.waiting('last')).length === 1, 15_000, () => `the retry never moved on: ${JSON.stringify(moves(after))}`);
    await waitUntil(() => moves(after).length === 3, 15_000, () => `never relaxed: ${JSON.stringify(moves(after))}`);
    // Not back to mid first: the first rule had applied before the restart.
    expect(moves(after)).toEqual([
      ['move', 'backup'],
      ['move', 'last'],
      ['relax-skills', 'last'],
    ]);
    expect(await successor.store.waiting('last')).toEqual([{ callId, queue: 'last', skills: [], priority: 2, enqueuedAt, owner: 'app-1' }]);
  }, 30_000);
});
