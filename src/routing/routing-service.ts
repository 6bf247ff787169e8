import { randomUUID } from 'node:crypto';
import type { CallRegistry } from '../calls/call-registry.ts';
import type { AgentSide } from '../calls/dispatcher.ts';
import type { EnqueueResult, QueuePort, QueueRequest } from '../calls/queue-port.ts';
import type { CallEvent, CallEventType } from '../domain/call-event.ts';
import type { OpsEventSink } from '../domain/ops-event.ts';
import type { FlowInput } from '../flows/state.ts';
import { maskNumber, type Logger } from '../log/logger.ts';
import type { TelephonyPort } from '../telephony/port.ts';
import { estimateWaitSeconds } from './estimate-wait.ts';
import { OWNER_GONE_MS, type OfferRelayPort } from './offer-relay.ts';
import type { CallbackKept, RoutingStore } from './routing-store.ts';
import type { CallbackRequest, RoutingTimers, TimerJob } from './routing-timers.ts';
import { RoutingError, type AgentAction, type AgentStateChange, type Offer, type QueueConfig } from './types.ts';

/** Pause reason keys for *3<key> (a real floor has its own list). */
const PAUSE_REASONS: Record<string, string> = { '1': 'break', '2': 'lunch', '3': 'training', '4': 'meeting', '5': 'after-call-work' };

/** Seconds the first position announcement waits after joining (the hold music starts first). */
const FIRST_ANNOUNCEMENT_S = 2;
/** How long a callback rings the caller before it counts as failed. */
const CALLBACK_RING_S = 30;
/**
 * A ring that started up to this long after a gone instance's last beat was its own (it beat
 * every 5 s, so it claimed or took nothing later than that); one that started after the owner
 * was judged gone (30 s) is a live instance serving its callback request. Half-way between
 * leaves room for the instances' clocks to differ.
 */
const GONE_OWNER_RING_MS = OWNER_GONE_MS / 2;

/** A queue's callbackRetry when it sets none. */
export const DEFAULT_CALLBACK_RETRY = { maxAttempts: 3, retrySeconds: 120 } as const;

/** How routing talks back to the caller's runner (through the dispatcher). */
export interface CallLink {
  /** Feeds a flow input to the call's runner. */
  notify(callId: string, input: FlowInput): void;
  /** Records an event on the call's record (agent.offered, agent.rona, agent.answered). */
  record(callId: string, type: CallEventType, data: Record<string, unknown>): void;
}

export interface RoutingServiceDeps {
  store: RoutingStore;
  /** The queue's current configuration (it can change at run time through the admin API). */
  queueConfig(name: string): QueueConfig | undefined;
  /** agent.state_changed and other events that belong to no call. */
  ops: OpsEventSink;
  /** Call events of records routing writes itself (a callback is a call of its own). */
  events: { append(event: CallEvent): void };
  telephony: TelephonyPort;
  calls: CallLink;
  log: Logger;
  /** This app instance: it originates the agent legs of the callers whose channel it owns. */
  instanceId: string;
  /** Durable timers (max wait, announcements, overflow, wrap-up); fired jobs come to onTimer. */
  timers: RoutingTimers;
  /** Where a callback dials the caller: `{number}` is replaced, e.g. `PJSIP/{number}@trunk`. */
  callbackEndpoint: string;
  now(): number;
  /** Short in-process delays that need not survive a restart (a feature code's goodbye). */
  setTimer(fn: () => void, ms: number): { cancel(): void };
  /**
   * Offers for callers another instance owns: claim pushes them on the owner's list and the
   * relay announces them (none: this instance serves every offer itself).
   */
  relay?: OfferRelayPort;
  /**
   * The live calls' registrations (calls/call-registry): the record of a gone instance's caller
   * is ended here under its own id and sequence, once, whether this or its restarted owner's
   * reconcile gets there first (none: the record stays open).
   */
  registry?: Pick<CallRegistry, 'claimEnd'>;
}

/** A callback: its own call record (direction `callback`), linked to the call that asked. */
interface Callback {
  readonly number: string;
  readonly recordId: string;
  seq: number;
  started: boolean;
  legId: string | null;
  answered: boolean;
  /** 1 for the first call to the caller, +1 for each retry (callbackRetry of the queue `leftIn`). */
  attempt: number;
  /** Why the caller's leg of this attempt ended unanswered (Asterisk's cause), when it did. */
  failCause: number | null;
  /**
   * The queue the caller left the request in: its `callback` accepted it, and its callbackRetry
   * holds for every attempt, wherever overflow moves the request afterwards.
   */
  readonly leftIn: string;
}

interface Caller {
  readonly callId: string;
  readonly channelId: string;
  readonly caller: string;
  readonly dialed: string;
  /** The queue the call entered (overflow rules come from it) and the one it waits in now. */
  readonly entryQueue: string;
  queue: string;
  /**
   * Extra skills as they are now: as enqueued until a relax-skills overflow drops them. A
   * callback retry puts the call back with these and `queue` (what overflow had made of the
   * call), with its original priority and enqueue time (its place).
   */
  skills: readonly string[];
  readonly priority: number;
  readonly enqueuedAt: number;
  /** Overflow rules (indexes into the entry queue's) that took effect: a callback retry does not apply them again. */
  readonly overflowApplied: Set<number>;
  /** The overflow rule being applied: one at a time, so rules that fire together apply in their order. */
  overflowing: Promise<void>;
  mohClass: string;
  announcements: number;
  bridge: { bridgeId: string; legId: string; agentId: string } | null;
  callback: Callback | null;
}

interface Leg {
  readonly callId: string;
  readonly agentId: string;
  readonly kind: 'agent' | 'callback';
  answered: boolean;
  answeredAt: number;
}

/** Prefix of the Stasis args of an agent leg: Stasis(app, agentleg, <callId>, <agentId>). */
export const AGENT_LEG = 'agentleg';
/** Prefix of the Stasis args of the leg that calls a caller back. */
export const CALLBACK_LEG = 'cbleg';

/**
 * Connects waiting callers to agents. Redis (RoutingStore, one Lua script per decision) is the
 * truth about who waits and who is free; this service turns its decisions into calls: it
 * originates the agent leg, bridges it with the caller on answer, moves the call on when the
 * agent does not answer (RONA), and sends the caller into the survey when the agent hangs up.
 * Every trigger is an event (enqueue, an agent freed, RONA, a durable timer) — never polling.
 */
