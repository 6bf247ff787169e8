import { randomUUID } from 'node:crypto';
import type { CallEvent, CallEventType } from '../domain/call-event.ts';
import type { Logger } from '../log/logger.ts';
import type { TelephonyPort } from '../telephony/port.ts';
import { ChannelGoneError } from '../telephony/port.ts';
import { step, type CallInput, type CallState, type Command, type FlowSettings } from './call-flow.ts';

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

export interface EventSink {
  append(event: CallEvent): void;
}

export interface RunnerDeps {
  telephony: TelephonyPort;
  events: EventSink;
  clock: Clock;
  settings: FlowSettings;
  log: Logger;
  /** Called once the call has ended and every command ran. */
  onEnded(runner: CallRunner): void;
  /** Persists what a restarted app needs to close this call (see call-registry). */
  onSeq(callId: string, seq: number): void;
}

/**
 * The single owner of one call. Inputs queue in a mailbox and are processed one at a time:
 * the pure flow decides, this runner executes the commands in order, and every outcome comes
 * back as a new input — never as a callback into the flow.
 */
export class CallRunner {
  private state: CallState;
  private seq = 0;
  private readonly mailbox: CallInput[] = [];
  private draining = false;
  private readonly timers = new Map<string, { cancel(): void }>();
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | null = null;

  readonly callId: string;
  readonly channelId: string;
  private readonly deps: RunnerDeps;

  constructor(callId: string, channelId: string, initial: CallState, deps: RunnerDeps) {
    this.callId = callId;
    this.channelId = channelId;
    this.state = initial;
    this.deps = deps;
  }

  get ended(): boolean {
    return this.state.phase === 'ended';
  }

  /** Records an event that is not a flow decision (call.started, facts from the dispatcher). */
  record(type: CallEventType, data: Record<string, unknown>): void {
    this.seq += 1;
    this.deps.events.append({
      id: randomUUID(),
      callId: this.callId,
      seq: this.seq,
      type,
      at: this.deps.clock.now().toISOString(),
      data,
    });
    this.deps.onSeq(this.callId, this.seq);
  }

  send(input: CallInput): void {
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
        const result = step(this.state, input, this.deps.settings);
        const wasEnded = this.ended;
        this.state = result.state;
        for (const cmd of result.commands) await this.execute(cmd);
        if (!wasEnded && this.ended) {
          this.cancelTimers();
          this.deps.onEnded(this);
        }
      }
    } finally {
      this.draining = false;
      this.resolveIdle?.();
    }
  }

  private async execute(cmd: Command): Promise<void> {
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
        case 'RecordEvent':
          return this.record(cmd.event, cmd.data);
      }
    } catch (err) {
      if (err instanceof ChannelGoneError) {
        // The caller hung up while we were talking to Asterisk; StasisEnd will follow.
        this.deps.log.debug({ command: cmd.type }, 'channel gone during command');
        return;
      }
      this.deps.log.error({ err, command: cmd.type }, 'telephony command failed');
      this.mailbox.push({ type: 'command.failed', command: cmd.type, error: (err as Error).message });
    }
  }

  private cancelTimers(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
