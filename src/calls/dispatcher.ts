import { randomUUID } from 'node:crypto';
import type { CallEvent, CallEventType } from '../domain/call-event.ts';
import { initialState } from '../flows/interpreter.ts';
import type { Flow } from '../flows/schema.ts';
import type { FlowInput, FlowResolver } from '../flows/state.ts';
import type { HttpServicesPort } from '../integrations/http-services.ts';
import { maskNumber, type Logger } from '../log/logger.ts';
import type { SmsRequests } from '../sms/sms.ts';
import type { ConnectionEvent, TelephonyEvent, TelephonyPort } from '../telephony/port.ts';
import type { CallRegistry } from './call-registry.ts';
import { noRouting, type QueuePort } from './queue-port.ts';
import { CallRunner, type Clock, type EventSink } from './call-runner.ts';

/** What the dispatcher needs of the flow repository. */
export interface FlowDirectory extends FlowResolver {
  forNumber(dialed: string): Flow | undefined;
}

/** The flow for numbers that map to none (ivr-flows/not-in-service.json). */
export const NOT_IN_SERVICE_FLOW = 'not-in-service';

export interface DispatcherDeps {
  telephony: TelephonyPort;
  events: EventSink;
  registry: CallRegistry;
  clock: Clock;
  flows: FlowDirectory;
  http: HttpServicesPort;
  sms: SmsRequests;
  /** Routing; without it every queue is unavailable. */
  queues?: QueuePort;
  /** Agent legs, agent presence and feature codes (routing); absent when routing is off. */
  agents?: AgentSide;
  log: Logger;
}

/** What the dispatcher hands to routing besides callers. */
export interface AgentSide {
  agentLegAnswered(legId: string, callId: string, agentId: string): Promise<void>;
  /** The caller answered a callback (args: cbleg, callId, agentId). */
  callbackLegAnswered(legId: string, callId: string): Promise<void>;
  /** A leg a previous process left in Stasis was hung up at reconcile. */
  legOrphaned(channelId: string): Promise<void>;
  channelDestroyed(channelId: string, cause: number): Promise<void>;
  endpointOffline(endpoint: string): Promise<void>;
  /** A call dialed from a softphone (feature codes: *1 login, *2 logout, *3 pause, *4 unpause). */
  agentDialed(channelId: string, endpoint: string, dialed: string): Promise<void>;
}

/** Dialplan context that plays the apology when Hotline cannot take a call (extensions.conf). */
const UNAVAILABLE_CONTEXT = 'hotline-unavailable';

/**
 * Routes telephony events to the one runner that owns each call, creates runners for new
 * calls, and reconciles with Asterisk after every (re)connect. Also the live-call registry
 * that shutdown drains.
 */
export class Dispatcher {
  private readonly byChannel = new Map<string, CallRunner>();
  private readonly byCall = new Map<string, CallRunner>();
  private accepting = true;
  private readonly ended = new Set<() => void>();

