import { randomUUID } from 'node:crypto';
import type { CallEvent, CallEventType } from '../domain/call-event.ts';
import { step } from '../flows/interpreter.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState } from '../flows/state.ts';
import type { HttpServicesPort } from '../integrations/http-services.ts';
import type { Logger } from '../log/logger.ts';
import type { SmsRequests } from '../sms/sms.ts';
import type { CallRecordRef } from './call-registry.ts';
import type { QueuePort } from './queue-port.ts';
import type { TelephonyPort } from '../telephony/port.ts';
import { ChannelGoneError } from '../telephony/port.ts';

export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that starts at `at` and runs at normal speed: business hours tests and demos. */
export function clockStartingAt(at: Date): Clock {
  const offset = at.getTime() - Date.now();
  return { ...systemClock, now: () => new Date(Date.now() + offset) };
}

export interface EventSink {
  append(event: CallEvent): void;
}

export interface RunnerDeps {
  telephony: TelephonyPort;
  events: EventSink;
  clock: Clock;
  flows: FlowResolver;
  http: HttpServicesPort;
  sms: SmsRequests;
  queues: QueuePort;
  log: Logger;
  /** Called once the call has ended and every command ran. */
  onEnded(runner: CallRunner): void;
  /** Persists what a restarted app needs to close this call (see call-registry). */
  onSeq(seq: number): void;
  /**
   * Hands out the call's next seq from its registration (CallRegistry.nextSeq): 'ended' when
   * another instance has ended its record, having judged this one gone while the caller waited
   * in a queue (call.ended instance_lost) — this instance was only stalled. Asked only for a
   * call that went to a queue, the only kind another instance ends. Absent: seqs are counted
   * here alone.
   */
  nextSeq?(atLeast: number): Promise<number | 'ended' | null>;
  /**
   * Claims the right to record this call's end (CallRegistry.claimEnd), which hands out the
   * seq after the ref's for call.ended; 'ended' as for nextSeq. Asked only for a call that went
   * to a queue. Absent: always recorded.
   */
  claimEnd?(): Promise<CallRecordRef | 'ended' | null>;
}

/** Dialplan context that dials a transfer target out of the trunk (extensions.conf). */
const TRANSFER_CONTEXT = 'hotline-transfer';

/**
 * The single owner of one call. Inputs queue in a mailbox and are processed one at a time:
 * the pure interpreter decides, this runner executes the commands in order, and every
 * outcome (a finished playback, an HTTP answer, a timer) comes back as a new input.
 */
export class CallRunner {
  readonly callId: string;
  readonly channelId: string;
  private state: FlowState;
  private seq = 0;
  private readonly deps: RunnerDeps;
  private readonly mailbox: FlowInput[] = [];
  private draining = false;
  private readonly timers = new Map<string, { cancel(): void }>();
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | null = null;
  /** The call was handed to routing (Enqueue): from then on another instance may end its record. */
  private routed = false;
  /** This runner's claim of its call's end, once made: call.ended's seq, null if ended elsewhere. */
  private endSeq: Promise<number | null> | null = null;
  /** Another instance ended the call's record: nothing more is recorded or done for the call. */
  private endedElsewhere = false;

  constructor(callId: string, channelId: string, initial: FlowState, deps: RunnerDeps) {
    this.callId = callId;
    this.channelId = channelId;
    this.state = initial;
    this.deps = deps;
  }

  get ended(): boolean {
    return this.state.phase.kind === 'ended';
  }

  /**
   * Whether another instance may end this call's record without this runner hearing of it: the
   * call went to a queue, and this runner has neither ended it nor begun to record its end (its
   * own claim marks the registration ended too).
   */
  get endableElsewhere(): boolean {
    return this.routed && !this.endSeq && !this.endedElsewhere && !this.ended;
  }

  /**
   * The registration says another instance claimed the call's end (CallRegistry.claimedAmong,
   * asked on each beat): the same as a nextSeq that answers 'ended', for a caller who only
   * waits and so makes no event that would ask. Ignored once this runner's own claim began.
   */
  endedElsewhereNoticed(): void {
    if (this.endableElsewhere) this.onEndedElsewhere();
  }

