import { randomUUID } from 'node:crypto';
import type { AgentSide } from '../calls/dispatcher.ts';
import type { EnqueueResult, QueuePort, QueueRequest } from '../calls/queue-port.ts';
import type { CallEventType } from '../domain/call-event.ts';
import type { OpsEventSink } from '../domain/ops-event.ts';
import type { FlowInput } from '../flows/state.ts';
import { maskNumber, type Logger } from '../log/logger.ts';
import type { TelephonyPort } from '../telephony/port.ts';
import type { RoutingStore } from './routing-store.ts';
import type { AgentAction, AgentStateChange, QueueConfig } from './types.ts';

/** Pause reason keys for *3<key> (a real floor has its own list). */
const PAUSE_REASONS: Record<string, string> = { '1': 'break', '2': 'lunch', '3': 'training', '4': 'meeting', '5': 'after-call-work' };

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
  telephony: TelephonyPort;
  calls: CallLink;
  log: Logger;
  /** This app instance: it originates the agent legs of the callers whose channel it owns. */
  instanceId: string;
  now(): number;
  /** Timers for max wait and wrap-up. In process for now: a restart loses them (see README). */
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

interface Caller {
  readonly callId: string;
  readonly channelId: string;
  readonly caller: string;
  readonly queue: string;
  maxWait: { cancel(): void } | null;
  bridge: { bridgeId: string; legId: string; agentId: string } | null;
}

interface Leg {
  readonly callId: string;
  readonly agentId: string;
  answered: boolean;
}

/** Prefix of the Stasis args of an agent leg: Stasis(app, agentleg, <callId>, <agentId>). */
export const AGENT_LEG = 'agentleg';

/**
 * Connects waiting callers to agents. Redis (RoutingStore, one Lua script per decision) is the
 * truth about who waits and who is free; this service turns its decisions into calls: it
 * originates the agent leg, bridges it with the caller on answer, moves the call on when the
 * agent does not answer (RONA), and sends the caller into the survey when the agent hangs up.
 * Every trigger is an event (enqueue, an agent freed, RONA) — never polling.
 */
export class RoutingService implements QueuePort, AgentSide {
  private readonly deps: RoutingServiceDeps;
  private readonly callers = new Map<string, Caller>();
  private readonly legs = new Map<string, Leg>();
  private dispatching: Promise<void> | null = null;
  private again = false;

  constructor(deps: RoutingServiceDeps) {
    this.deps = deps;
  }

  async enqueue(r: QueueRequest): Promise<EnqueueResult> {
    const { store } = this.deps;
    const agents = await store.listAgents();
    const staffed = agents.some((a) => a.state !== 'logged_out');
    if (!staffed) return { ok: false, reason: 'no agent is logged in' };
    const { position } = await store.enqueue({
      callId: r.callId,
      queue: r.queue,
      skills: [...r.skills],
      priority: r.priority,
      enqueuedAt: this.deps.now(),
      owner: this.deps.instanceId,
    });
    const maxWaitSeconds = this.deps.queueConfig(r.queue)?.maxWaitSeconds ?? 600;
    const caller: Caller = { callId: r.callId, channelId: r.channelId, caller: r.caller, queue: r.queue, maxWait: null, bridge: null };
    caller.maxWait = this.deps.setTimer(() => this.deps.calls.notify(r.callId, { type: 'queue.timeout' }), maxWaitSeconds * 1000);
    this.callers.set(r.callId, caller);
    await this.deps.telephony.startMusicOnHold(r.channelId, r.mohClass).catch((err) => this.deps.log.warn({ err }, 'hold music failed'));
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
    if (!c) return;
    if (c.bridge) {
      // The caller hung up while talking: end the agent's leg; its destruction ends the agent's call.
      await this.deps.telephony.hangup(c.bridge.legId).catch(() => undefined);
      return;
    }
    await this.dropCaller(callId);
  }

  /** The agent answered: an originated leg entered Stasis (args: agentleg, callId, agentId). */
  async agentLegAnswered(legId: string, callId: string, agentId: string): Promise<void> {
    const leg = this.legs.get(legId);
    const caller = this.callers.get(callId);
    if (!leg || !caller) {
      await this.deps.telephony.hangup(legId).catch(() => undefined);
      return;
    }
    leg.answered = true;
    const result = await this.deps.store.answered(callId, agentId, this.deps.now());
    this.logChanges(result.changes);
    for (const other of result.released) {
      const otherLeg = this.legOf(callId, other);
      if (otherLeg) await this.deps.telephony.hangup(otherLeg).catch(() => undefined);
    }
    const bridgeId = `bridge-${callId}`;
    caller.maxWait?.cancel();
    await this.deps.telephony.stopMusicOnHold(caller.channelId).catch(() => undefined);
    await this.deps.telephony.createBridge(bridgeId);
    await this.deps.telephony.addToBridge(bridgeId, [caller.channelId, legId]);
    caller.bridge = { bridgeId, legId, agentId };
    this.deps.calls.record(callId, 'agent.answered', { agentId, queue: caller.queue });
    this.deps.calls.notify(callId, { type: 'queue.connected', agentId });
  }