  private readonly deps: DispatcherDeps;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
  }

  attach(): void {
    this.deps.telephony.onEvent((e) => this.handle(e));
    this.deps.telephony.onConnection((e) => void this.onConnection(e));
  }

  get liveCalls(): number {
    return this.byChannel.size;
  }

  private handle(event: TelephonyEvent): void {
    switch (event.type) {
      case 'channel.entered':
        return this.onEntered(event);
      case 'dtmf.received':
        return this.byChannel.get(event.channelId)?.send({ type: 'dtmf', digit: event.digit });
      case 'playback.finished':
        return this.byChannel.get(event.channelId)?.send({ type: 'playback.finished', playbackId: event.playbackId });
      case 'recording.finished':
        return this.byChannel.get(event.channelId)?.send({ type: 'recording.finished', name: event.name, ok: event.ok, seconds: event.seconds });
      case 'channel.hangup_requested':
        return this.byChannel.get(event.channelId)?.send({ type: 'hungup', cause: causeOf(event.cause) });
      case 'channel.left':
        // Usually the call has already ended (our hangup, or the caller's hangup request).
        return this.byChannel.get(event.channelId)?.send({ type: 'hungup', cause: 'caller_hangup' });
      case 'channel.destroyed':
        void this.deps.agents?.channelDestroyed(event.channelId, event.cause).catch((err) => this.deps.log.error({ err }, 'routing: channel end failed'));
        return;
      case 'endpoint.state_changed': {
        const endpoint = `${event.technology}/${event.resource}`;
        this.deps.log.info({ endpoint, state: event.state, contactStatus: event.contactStatus }, 'endpoint state changed');
        if (event.state === 'offline' || event.contactStatus === 'Unreachable' || event.contactStatus === 'Removed') {
          void this.deps.agents?.endpointOffline(endpoint).catch((err) => this.deps.log.error({ err }, 'routing: presence failed'));
        }
        return;
      }
    }
  }

  private onEntered(event: Extract<TelephonyEvent, { type: 'channel.entered' }>): void {
    const [role = 'inbound', dialed = ''] = event.args;
    if (role === 'agentleg' && this.deps.agents) {
      void this.deps.agents.agentLegAnswered(event.channelId, event.args[1] ?? '', event.args[2] ?? '').catch((err) => this.deps.log.error({ err }, 'routing: bridging failed'));
      return;
    }
    if (role === 'cbleg' && this.deps.agents) {
      void this.deps.agents.callbackLegAnswered(event.channelId, event.args[1] ?? '').catch((err) => this.deps.log.error({ err }, 'routing: callback bridging failed'));
      return;
    }
    if (role === 'agent' && this.deps.agents && dialed.startsWith('*')) {
      const endpoint = event.channelName.replace(/-[^-]+$/, '');
      void this.deps.agents.agentDialed(event.channelId, endpoint, dialed).catch((err) => this.deps.log.error({ err }, 'feature code failed'));
      return;
    }
    const callId = randomUUID();
    const log = this.deps.log.child({ callId, caller: maskNumber(event.caller.number), dialed });
    // Softphone calls (role 'agent') get feature codes in the routing issue; until then, none.
    const mapped = role === 'inbound' ? this.deps.flows.forNumber(dialed) : undefined;
    const flow = mapped ?? this.deps.flows.active(NOT_IN_SERVICE_FLOW);
    if (!flow) {
      log.error('no flow for the call and no not-in-service flow loaded; hanging up');
      void this.deps.telephony.hangup(event.channelId, 'unallocated').catch(() => undefined);
      return;
    }
    const vars = { caller: event.caller.number, dialed, callId };
    const runner = new CallRunner(callId, event.channelId, initialState(callId, flow, vars), {
      telephony: this.deps.telephony,
      events: this.deps.events,
      clock: this.deps.clock,
      flows: this.deps.flows,
      http: this.deps.http,
      sms: this.deps.sms,
      queues: this.deps.queues ?? noRouting,
      log,
      onSeq: (seq) => void this.deps.registry.updateSeq(event.channelId, seq).catch(() => undefined),
      nextSeq: (atLeast) => this.deps.registry.nextSeq(event.channelId, atLeast),
      claimEnd: () => this.deps.registry.claimEnd(event.channelId),
      onEnded: (r) => this.forget(r),
    });
    this.byChannel.set(event.channelId, runner);
    this.byCall.set(callId, runner);
    void this.deps.registry.register(event.channelId, callId).catch((err) => log.warn({ err }, 'call registry write failed'));
    runner.record('call.started', {
      channelId: event.channelId,
      caller: event.caller.number,
      callerName: event.caller.name,
      dialed,
      role,
      flow: flow.id,
      version: flow.version,
    });
    if (!mapped) runner.record('number.unknown', { dialed, role });
    log.info({ flow: flow.id, version: flow.version }, 'call started');

    if (!this.accepting) {
      // Shutting down: the dialplan apologises; the caller is not left in silence.
      runner.send({ type: 'hungup', cause: 'shutdown' });
      void this.deps.telephony
        .continueInDialplan(event.channelId, UNAVAILABLE_CONTEXT, 's')
        .catch((err) => log.warn({ err }, 'continue to apology failed'));
      return;
    }
    runner.send({ type: 'started' });
  }

  /** Routing's way back to a caller: a flow input or an event on the caller's record. */
  readonly calls = {
    notify: (callId: string, input: FlowInput) => this.byCall.get(callId)?.send(input),
    record: (callId: string, type: CallEventType, data: Record<string, unknown>) => this.byCall.get(callId)?.record(type, data),
  };

  /**
   * Hangs up the calls another instance ended while this one was stalled (judged gone, its
   * queued callers' records ended with instance_lost): a caller who only waits on hold makes no
   * event that would tell its runner. Run after each of this instance's beats; one registry
   * read for all its queued calls. Nothing is recorded: the record ended with the other
   * instance's call.ended.
   */
  async hangUpCallsEndedElsewhere(): Promise<void> {
    const queued = [...this.byChannel.values()].filter((r) => r.endableElsewhere);
    if (queued.length === 0) return;
    const ended = await this.deps.registry.claimedAmong(queued.map((r) => r.channelId));
    for (const runner of queued) if (ended.has(runner.channelId)) runner.endedElsewhereNoticed();
  }

  private forget(runner: CallRunner): void {
    if (this.byChannel.get(runner.channelId) === runner) this.byChannel.delete(runner.channelId);
    this.byCall.delete(runner.callId);
    void this.deps.registry.remove(runner.channelId).catch(() => undefined);
    if (this.byChannel.size === 0) for (const f of this.ended) f();
  }

  /**
   * After every (re)connect, Asterisk is the truth about which channels are in our app:
   * a runner whose channel is gone ended during the outage; a channel without a runner was
   * left by a previous process (its flow state is lost), so it is closed with a cause.
   */
  private async onConnection(e: ConnectionEvent): Promise<void> {
    if (e.type !== 'connected') return;
    let inStasis: string[];
    try {
      inStasis = await this.deps.telephony.listAppChannels();
    } catch (err) {
      this.deps.log.error({ err }, 'reconcile: listing app channels failed');
      return;
    }
    const present = new Set(inStasis);
    for (const [channelId, runner] of this.byChannel) {
      if (!present.has(channelId)) runner.send({ type: 'hungup', cause: 'lost_during_outage' });
    }
    for (const channelId of inStasis) {
      if (this.byChannel.has(channelId)) continue;
      await this.closeOrphan(channelId);
    }
    this.deps.log.info({ inStasis: inStasis.length, live: this.byChannel.size }, 'reconciled with Asterisk');
  }

  private async closeOrphan(channelId: string): Promise<void> {
    const log = this.deps.log.child({ channelId });
    if (/^(agentleg|cbleg)-/.test(channelId)) {
      // Routing's legs are not calls of their own: no record, but the agent's state is repaired.
      await this.deps.telephony.hangup(channelId).catch((err) => log.warn({ err }, 'orphan leg hangup failed'));
      await this.deps.agents?.legOrphaned(channelId).catch((err) => log.warn({ err }, 'orphan: agent leg cleanup failed'));
      return;
    }
    const claim = await this.deps.registry.claimEnd(channelId).catch(() => null);
    if (claim === 'ended') {
      // Its record is already closed (another instance found its caller orphaned: instance_lost).
      log.warn('closing a channel left in Stasis whose call was already ended elsewhere');
      await this.deps.telephony.hangup(channelId).catch((err) => log.warn({ err }, 'orphan hangup failed'));
      await this.deps.registry.remove(channelId).catch(() => undefined);
      return;
    }
    const ref = claim;
    const callId = ref?.callId ?? randomUUID();
    let seq = ref?.seq ?? 0;
    const at = this.deps.clock.now().toISOString();
    const emit = (type: CallEvent['type'], data: Record<string, unknown>) =>
      this.deps.events.append({ id: randomUUID(), callId, seq: ++seq, type, at, data });
    if (!ref) emit('call.started', { channelId, recovered: true });
    emit('call.ended', { cause: 'app_restarted' });
    log.warn({ callId, known: Boolean(ref) }, 'closing a call left in Stasis by a previous process');
    await this.deps.telephony.hangup(channelId).catch((err) => log.warn({ err }, 'orphan hangup failed'));
    await this.deps.registry.remove(channelId).catch(() => undefined);
    // Routing state of the old process: a caller must not stay queued, an agent not stay on a call.
    if (ref) await this.deps.queues?.callEnded(ref.callId).catch((err) => log.warn({ err }, 'orphan: leaving the queue failed'));
  }

  /**
   * Stops taking calls, waits up to `timeoutMs` for live calls to finish, then hangs up the
   * rest (recorded with cause 'shutdown').
   */
  async drain(timeoutMs: number): Promise<void> {
    this.accepting = false;
    if (this.byChannel.size > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.ended.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.ended.add(done);
      });
    }
    const rest = [...this.byChannel.values()];
    for (const runner of rest) runner.send({ type: 'hungup', cause: 'shutdown' });
    await Promise.all(rest.map((r) => this.deps.telephony.hangup(r.channelId).catch(() => undefined)));
    await Promise.all(rest.map((r) => r.whenIdle()));
  }
}

/** Q.850 cause 16 is a normal clearing by the caller; others are kept as numbers. */
function causeOf(cause: number): 'caller_hangup' | `hangup:${number}` {
  return cause === 16 || cause === 0 ? 'caller_hangup' : `hangup:${cause}`;
}
