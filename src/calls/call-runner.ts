import { randomUUID } from 'node:crypto';
import type { CallEvent, CallEventType } from '../domain/call-event.ts';
import { step } from '../flows/interpreter.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState } from '../flows/state.ts';
import type { HttpServicesPort } from '../integrations/http-services.ts';
import type { Logger } from '../log/logger.ts';
import type { SmsRequests } from '../sms/sms.ts';
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
   * Claims the right to record this call's end (CallRegistry.claimEnd): false when another
   * instance has ended its record already, having judged this one gone while the caller waited
   * in a queue (call.ended instance_lost) — this instance was only stalled. Asked only for a
   * call that went to a queue, the only kind another instance ends. Absent: always recorded.
   */
  claimEnd?(): Promise<boolean>;
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

  constructor(callId: string, channelId: string, initial: FlowState, deps: RunnerDeps) {
    this.callId = callId;
    this.channelId = channelId;
    this.state = initial;
    this.deps = deps;
  }

  get ended(): boolean {
    return this.state.phase.kind === 'ended';
  }

  /** Records an event that is not a flow decision (call.started, facts from the dispatcher). */
  record(type: CallEventType, data: Record<string, unknown>): void {
    this.seq += 1;
    this.deps.events.append({ id: randomUUID(), callId: this.callId, seq: this.seq, type, at: this.deps.clock.now().toISOString(), data });
    this.deps.onSeq(this.seq);
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
          if (await this.mayRecordEnd()) this.record('call.ended', { cause: 'error', node: this.state.node });
          this.state = { ...this.state, phase: { kind: 'ended' } };
          await this.deps.telephony.hangup(this.channelId).catch(() => undefined);
          result = null;
        }
        if (result) {
          this.state = result.state;
          for (const cmd of result.commands) await this.execute(cmd);
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
          if (cmd.event === 'call.ended' && !(await this.mayRecordEnd())) return;
          return this.record(cmd.event, cmd.data);
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

  /**
   * Whether this runner records its call's end: yes, unless the call went to a queue and
   * another instance has already ended its record, so that exactly one call.ended exists. If
   * the claim cannot be made (Redis down) the end is recorded, as before the claim existed.
   */
  private async mayRecordEnd(): Promise<boolean> {
    if (!this.routed || !this.deps.claimEnd) return true;
    if (await this.deps.claimEnd().catch(() => true)) return true;
    this.deps.log.warn('call already ended by another instance that found this one gone: its end is not recorded again');
    return false;
  }

  private cancelTimers(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