export class RoutingService implements QueuePort, AgentSide {
  private readonly deps: RoutingServiceDeps;
  private readonly callers = new Map<string, Caller>();
  private readonly legs = new Map<string, Leg>();
  private dispatching: Promise<void> | null = null;
  private again = false;
  private sweeping = false;

  constructor(deps: RoutingServiceDeps) {
    this.deps = deps;
  }

  async enqueue(r: QueueRequest): Promise<EnqueueResult> {
    const { store, timers } = this.deps;
    const cfg = this.deps.queueConfig(r.queue);
    if (!cfg) return { ok: false, reason: `no queue ${r.queue}` };
    if (!cfg.joinWhenEmpty) {
      if (!(await store.staffing(r.queue)).loggedIn) return { ok: false, reason: 'no agent is logged in' };
    }
    const enqueuedAt = this.deps.now();
    const { position } = await store.enqueue({
      callId: r.callId,
      queue: r.queue,
      skills: [...r.skills],
      priority: r.priority,
      enqueuedAt,
      owner: this.deps.instanceId,
      channelId: r.channelId,
    });
    const caller: Caller = {
      callId: r.callId,
      channelId: r.channelId,
      caller: r.caller,
      dialed: r.dialed,
      entryQueue: r.queue,
      queue: r.queue,
      skills: [...r.skills],
      priority: r.priority,
      enqueuedAt,
      overflowApplied: new Set(),
      overflowing: Promise.resolve(),
      mohClass: r.mohClass,
      announcements: 0,
      bridge: null,
      callback: null,
    };
    this.callers.set(r.callId, caller);
    await this.deps.telephony.startMusicOnHold(r.channelId, r.mohClass).catch((err) => this.deps.log.warn({ err }, 'hold music failed'));
    await Promise.all([
      timers.schedule({ kind: 'max-wait', callId: r.callId }, cfg.maxWaitSeconds * 1000),
      cfg.announce.position || cfg.announce.estimatedWait ? timers.schedule({ kind: 'announce', callId: r.callId, n: 0 }, FIRST_ANNOUNCEMENT_S * 1000) : null,
      this.armOverflow(caller),
    ]).catch((err) => this.deps.log.error({ err }, 'arming queue timers failed'));
    this.kick();
    return { ok: true, position };
  }

  async leave(callId: string, reason: 'exit' | 'timeout'): Promise<void> {
    const c = this.callers.get(callId);
    await this.dropCaller(callId);
    if (c) await this.deps.telephony.stopMusicOnHold(c.channelId).catch(() => undefined);
    this.deps.log.info({ callId, reason }, 'caller left the queue');
  }

  async callEnded(callId: string): Promise<void> {
    const c = this.callers.get(callId);
    if (!c) {
      // Not ours (a call left by a previous process, closed at reconcile): make sure it does
      // not wait in Redis for ever. A callback request is kept: it outlives the call.
      if (!(await this.deps.store.callbackNumber(callId).catch(() => null))) await this.deps.store.callerLeft(callId, this.deps.now()).catch(() => undefined);
      return;
    }
    if (c.callback) return; // the caller hung up after asking for a callback: the request stays
    if (c.bridge) {
      // The caller hung up while talking: end the agent's leg; its destruction ends the agent's call.
      await this.deps.telephony.hangup(c.bridge.legId).catch(() => undefined);
      return;
    }
    await this.dropCaller(callId);
  }

  /**
   * The caller pressed the callback key: they keep their place and may hang up. The queue they
   * wait in now decides whether a request may be left (the request waits there, for its
   * agents), whichever queue they entered; the request keeps that queue's callbackRetry from
   * then on (leftIn).
   */
  async requestCallback(callId: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    const c = this.callers.get(callId);
    if (!c || c.bridge) return { ok: false, reason: 'not waiting' };
    if (!this.deps.queueConfig(c.queue)?.callback) return { ok: false, reason: 'callbacks are off for this queue' };
    if (!/^\+?[0-9]{3,20}$/.test(c.caller)) return { ok: false, reason: 'no number to call back' };
    const cb: Callback = { number: c.caller, recordId: randomUUID(), seq: 0, started: false, legId: null, answered: false, attempt: 1, failCause: null, leftIn: c.queue };
    if (!(await this.deps.store.markCallback(callId, c.caller, this.kept(c, cb)))) return { ok: false, reason: 'already being offered' };
    c.callback = cb;
    // A callback no longer hears anything: no wait limit or announcements (overflow still applies).
    await Promise.all([this.deps.timers.cancel({ kind: 'max-wait', callId }), this.deps.timers.cancel({ kind: 'announce', callId, n: c.announcements })]);
    this.deps.log.info({ callId, caller: maskNumber(c.caller) }, 'callback requested');
    return { ok: true };
  }

  /** The agent answered: an originated leg entered Stasis (args: agentleg, callId, agentId). */
  async agentLegAnswered(legId: string, callId: string, agentId: string): Promise<void> {
    const leg = this.legs.get(legId);
    const caller = this.callers.get(callId);
    if (!leg || !caller) {
      await this.deps.telephony.hangup(legId).catch(() => undefined);
      return;
    }
    const { telephony, store } = this.deps;
    leg.answered = true;
    leg.answeredAt = this.deps.now();
    // This instance holds both legs: should it die mid-call, the others end the call once the agent hangs up.
    const held = { instanceId: this.deps.instanceId, legId, channelId: caller.callback ? null : caller.channelId || null };
    const result = await store.answered(callId, agentId, this.deps.now(), held);
    this.logChanges(result.changes);
    for (const other of result.released) {
      const otherLeg = this.legOf(callId, other);
      if (otherLeg) await telephony.hangup(otherLeg).catch(() => undefined);
    }
    await this.cancelCallerTimers(caller);
    const bridgeId = `bridge-${callId}`;
    caller.bridge = { bridgeId, legId, agentId };
    if (caller.callback) {
      // Agent first, then the caller: the agent hears hold music while the caller's phone rings.
      const cb = caller.callback;
      await this.recordCallback(caller, 'agent.answered', { agentId, queue: caller.queue });
      await telephony.startMusicOnHold(legId, 'default').catch(() => undefined);
      cb.legId = `cbleg-${callId.slice(0, 8)}-${this.deps.now().toString(36)}`;
      this.legs.set(cb.legId, { callId, agentId, kind: 'callback', answered: false, answeredAt: 0 });
      await this.recordCallback(caller, 'callback.dialing', { agentId, attempt: cb.attempt });
      try {
        await telephony.originate({
          channelId: cb.legId,
          endpoint: this.deps.callbackEndpoint.replace('{number}', cb.number),
          appArgs: [CALLBACK_LEG, callId, agentId],
          callerId: caller.dialed || 'hotline',
          timeoutSeconds: CALLBACK_RING_S,
          headers: { 'X-Hotline-Callback': callId },
        });
      } catch (err) {
        this.deps.log.warn({ err, callId }, 'callback originate failed');
        await this.channelDestroyed(cb.legId, 0);
      }
      return;
    }
    // The runner first: it stops an announcement still playing. Asterisk runs a channel's
    // operations in order, so a bridge request would otherwise wait for the whole playback
    // (seen in the lab: a 6 s announcement kept an answered agent in silence).
    this.deps.calls.record(callId, 'agent.answered', { agentId, queue: caller.queue });
    this.deps.calls.notify(callId, { type: 'queue.connected', agentId });
    await telephony.stopMusicOnHold(caller.channelId).catch(() => undefined);
    await telephony.createBridge(bridgeId);
    await telephony.addToBridge(bridgeId, [caller.channelId, legId]);
  }