  /** Records an event that is not a flow decision (call.started, facts from the dispatcher or routing). */
  record(type: CallEventType, data: Record<string, unknown>): void {
    void this.write(type, data).catch((err) => this.deps.log.error({ err, type }, 'event not recorded'));
  }

  /**
   * Appends an event under the call's next seq. Until the call goes to a queue the seq is
   * counted here alone, and the event appended at once; after, it comes from the registration
   * (nextSeq, claimEnd), and the event is dropped if another instance has ended the call.
   */
  private async write(type: CallEventType, data: Record<string, unknown>): Promise<void> {
    const at = this.deps.clock.now().toISOString();
    const counted = !this.routed || !this.deps.nextSeq;
    let seq: number | null;
    if (type === 'call.ended' && !this.endSeq) seq = await this.claimEnd();
    else if (counted) seq = ++this.seq;
    else seq = await this.nextSeq();
    if (seq === null) return;
    this.deps.events.append({ id: randomUUID(), callId: this.callId, seq, type, at, data });
    if (counted) this.deps.onSeq(seq);
  }

  /**
   * A routed call's next seq, from its registration. After this runner's own end claim the seqs
   * are its own again (every other claim gets 'ended'). If the registration cannot say (Redis
   * down, not registered) the seq is counted here, as before the registration kept it.
   */
  private async nextSeq(): Promise<number | null> {
    if (this.endedElsewhere) return null;
    if (!this.endSeq) {
      const r = await this.deps.nextSeq!(this.seq + 1).catch(() => null);
      if (typeof r === 'number') {
        this.seq = Math.max(this.seq, r);
        return r;
      }
      if (r === null) return ++this.seq;
      // 'ended': by another instance, unless this runner's own claim got there first.
      if (!this.endSeq) return this.onEndedElsewhere();
    }
    return (await this.endSeq) === null ? null : ++this.seq;
  }

  /**
   * call.ended's seq: for a call that went to a queue, claimed so that exactly one call.ended
   * exists; null when another instance has ended the call's record already. If the claim cannot
   * be made (Redis down) the end is recorded, as before the claim existed.
   */
  private claimEnd(): Promise<number | null> {
    this.endSeq = (async () => {
      if (this.endedElsewhere) return null;
      if (!this.routed || !this.deps.claimEnd) return ++this.seq;
      const claim = await this.deps.claimEnd().catch(() => null);
      if (claim === 'ended') return this.onEndedElsewhere();
      this.seq = Math.max(this.seq, claim?.seq ?? 0) + 1;
      return this.seq;
    })();
    return this.endSeq;
  }

  /**
   * Another instance judged this one gone while the caller waited in a queue and ended the
   * call's record (instance_lost): this instance was only stalled. The call is over: what the
   * stalled flow would still do is not done or recorded (a second life under the same call id),
   * and the caller's channel is hung up rather than left waiting in a queue that dropped it.
   */
  private onEndedElsewhere(): null {
    if (this.endedElsewhere) return null;
    this.endedElsewhere = true;
    this.deps.log.warn('call already ended by another instance that found this one gone: nothing more is recorded, the caller is hung up');
    void this.deps.telephony.hangup(this.channelId).catch(() => undefined);
    this.send({ type: 'hungup', cause: 'instance_lost' });
    return null;
  }

  send(input: FlowInput): void {
    this.mailbox.push(input);
    if (!this.draining) {
      this.draining = true;
      this.idle = new Promise((r) => (this.resolveIdle = r));
      void this.drain();
    }
  }