  /** A channel is gone: for an agent leg, either a ring with no answer or the end of the agent's call. */
  async channelDestroyed(channelId: string, cause: number): Promise<void> {
    const leg = this.legs.get(channelId);
    if (!leg) return;
    this.legs.delete(channelId);
    const { store, calls } = this.deps;
    if (!leg.answered) {
      const r = await store.ringNoAnswer(leg.callId, leg.agentId, this.deps.now());
      this.logChanges(r.changes);
      if (this.callers.has(leg.callId)) calls.record(leg.callId, 'agent.rona', { agentId: leg.agentId, cause, requeued: r.requeued, position: r.position });
      this.kick();
      return;
    }
    const caller = this.callers.get(leg.callId);
    const ended = await store.agentCallEnded(leg.agentId, this.deps.now());
    this.logChanges(ended.changes);
    this.deps.setTimer(() => void this.endWrapUp(leg.agentId, leg.callId), ended.wrapUpSeconds * 1000);
    if (caller?.bridge) {
      await this.deps.telephony.destroyBridge(caller.bridge.bridgeId).catch(() => undefined);
      this.callers.delete(leg.callId);
      // The caller is still on the line: the flow takes them to the survey.
      calls.notify(leg.callId, { type: 'queue.agent_left' });
    }
  }

  /** Agent presence: a softphone that unregisters logs its agent out. */
  async endpointOffline(endpoint: string): Promise<void> {
    const agent = (await this.deps.store.listAgents()).find((a) => a.endpoint === endpoint);
    if (!agent || agent.state === 'logged_out') return;
    const ringing = [...this.legs.entries()].filter(([, l]) => l.agentId === agent.id && !l.answered);
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

  /**
   * Feature codes dialed from an agent's softphone: *1 login, *2 logout, *3[reason key] pause,
   * *4 unpause. The agent hears a short confirmation (or "incorrect") and the call ends.
   */
  async agentDialed(channelId: string, endpoint: string, dialed: string): Promise<void> {
    const { telephony } = this.deps;
    const agent = (await this.deps.store.listAgents()).find((a) => a.endpoint === endpoint);
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

  private async dispatch(): Promise<void> {
    let offers;
    try {
      offers = await this.deps.store.claim(this.deps.now());
    } catch (err) {
      this.deps.log.error({ err }, 'claim failed');
      return;
    }
    for (const offer of offers) {
      const caller = this.callers.get(offer.callId);
      if (!caller) continue; // another instance owns this caller
      const legId = `agentleg-${offer.callId.slice(0, 8)}-${offer.agentId}-${this.deps.now().toString(36)}`;
      this.legs.set(legId, { callId: offer.callId, agentId: offer.agentId, answered: false });
      this.deps.calls.record(offer.callId, 'agent.offered', { agentId: offer.agentId, queue: offer.queue });
      try {
        await this.deps.telephony.originate({
          channelId: legId,
          endpoint: offer.endpoint,
          appArgs: [AGENT_LEG, offer.callId, offer.agentId],
          callerId: caller.caller,
          timeoutSeconds: offer.ringTimeoutSeconds,
          headers: { 'X-Hotline-Queue': offer.queue, 'X-Hotline-Call-Id': offer.callId },
        });
        this.deps.log.info({ callId: offer.callId, agentId: offer.agentId, caller: maskNumber(caller.caller) }, 'offering call to agent');
      } catch (err) {
        this.deps.log.warn({ err, agentId: offer.agentId }, 'originate to agent failed');
        await this.channelDestroyed(legId, 0);
      }
    }
  }

  private async endWrapUp(agentId: string, callId: string): Promise<void> {
    const change = await this.deps.store.wrapUpEnded(agentId, callId, this.deps.now()).catch(() => null);
    if (change) this.logChanges([change]);
    this.kick();
  }

  private async dropCaller(callId: string): Promise<void> {
    const c = this.callers.get(callId);
    c?.maxWait?.cancel();
    this.callers.delete(callId);
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
    for (const [legId, l] of this.legs) if (l.callId === callId && l.agentId === agentId) return legId;
    return undefined;
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