  /** The caller answered our callback: the leg entered Stasis (args: cbleg, callId, agentId). */
  async callbackLegAnswered(legId: string, callId: string): Promise<void> {
    const leg = this.legs.get(legId);
    const caller = this.callers.get(callId);
    if (!leg || !caller?.bridge || !caller.callback) {
      await this.deps.telephony.hangup(legId).catch(() => undefined);
      return;
    }
    const { telephony } = this.deps;
    leg.answered = true;
    leg.answeredAt = this.deps.now();
    caller.callback.answered = true;
    await telephony.stopMusicOnHold(caller.bridge.legId).catch(() => undefined);
    await telephony.createBridge(caller.bridge.bridgeId);
    await telephony.addToBridge(caller.bridge.bridgeId, [caller.bridge.legId, legId]);
    await this.recordCallback(caller, 'callback.connected', { agentId: caller.bridge.agentId });
  }

  /** A channel is gone: for an agent leg, either a ring with no answer or the end of the agent's call. */
  async channelDestroyed(channelId: string, cause: number): Promise<void> {
    const leg = this.legs.get(channelId);
    if (!leg) return;
    this.legs.delete(channelId);
    const { store, calls } = this.deps;
    const caller = this.callers.get(leg.callId);
    if (leg.kind === 'callback') {
      // The caller's side of a callback is gone (no answer, busy, or they hung up): end the
      // agent's leg too; its end decides whether to try again. A leg of an earlier attempt
      // that ends late touches nothing.
      if (!caller?.callback || caller.callback.legId !== channelId) return;
      if (!leg.answered) caller.callback.failCause = cause;
      if (caller.bridge) await this.deps.telephony.hangup(caller.bridge.legId).catch(() => undefined);
      return;
    }
    if (!leg.answered) {
      const r = await store.ringNoAnswer(leg.callId, leg.agentId, this.deps.now());
      this.logChanges(r.changes);
      if (caller?.callback) await this.recordCallback(caller, 'agent.rona', { agentId: leg.agentId, cause, requeued: r.requeued });
      else if (caller) calls.record(leg.callId, 'agent.rona', { agentId: leg.agentId, cause, requeued: r.requeued, position: r.position });
      this.kick();
      return;
    }
    // This call only: had this instance stalled past 30 s, another one may have ended it
    // (endGoneOwnerTalks) and the agent be on a call of its own by now.
    const ended = await store.agentCallEnded(leg.agentId, this.deps.now(), leg.callId).catch((err: unknown) => {
      if (err instanceof RoutingError && err.code === 'INVALID_TRANSITION') return null;
      throw err;
    });
    const talkSeconds = (this.deps.now() - leg.answeredAt) / 1000;
    if (!ended) {
      this.deps.log.warn({ callId: leg.callId, agentId: leg.agentId }, "agent's call already ended elsewhere: state left as it is");
    } else {
      this.logChanges(ended.changes);
      const queue = caller?.queue ?? '';
      if (queue) await store.recordHandleTime(queue, talkSeconds + ended.wrapUpSeconds).catch(() => undefined);
      if (ended.wrapUpSeconds > 0) {
        await this.deps.timers.schedule({ kind: 'wrap-up', agentId: leg.agentId, callId: leg.callId }, ended.wrapUpSeconds * 1000);
      } else {
        this.kick();
      }
    }
    if (!caller?.bridge) return;
    await this.deps.telephony.destroyBridge(caller.bridge.bridgeId).catch(() => undefined);
    const cb = caller.callback;
    if (cb) {
      if (cb.legId && this.legs.has(cb.legId)) await this.deps.telephony.hangup(cb.legId).catch(() => undefined);
      if (!cb.answered) return this.callbackAttemptFailed(caller, cb, leg.agentId);
      this.callers.delete(leg.callId);
      await this.recordCallback(caller, 'callback.completed', { agentId: leg.agentId, talkSeconds: Math.round(talkSeconds) });
      await this.recordCallback(caller, 'call.ended', { cause: 'completed', attempts: cb.attempt });
      return;
    }
    this.callers.delete(leg.callId);
    // The caller is still on the line: the flow takes them to the survey.
    calls.notify(leg.callId, { type: 'queue.agent_left' });
  }

  /**
   * A channel a previous process left in Stasis was closed at reconcile. For an agent leg the
   * agent would otherwise stay ringing or on a call for ever: end that state.
   */
  async legOrphaned(channelId: string): Promise<void> {
    const m = /^agentleg-[0-9a-f]{8}-(.+)-[0-9a-z]+$/.exec(channelId);
    if (!m) return;
    const agent = await this.deps.store.agentState(m[1]!);
    if (!agent) return;
    if (agent.state === 'on_call') {
      const ended = await this.deps.store.agentCallEnded(agent.id, this.deps.now(), agent.currentCallId ?? undefined);
      this.logChanges(ended.changes);
      await this.deps.timers.schedule({ kind: 'wrap-up', agentId: agent.id, callId: agent.currentCallId ?? '' }, ended.wrapUpSeconds * 1000);
    } else if (agent.state === 'ringing' && agent.currentCallId) {
      const r = await this.deps.store.ringNoAnswer(agent.currentCallId, agent.id, this.deps.now());
      this.logChanges(r.changes);
      this.kick();
    }
  }