  /** Resolves when the mailbox is empty (used by shutdown and tests). */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  private async drain(): Promise<void> {
    try {
      for (let input = this.mailbox.shift(); input; input = this.mailbox.shift()) {
        const wasEnded = this.ended;
        let result;
        try {
          result = step(this.deps.flows, this.state, input, this.deps.clock.now());
        } catch (err) {
          // The interpreter is tested never to throw; if it does, end the call rather than wedge it.
          this.deps.log.error({ err, input: input.type }, 'interpreter threw');
          await this.write('call.ended', { cause: 'error', node: this.state.node });
          this.state = { ...this.state, phase: { kind: 'ended' } };
          await this.deps.telephony.hangup(this.channelId).catch(() => undefined);
          result = null;
        }
        if (result) {
          this.state = result.state;
          for (const cmd of result.commands) if (!this.endedElsewhere) await this.execute(cmd);
        }
        if (!wasEnded && this.ended) {
          this.cancelTimers();
          await this.deps.queues.callEnded(this.callId).catch((err) => this.deps.log.warn({ err }, 'routing: call end not delivered'));
          this.deps.onEnded(this);
        }
      }
    } finally {
      this.draining = false;
      this.resolveIdle?.();
    }
  }

  private async execute(cmd: FlowCommand): Promise<void> {
    const { telephony } = this.deps;
    try {
      switch (cmd.type) {
        case 'Answer':
          return await telephony.answer(this.channelId);
        case 'PlayPrompt':
          return await telephony.play(this.channelId, cmd.playbackId, cmd.media);
        case 'StopPlayback':
          return await telephony.stopPlayback(cmd.playbackId);
        case 'Hangup':
          return await telephony.hangup(this.channelId);
        case 'Transfer':
          return await telephony.continueInDialplan(this.channelId, TRANSFER_CONTEXT, cmd.number);
        case 'RecordMessage':
          return await telephony.record(this.channelId, cmd.name, cmd.maxSeconds);
        case 'StartTimer': {
          this.timers.get(cmd.name)?.cancel();
          const t = this.deps.clock.setTimeout(() => {
            this.timers.delete(cmd.name);
            this.send({ type: 'timer.fired', name: cmd.name });
          }, cmd.ms);
          this.timers.set(cmd.name, t);
          return;
        }
        case 'CancelTimer':
          this.timers.get(cmd.name)?.cancel();
          this.timers.delete(cmd.name);
          return;
        case 'HttpRequest':
          // Not awaited: the answer is a new input, and the mailbox keeps taking keys meanwhile.
          void this.deps.http.request(cmd.service, cmd.path, cmd.timeoutMs).then((r) =>
            this.send({ type: 'http.result', requestId: cmd.requestId, ok: r.ok, status: r.status, body: r.body }),
          );
          return;
        case 'SendSms':
          return await this.deps.sms.request({
            // BullMQ job ids may not contain ":".
            id: `${this.callId}-${this.seq + 1}`,
            callId: this.callId,
            to: cmd.to,
            template: cmd.template,
            variables: cmd.variables,
          });
        case 'Enqueue': {
          this.routed = true;
          const r = await this.deps.queues.enqueue({
            callId: this.callId,
            channelId: this.channelId,
            caller: String(this.state.vars.caller ?? ''),
            queue: cmd.queue,
            skills: cmd.skills,
            priority: cmd.priority,
            mohClass: cmd.mohClass,
            dialed: String(this.state.vars.dialed ?? ''),
          });
          this.send(r.ok ? { type: 'queue.joined', position: r.position } : { type: 'queue.unavailable', reason: r.reason });
          return;
        }
        case 'LeaveQueue':
          return await this.deps.queues.leave(this.callId, cmd.reason);
        case 'StartHold':
          return await telephony.startMusicOnHold(this.channelId, cmd.mohClass);
        case 'StopHold':
          return await telephony.stopMusicOnHold(this.channelId);
        case 'RequestCallback': {
          const r = await this.deps.queues.requestCallback(this.callId);
          this.send(r.ok ? { type: 'queue.callback', ok: true } : { type: 'queue.callback', ok: false, reason: r.reason });
          return;
        }
        case 'RecordEvent':
          return await this.write(cmd.event, cmd.data);
      }
    } catch (err) {
      if (err instanceof ChannelGoneError) {
        // The caller hung up while we were talking to Asterisk; StasisEnd will follow.
        this.deps.log.debug({ command: cmd.type }, 'channel gone during command');
        return;
      }
      this.deps.log.error({ err, command: cmd.type }, 'command failed');
      this.mailbox.push({ type: 'command.failed', command: cmd.type, error: (err as Error).message });
    }
  }

  private cancelTimers(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