  /** A durable timer fired (maybe on a restarted instance): act only if it still applies. */
  async onTimer(job: TimerJob): Promise<void> {
    switch (job.kind) {
      case 'wrap-up':
        return this.endWrapUp(job.agentId, job.callId);
      case 'max-wait': {
        const c = this.callers.get(job.callId);
        if (c && !c.bridge && !c.callback) this.deps.calls.notify(job.callId, { type: 'queue.timeout' });
        return;
      }
      case 'announce':
        return this.announce(job.callId, job.n);
      case 'overflow':
        return this.overflow(job.callId, job.rule);
      case 'callback-retry':
        return this.retryCallback(job.callId, job.attempt, job.request);
      case 'reset-calls-today':
        return this.resetCallsToday();
    }
  }

  /** Agent presence: a softphone that unregisters logs its agent out. */
  async endpointOffline(endpoint: string): Promise<void> {
    const agent = await this.deps.store.agentByEndpoint(endpoint);
    if (!agent || agent.state === 'logged_out') return;
    const ringing = [...this.legs.entries()].filter(([, l]) => l.agentId === agent.id && l.kind === 'agent' && !l.answered);
    for (const [legId] of ringing) await this.deps.telephony.hangup(legId).catch(() => undefined);
    if (agent.state === 'ringing' || agent.state === 'on_call') return; // the leg's end moves the call on; logout follows below
    try {
      this.logChanges([await this.deps.store.changeAgentState(agent.id, 'logout', 'unregistered', this.deps.now())]);
    } catch (err) {
      this.deps.log.warn({ err, agentId: agent.id }, 'presence logout refused');
    }
  }

  /** Login, logout, pause, unpause from the API or a softphone; a freed agent may take a call at once. */
  async changeAgentState(agentId: string, action: AgentAction, reason?: string): Promise<AgentStateChange> {
    const change = await this.deps.store.changeAgentState(agentId, action, reason, this.deps.now());
    this.logChanges([change]);
    if (change.to === 'available') this.kick();
    return change;
  }

  /** A new day: every agent's calls-today count back to 0 (fewest-calls then starts over). */
  async resetCallsToday(): Promise<void> {
    await this.deps.store.resetCallsToday(this.deps.now());
    this.deps.log.info('calls today reset');
  }

  /**
   * Feature codes dialed from an agent's softphone: *1 login, *2 logout, *3[reason key] pause,
   * *4 unpause. The agent hears a short confirmation (or "incorrect") and the call ends.
   */
  async agentDialed(channelId: string, endpoint: string, dialed: string): Promise<void> {
    const { telephony } = this.deps;
    const agent = await this.deps.store.agentByEndpoint(endpoint);
    const code = /^\*([1-4])([0-9]?)$/.exec(dialed);
    let sound = 'sound:agent-incorrect';
    if (agent && code) {
      const action = (['login', 'logout', 'pause', 'unpause'] as const)[Number(code[1]) - 1]!;
      const reason = action === 'pause' ? (PAUSE_REASONS[code[2] ?? ''] ?? 'other') : undefined;
      try {
        await this.changeAgentState(agent.id, action, reason);
        sound = action === 'login' ? 'sound:agent-loginok' : action === 'logout' ? 'sound:agent-loggedoff' : 'sound:auth-thankyou';
      } catch (err) {
        this.deps.log.info({ agentId: agent.id, dialed, err: (err as Error).message }, 'feature code refused');
      }
    }
    await telephony.answer(channelId).catch(() => undefined);
    await telephony.play(channelId, `fc-${channelId}`, [sound]).catch(() => undefined);
    // Long enough for the confirmation; the agent may hang up first.
    this.deps.setTimer(() => void telephony.hangup(channelId).catch(() => undefined), 2_500);
  }

  /** Something may have become possible (an agent freed, a caller queued): run the claim. */
  kick(): void {
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = this.dispatch().finally(() => {
      this.dispatching = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * Claims, then serves this instance's offers. With a relay, claim has already pushed every
   * other offer on its owner's list in the same step (so this instance dying now strands none):
   * a live owner is only woken, a gone owner's list is served from here like any it left.
   */
  private async dispatch(): Promise<void> {
    const { relay, instanceId } = this.deps;
    let offers;
    try {
      offers = await this.deps.store.claim(this.deps.now(), 0, relay ? instanceId : undefined);
    } catch (err) {
      this.deps.log.error({ err }, 'claim failed');
      return;
    }
    const owners = new Set(offers.filter((o) => o.owner !== instanceId).map((o) => o.owner));
    const gone: string[] = [];
    for (const owner of owners) {
      if (await this.ownerGone(owner)) gone.push(owner);
      else await relay?.announce(owner).catch((err: unknown) => this.deps.log.warn({ err, owner }, 'offers not announced to their instance; its next beat takes them'));
    }
    for (const offer of offers) if (offer.owner === instanceId) await this.serveOffer(offer);
    // Their channels went with them; a callback request (only Redis holds it) is served from here.
    for (const owner of gone) await this.serveGoneOwnerOffers(owner);
  }

  private async ownerGone(owner: string): Promise<boolean> {
    return (await this.deps.relay?.gone(owner).catch(() => false)) ?? false;
  }

  /**
   * The offers handed to `owner` before it was judged gone (in its last 30 s): nobody else
   * would take them, and their agents would ring for ever. Each is taken by one instance only
   * (an atomic pop) and served as any offer for a gone owner.
   */
  private async serveGoneOwnerOffers(owner: string): Promise<void> {
    const { relay, log } = this.deps;
    if (!relay) return;
    try {
      // Rings first: the release leaves alone the offers in the list at that moment, and only
      // pops after it take from the list, so no offer is both released and served.
      await this.releaseGoneOwnerRings(owner);
      for (let offers = await relay.takeGone(owner); offers.length; offers = await relay.takeGone(owner)) {
        log.warn({ owner, offers: offers.length }, 'offers handed to an instance that is gone: served here');
        for (const offer of offers) {
          if (await this.deps.store.adoptGoneOffer(offer.callId, offer.agentId, this.deps.now())) await this.serveOffer(offer, owner);
          else log.warn({ callId: offer.callId, agentId: offer.agentId, owner }, 'offer of an instance that is gone no longer stands: dropped');
        }
      }
    } catch (err) {
      log.error({ err, owner }, 'offers of an instance that is gone not taken');
    }
  }

  /**
   * The heartbeat's sweep (afterBeat runs it after each beat, on every instance): owners
   * gone with offers left in their list or rings not yet released are served as when a claim
   * finds them gone, so a gone instance none of whose callers waits any more does not leave
   * agents ringing for ever; agents on its calls are looked at until they have hung up
   * (endGoneOwnerTalks). Instances sweeping at once split the work (each release, each pop and
   * each talk's end is one Lua step); one sweep at a time here.
   */
  async sweepGoneOwners(): Promise<void> {
    const { relay, log } = this.deps;
    if (!relay || this.sweeping) return;
    this.sweeping = true;
    try {
      for (const owner of await relay.goneToSweep()) {
        await this.serveGoneOwnerOffers(owner);
        await this.endGoneOwnerTalks(owner);
      }
    } catch (err) {
      log.error({ err }, 'sweep of instances that are gone failed');
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Agents a gone instance left ringing for its callers with no offer anyone holds (it had
   * originated their legs, or taken the offers from its list, then died): free them, put its
   * callback requests back in their place and end its ordinary callers (instance_lost).
   */
  private async releaseGoneOwnerRings(owner: string): Promise<void> {
    const now = this.deps.now();
    const r = await this.deps.store.releaseGoneOwnerRings(owner, now - OWNER_GONE_MS, GONE_OWNER_RING_MS, now);
    if (!r.changes.length) return;
    this.deps.log.warn({ owner, agents: r.changes.map((c) => c.agentId), requeued: r.requeued.length, lost: r.lost.length }, 'agents left ringing by an instance that is gone: freed');
    this.logChanges(r.changes);
    for (const lost of r.lost) if (lost.channelId) await this.endLostCall(lost.channelId, owner);
    this.kick();
  }

  /**
   * Agents on calls whose legs a gone instance held: only it would have heard the legs end and
   * moved the agent on. In Asterisk the caller and the agent stay bridged in Stasis and may
   * still be talking, so an agent whose leg still exists stays on_call (the next beat looks
   * again): freeing it would ring a busy softphone. Once the leg is gone the agent wraps up as
   * after any call (reason instance_lost), the caller left alone in the bridge is hung up and
   * its record ends once (instance_lost). The Lua step that ends the talk checks that the owner
   * is still silent, so a restarted owner's calls are left to it.
   */
  private async endGoneOwnerTalks(owner: string): Promise<void> {
    const { store, telephony, log } = this.deps;
    const talks = await store.goneOwnerTalks(owner, this.deps.now() - OWNER_GONE_MS);
    for (const t of talks) {
      const onCall = await telephony.channelExists(t.legId).catch((err: unknown) => {
        log.warn({ err, agentId: t.agentId, legId: t.legId }, "agent leg of a gone instance's call not looked up; the next beat tries again");
        return true;
      });
      if (onCall) continue;
      const now = this.deps.now();
      const ended = await store.goneTalkEnded(owner, now - OWNER_GONE_MS, t.agentId, t.callId, now);
      if (!ended) continue;
      log.warn({ owner, agentId: t.agentId, callId: t.callId }, 'agent hung up on a call of an instance that is gone: wrap-up');
      this.logChanges(ended.changes);
      if (ended.wrapUpSeconds > 0) {
        await this.deps.timers.schedule({ kind: 'wrap-up', agentId: t.agentId, callId: t.callId }, ended.wrapUpSeconds * 1000).catch((err: unknown) => {
          // Without the timer the agent would wrap up for ever: available now instead.
          log.error({ err, agentId: t.agentId }, 'wrap-up timer not scheduled');
          return this.endWrapUp(t.agentId, t.callId);
        });
      } else {
        this.kick();
      }
      if (ended.channelId) {
        await telephony.hangup(ended.channelId).catch((err: unknown) => log.warn({ err, channelId: ended.channelId }, "caller of a gone instance's call not hung up"));
        await this.endLostCall(ended.channelId, owner);
      }
      await telephony.destroyBridge(`bridge-${t.callId}`).catch(() => undefined);
    }
  }

  /**
   * What this instance does after each of its beats (OfferRelay.start): takes its own list, so
   * an offer whose notice was lost (or never sent: the claiming instance died) rings within a
   * beat, then sweeps the instances that are gone. One failing does not stop the other.
   */
  async afterBeat(): Promise<void> {
    await this.serveForwarded().catch((err) => this.deps.log.error({ err }, 'handed-over offers not served'));
    await this.sweepGoneOwners();
  }

  /** Serves the offers other instances' claims made for callers this instance owns. */
  async serveForwarded(): Promise<void> {
    if (!this.deps.relay) return;
    for (let offers = await this.deps.relay.take(); offers.length; offers = await this.deps.relay.take()) {
      for (const offer of offers) await this.serveOffer(offer);
    }
  }

  /**
   * Rings the offered agent for a caller this instance owns. A caller it no longer has (its
   * channel ended while the offer travelled, or state lost in a restart that was not a
   * callback request) leaves routing, which frees the agent, instead of leaving it ringing.
   * `goneOwner`: the caller's instance is gone, so nobody else will end its record.
   */
  private async serveOffer(offer: Offer, goneOwner?: string): Promise<void> {
    const caller = this.callers.get(offer.callId) ?? (await this.restoreOffered(offer));
    if (!caller) {
      this.deps.log.warn({ callId: offer.callId, agentId: offer.agentId }, 'offer for a caller this instance does not have; the call leaves routing');
      const r = await this.deps.store.callerLeft(offer.callId, this.deps.now()).catch((err) => {
        this.deps.log.error({ err, callId: offer.callId }, 'could not take the call out of routing');
        return null;
      });
      if (r?.changes.length) {
        this.logChanges(r.changes);
        this.kick();
      }
      if (goneOwner && r?.channelId) await this.endLostCall(r.channelId, goneOwner);
      return;
    }
    const legId = `agentleg-${offer.callId.slice(0, 8)}-${offer.agentId}-${this.deps.now().toString(36)}`;
    this.legs.set(legId, { callId: offer.callId, agentId: offer.agentId, kind: 'agent', answered: false, answeredAt: 0 });
    const headers: Record<string, string> = { 'X-Hotline-Queue': offer.queue, 'X-Hotline-Call-Id': offer.callId };
    if (caller.callback) {
      headers['X-Hotline-Callback'] = 'yes';
      await this.recordCallback(caller, 'agent.offered', { agentId: offer.agentId, queue: offer.queue });
    } else {
      this.deps.calls.record(offer.callId, 'agent.offered', { agentId: offer.agentId, queue: offer.queue });
    }
    try {
      await this.deps.telephony.originate({
        channelId: legId,
        endpoint: offer.endpoint,
        appArgs: [AGENT_LEG, offer.callId, offer.agentId],
        callerId: caller.caller,
        timeoutSeconds: offer.ringTimeoutSeconds,
        headers,
      });
      this.deps.log.info({ callId: offer.callId, agentId: offer.agentId, caller: maskNumber(caller.caller) }, 'offering call to agent');
    } catch (err) {
      this.deps.log.warn({ err, agentId: offer.agentId }, 'originate to agent failed');
      await this.channelDestroyed(legId, 0);
    }
  }

  /**
   * Ends the record of a gone instance's caller (its runner went with the instance): call.ended
   * with cause instance_lost, under the call's id and next sequence as its registration keeps
   * them. The registration is claimed first, so a restarted owner's reconcile, which claims it
   * too, does not end the call again (and the other way round).
   */
  private async endLostCall(channelId: string, owner: string): Promise<void> {
    const claim = await this.deps.registry?.claimEnd(channelId).catch((err: unknown) => {
      this.deps.log.error({ err, channelId }, 'record of a call whose instance is gone not ended');
      return null;
    });
    if (!claim || claim === 'ended') return;
    const at = new Date(this.deps.now()).toISOString();
    this.deps.events.append({ id: randomUUID(), callId: claim.callId, seq: claim.seq + 1, type: 'call.ended', at, data: { cause: 'instance_lost', instance: owner } });
    this.deps.log.warn({ callId: claim.callId, owner }, 'call of an instance that is gone: ended (instance_lost)');
  }

  /**
   * After a restart (same instance id): the callback requests this instance had left waiting
   * in `queues` come back into memory from Redis, so their offer is made and their overflow
   * goes on. Their callers have hung up, so nothing else held them; ordinary waiting calls
   * are not taken (their channels were closed at reconcile, which removes them). Call it
   * before this instance's first claim where possible: an offer claimed earlier is restored
   * with less (see restoreOffered). Running it again restores nothing twice.
   */
  async recover(queues: readonly string[]): Promise<number> {
    let restored = 0;
    for (const queue of queues) {
      for (const w of await this.deps.store.waiting(queue)) {
        if (w.owner !== this.deps.instanceId || this.callers.has(w.callId)) continue;
        const request = await this.deps.store.callbackRequest(w.callId);
        if (!request || this.callers.has(w.callId)) continue;
        const c = this.restoredCallback(w.callId, request, queue, w.skills, w.priority, w.enqueuedAt);
        // Rules due before the restart whose timers are gone (fired into no caller) are overdue: armed at once.
        await this.armOverflow(c).catch((err) => this.deps.log.error({ err, callId: w.callId }, 'arming overflow timers failed'));
        restored++;
      }
    }
    if (restored) {
      this.deps.log.info({ restored }, 'callback requests restored from Redis');
      this.kick();
    }
    return restored;
  }

  /**
   * An offer of a call this instance owns but does not hold: a callback request from before a
   * restart, claimed before recover() saw it. Redis gives what it keeps of the request and the
   * offer its queue; its extra skills, priority and enqueue time are no longer readable (it is
   * not waiting), so a retry of it would rejoin as a new arrival. Anything else is left as before.
   */
  private async restoreOffered(offer: { callId: string; queue: string }): Promise<Caller | undefined> {
    const request = await this.deps.store.callbackRequest(offer.callId).catch(() => null);
    if (!request) return undefined;
    this.deps.log.warn({ callId: offer.callId }, 'callback request restored at its offer: a retry would not keep its place');
    return this.callers.get(offer.callId) ?? this.restoredCallback(offer.callId, request, offer.queue, [], 0, this.deps.now());
  }

  /**
   * A callback request rebuilt from Redis, in its first attempt: dialed number, entry queue,
   * applied overflow rules and its record (continued, not started again) as the store kept
   * them (markCallback, overflow, keepCallbackState). A request marked before those were kept
   * is taken as: entered the queue it waits in, dialed number unknown, a new record, and a
   * relax-skills rule applied when the call has no extra skills left (it would change nothing).
   */
  private restoredCallback(
    callId: string,
    request: NonNullable<Awaited<ReturnType<RoutingStore['callbackRequest']>>>,
    queue: string,
    skills: readonly string[],
    priority: number,
    enqueuedAt: number,
  ): Caller {
    const { number } = request;
    const entryQueue = request.entryQueue ?? queue;
    const rules = this.deps.queueConfig(entryQueue)?.overflow ?? [];
    const seq = request.recordId ? (request.seq ?? 0) : 0;
    const c: Caller = {
      callId,
      channelId: '',
      caller: number,
      dialed: request.dialed ?? '',
      entryQueue,
      queue,
      skills: [...skills],
      priority,
      enqueuedAt,
      overflowApplied: new Set(request.overflowApplied ?? rules.flatMap((o, i) => (o.action === 'relax-skills' && skills.length === 0 ? [i] : []))),
      overflowing: Promise.resolve(),
      mohClass: 'default',
      announcements: 0,
      bridge: null,
      callback: { number, recordId: request.recordId ?? randomUUID(), seq, started: seq > 0, legId: null, answered: false, attempt: 1, failCause: null, leftIn: request.leftIn ?? entryQueue },
    };
    this.callers.set(callId, c);
    return c;
  }

  /** Position and estimated wait, then the next announcement in `everySeconds`. */
  private async announce(callId: string, n: number): Promise<void> {
    const c = this.callers.get(callId);
    if (!c || c.bridge || c.callback || c.announcements !== n) return;
    const cfg = this.deps.queueConfig(c.queue);
    if (!cfg) return;
    c.announcements = n + 1;
    await this.deps.timers.schedule({ kind: 'announce', callId, n: n + 1 }, cfg.announce.everySeconds * 1000);
    const position = await this.deps.store.position(callId);
    if (position === null) return; // being offered right now
    let ewtSeconds: number | null = null;
    if (cfg.announce.estimatedWait) {
      const [{ staffed }, aht] = await Promise.all([this.deps.store.staffing(c.queue), this.deps.store.recentHandleTime(c.queue)]);
      ewtSeconds = estimateWaitSeconds({ position, staffed, recentHandleSeconds: aht });
    }
    this.deps.calls.notify(callId, { type: 'queue.announce', position: cfg.announce.position ? position : 0, ewtSeconds });
  }

  /**
   * Arms the timer of every overflow rule of the entry queue that has not taken effect, due
   * `afterSeconds` after the original enqueue time: at once for a rule whose time has passed
   * (a callback retry re-entering the queue keeps the caller's place, so also their overflow).
   */
  private armOverflow(c: Caller): Promise<unknown> {
    const rules = this.deps.queueConfig(c.entryQueue)?.overflow ?? [];
    const now = this.deps.now();
    return Promise.all(
      rules.map((o, i) =>
        c.overflowApplied.has(i) ? null : this.deps.timers.schedule({ kind: 'overflow', callId: c.callId, rule: i }, Math.max(0, c.enqueuedAt + o.afterSeconds * 1000 - now)),
      ),
    );
  }

  /** An overflow timer fired: apply its rule after any still running for the same call. */
  private overflow(callId: string, rule: number): Promise<void> {
    const c = this.callers.get(callId);
    if (!c) return Promise.resolve();
    const run = c.overflowing.then(() => this.overflowInOrder(c, rule));
    c.overflowing = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies `rule`, first any rule due before it that has not taken effect: the overdue rules a
   * callback retry re-arms fire together in any order, yet two moves must end where the later
   * one leads (and a rule that fired while the call was being offered is not skipped for good).
   */
  private async overflowInOrder(c: Caller, rule: number): Promise<void> {
    const rules = this.deps.queueConfig(c.entryQueue)?.overflow ?? [];
    const fired = rules[rule];
    if (!fired) return;
    const due = rules
      .map((o, i) => ({ o, i }))
      .filter(({ o, i }) => !c.overflowApplied.has(i) && (o.afterSeconds < fired.afterSeconds || (o.afterSeconds === fired.afterSeconds && i <= rule)))
      .sort((a, b) => a.o.afterSeconds - b.o.afterSeconds || a.i - b.i);
    for (const { o, i } of due) {
      if (this.callers.get(c.callId) !== c || c.bridge) return;
      if (i === rule) await this.applyOverflow(c, o, i);
      // An earlier rule that cannot apply (e.g. its target queue is gone) must not hold back this one.
      else await this.applyOverflow(c, o, i).catch((err) => this.deps.log.warn({ err, callId: c.callId, rule: i }, 'overflow rule failed'));
    }
  }

  private async applyOverflow(c: Caller, o: QueueConfig['overflow'][number], rule: number): Promise<void> {
    const callId = c.callId;
    // The store records the rule as applied in the same step (for any call: a callback asked
    // for meanwhile must see it), so a restart between the two cannot apply it twice.
    const r = await this.deps.store.overflow(callId, o.action, o.action === 'move' ? o.queue : '', rule);
    if (!r.applied) return;
    c.overflowApplied.add(rule);
    const from = c.queue;
    c.queue = r.queue;
    // Mirror what the store did (a relaxed call waits with no extras), so a callback retry does not bring them back.
    if (o.action === 'relax-skills') c.skills = [];
    const data = { action: o.action, from, to: r.queue, afterSeconds: o.afterSeconds, position: r.position };
    if (c.callback) await this.recordCallback(c, 'queue.overflowed', data);
    else this.deps.calls.record(callId, 'queue.overflowed', data);
    this.deps.log.info({ callId, ...data }, 'overflow rule applied');
    this.kick();
  }

  /**
   * An attempt to call the caller back ended without them (busy, no answer, or the agent hung
   * up first). Another attempt is scheduled as a durable timer while the queue the request was
   * left in allows more; after the last one the request is abandoned and its record ends. That
   * queue accepted the request (its `callback`, see requestCallback), so its callbackRetry
   * holds, whichever queue the call entered and wherever overflow moved it since: the caller
   * left the request under that queue's terms, and one limit counts every attempt (a move
   * between attempts neither cuts the request short nor extends it).
   */
  private async callbackAttemptFailed(c: Caller, cb: Callback, agentId: string): Promise<void> {
    const { maxAttempts, retrySeconds } = this.deps.queueConfig(cb.leftIn)?.callbackRetry ?? DEFAULT_CALLBACK_RETRY;
    const cause = cb.failCause ?? 'agent_hung_up';
    c.bridge = null;
    cb.legId = null;
    cb.failCause = null;
    await this.recordCallback(c, 'callback.attempt_failed', { attempt: cb.attempt, maxAttempts, cause, agentId });
    if (cb.attempt >= maxAttempts) {
      this.callers.delete(c.callId);
      await this.recordCallback(c, 'callback.abandoned', { attempts: cb.attempt });
      await this.recordCallback(c, 'call.ended', { cause: 'callback_abandoned', attempts: cb.attempt });
      this.deps.log.info({ callId: c.callId, attempts: cb.attempt }, 'callback abandoned');
      return;
    }
    const attempt = cb.attempt + 1;
    await this.recordCallback(c, 'callback.retry_scheduled', { attempt, inSeconds: retrySeconds });
    const request = {
      number: cb.number,
      dialed: c.dialed,
      queue: c.queue,
      entryQueue: c.entryQueue,
      skills: c.skills,
      priority: c.priority,
      enqueuedAt: c.enqueuedAt,
      overflowApplied: [...c.overflowApplied],
      recordId: cb.recordId,
      seq: cb.seq,
      leftIn: cb.leftIn,
    };
    try {
      await this.deps.timers.schedule({ kind: 'callback-retry', callId: c.callId, attempt, request }, retrySeconds * 1000);
    } catch (err) {
      // Without the timer nobody would try again: end the request rather than leave it hanging.
      this.deps.log.error({ err, callId: c.callId }, 'callback retry not scheduled');
      this.callers.delete(c.callId);
      await this.recordCallback(c, 'callback.abandoned', { attempts: cb.attempt, error: 'retry not scheduled' });
      await this.recordCallback(c, 'call.ended', { cause: 'callback_abandoned', attempts: cb.attempt });
    }
  }

  /**
   * The retry timer of a callback fired: the request waits in its queue again with its
   * original enqueue time (its place), and the next free agent is called first as before.
   * After a restart the request comes from the timer itself.
   */
  private async retryCallback(callId: string, attempt: number, request: CallbackRequest): Promise<void> {
    let c = this.callers.get(callId);
    if (c && (c.bridge || c.callback?.attempt !== attempt - 1)) return; // already retried or being served
    if (!c) {
      c = {
        callId,
        channelId: '',
        caller: request.number,
        dialed: request.dialed,
        entryQueue: request.entryQueue,
        queue: request.queue,
        skills: request.skills,
        priority: request.priority,
        enqueuedAt: request.enqueuedAt,
        overflowApplied: new Set(request.overflowApplied ?? this.deps.queueConfig(request.entryQueue)?.overflow.map((_, i) => i)),
        overflowing: Promise.resolve(),
        mohClass: 'default',
        announcements: 0,
        bridge: null,
        callback: {
          number: request.number,
          recordId: request.recordId,
          seq: request.seq,
          started: true,
          legId: null,
          answered: false,
          attempt: attempt - 1,
          failCause: null,
          leftIn: request.leftIn ?? request.entryQueue,
        },
      };
      this.callers.set(callId, c);
    }
    const cb = c.callback!;
    cb.attempt = attempt;
    const queued =
      !!this.deps.queueConfig(c.queue) &&
      (await this.deps.store
        .enqueue({ callId, queue: c.queue, skills: [...c.skills], priority: c.priority, enqueuedAt: c.enqueuedAt, owner: this.deps.instanceId })
        .then(() => this.deps.store.markCallback(callId, cb.number, this.kept(c, cb)))
        .catch((err) => (this.deps.log.warn({ err, callId }, 'callback retry not queued'), false)));
    if (!queued) {
      this.callers.delete(callId);
      await this.recordCallback(c, 'callback.abandoned', { attempts: attempt - 1, error: `queue ${c.queue} no longer takes it` });
      await this.recordCallback(c, 'call.ended', { cause: 'callback_abandoned', attempts: attempt - 1 });
      return;
    }
    // Overflow goes on from where the caller's wait had got to (the attempt cancelled its timers).
    await this.armOverflow(c).catch((err) => this.deps.log.error({ err, callId }, 'arming overflow timers failed'));
    this.deps.log.info({ callId, attempt }, 'callback waiting again');
    this.kick();
  }

  private async endWrapUp(agentId: string, callId: string): Promise<void> {
    const change = await this.deps.store.wrapUpEnded(agentId, callId, this.deps.now()).catch(() => null);
    if (change) this.logChanges([change]);
    this.kick();
  }

  private async cancelCallerTimers(c: Caller): Promise<void> {
    const cfg = this.deps.queueConfig(c.entryQueue);
    const { timers } = this.deps;
    await Promise.all([
      timers.cancel({ kind: 'max-wait', callId: c.callId }),
      timers.cancel({ kind: 'announce', callId: c.callId, n: c.announcements }),
      ...(cfg?.overflow ?? []).map((_, i) => timers.cancel({ kind: 'overflow', callId: c.callId, rule: i })),
    ]).catch((err) => this.deps.log.warn({ err }, 'cancelling queue timers failed'));
  }

  private async dropCaller(callId: string): Promise<void> {
    const c = this.callers.get(callId);
    this.callers.delete(callId);
    if (c) await this.cancelCallerTimers(c);
    const r = await this.deps.store.callerLeft(callId, this.deps.now());
    this.logChanges(r.changes);
    for (const agentId of r.ringingAgents) {
      const leg = this.legOf(callId, agentId);
      if (leg) {
        // Cancel the ringing leg at once; its destruction is not a RONA.
        this.legs.delete(leg);
        await this.deps.telephony.hangup(leg).catch(() => undefined);
      }
    }
    if (r.ringingAgents.length) this.kick();
  }

  /** The channel id of the leg that offers `callId` to `agentId`, if it still exists. */
  private legOf(callId: string, agentId: string): string | undefined {
    for (const [legId, l] of this.legs) if (l.callId === callId && l.agentId === agentId && l.kind === 'agent') return legId;
    return undefined;
  }

  /**
   * Events of a callback's own record (the original call has ended). It starts with
   * call.started { direction: 'callback', originalCallId } when the callback is first offered.
   * While the request is in routing its last sequence is saved in the call's hash before the
   * events are written, so an instance restarted after a crash continues past them: a crash
   * between the two leaves a gap in the numbers (the record's summary folds by seq and skips
   * gaps), never a number used twice (two events at one place in the record, in no known order).
   * Saves go on one connection in the order the numbers were taken, so the last one wins.
   */
  private async recordCallback(c: Caller, type: CallEventType, data: Record<string, unknown>): Promise<void> {
    const cb = c.callback;
    if (!cb) return;
    const at = new Date(this.deps.now()).toISOString();
    const event = (t: CallEventType, d: Record<string, unknown>): CallEvent => ({ id: randomUUID(), callId: cb.recordId, seq: ++cb.seq, type: t, at, data: d });
    const events: CallEvent[] = [];
    if (!cb.started) {
      cb.started = true;
      events.push(event('call.started', { direction: 'callback', originalCallId: c.callId, caller: cb.number, dialed: c.dialed, queue: c.queue }));
    }
    events.push(event(type, data));
    await this.deps.store.keepCallbackState(c.callId, { seq: cb.seq }).catch((err) => this.deps.log.warn({ err, callId: c.callId }, 'callback record sequence not kept'));
    for (const e of events) this.deps.events.append(e);
  }

  /** What markCallback keeps of a callback request for a restarted instance. */
  private kept(c: Caller, cb: Callback): CallbackKept {
    return { dialed: c.dialed, entryQueue: c.entryQueue, overflowApplied: [...c.overflowApplied], recordId: cb.recordId, seq: cb.seq, leftIn: cb.leftIn };
  }

  /** Every agent state change is logged and becomes an agent.state_changed ops event. */
  private logChanges(changes: readonly AgentStateChange[]): void {
    for (const c of changes) {
      this.deps.log.info({ agentId: c.agentId, from: c.from, to: c.to, reason: c.reason }, 'agent.state_changed');
      this.deps.ops.append({
        id: randomUUID(),
        type: 'agent.state_changed',
        at: new Date(c.at).toISOString(),
        subject: `agent:${c.agentId}`,
        data: { agentId: c.agentId, from: c.from, to: c.to, reason: c.reason },
      });
    }
  }
}
