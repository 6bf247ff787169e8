import type { CallEventType, EndCause } from '../domain/call-event.ts';

/**
 * The walking skeleton's call logic, as a pure state machine:
 *   (state, input, settings) -> (new state, commands)
 * It never awaits, reads a clock or touches I/O; the call runner executes its commands and
 * feeds their outcomes back as inputs. The IVR-flow interpreter replaces the fixed script
 * (welcome, one digit, confirmation, goodbye) with JSON flows but keeps this shape.
 */

export interface FlowSettings {
  readonly digitTimeoutMs: number;
  readonly welcome: readonly string[];
  readonly notInService: readonly string[];
  readonly goodbye: readonly string[];
  /** Media for the confirmation of a pressed digit. */
  confirmation(digit: string): readonly string[];
}

export const defaultPrompts: Omit<FlowSettings, 'digitTimeoutMs'> = {
  welcome: ['sound:hello-world'],
  notInService: ['sound:ss-noservice'],
  goodbye: ['sound:vm-goodbye'],
  confirmation: (digit) => ['sound:you-entered', `digits:${digit}`, 'sound:auth-thankyou'],
};

export type Phase = 'new' | 'welcome' | 'awaiting_digit' | 'closing' | 'ended';

export interface CallState {
  readonly callId: string;
  readonly phase: Phase;
  /** Counter for deterministic playback ids, so PlaybackFinished maps back to this call. */
  readonly playbackCount: number;
  readonly currentPlayback: { readonly id: string; readonly prompt: string } | null;
  readonly digit: string | null;
  /** Cause to record once the closing prompt ends and the call is hung up. */
  readonly closeCause: EndCause | null;
}

export type CallInput =
  | { readonly type: 'started'; readonly dialed: string; readonly known: boolean }
  | { readonly type: 'playback.finished'; readonly playbackId: string; readonly state: 'done' | 'stopped' | 'failed' }
  | { readonly type: 'dtmf'; readonly digit: string }
  | { readonly type: 'timer.fired'; readonly name: string }
  | { readonly type: 'hungup'; readonly cause: EndCause | `hangup:${number}` }
  | { readonly type: 'command.failed'; readonly command: Command['type']; readonly error: string };

export type Command =
  | { readonly type: 'Answer' }
  | { readonly type: 'PlayPrompt'; readonly playbackId: string; readonly media: readonly string[] }
  | { readonly type: 'StopPlayback'; readonly playbackId: string }
  | { readonly type: 'StartTimer'; readonly name: string; readonly ms: number }
  | { readonly type: 'CancelTimer'; readonly name: string }
  | { readonly type: 'Hangup' }
  | { readonly type: 'RecordEvent'; readonly event: CallEventType; readonly data: Record<string, unknown> };

export interface Step {
  readonly state: CallState;
  readonly commands: readonly Command[];
}

export const DIGIT_TIMER = 'digit';

export function initialState(callId: string): CallState {
  return { callId, phase: 'new', playbackCount: 0, currentPlayback: null, digit: null, closeCause: null };
}

function play(state: CallState, prompt: string, media: readonly string[]): Step {
  // The prompt name rides in the id so a late PlaybackFinished (after barge-in) still names it.
  const id = `${state.callId}:pb${state.playbackCount + 1}:${prompt}`;
  return {
    state: { ...state, playbackCount: state.playbackCount + 1, currentPlayback: { id, prompt } },
    commands: [{ type: 'PlayPrompt', playbackId: id, media }],
  };
}

function close(state: CallState, prompt: string, media: readonly string[], cause: EndCause, extra: Command[] = []): Step {
  const next = play({ ...state, phase: 'closing', closeCause: cause }, prompt, media);
  return { state: next.state, commands: [...extra, ...next.commands] };
}

function end(state: CallState, cause: string, hangup: boolean): Step {
  const commands: Command[] = [{ type: 'CancelTimer', name: DIGIT_TIMER }];
  if (hangup) commands.push({ type: 'Hangup' });
  commands.push({ type: 'RecordEvent', event: 'call.ended', data: { cause, digit: state.digit } });
  return { state: { ...state, phase: 'ended', currentPlayback: null }, commands };
}

export function step(state: CallState, input: CallInput, settings: FlowSettings): Step {
  if (state.phase === 'ended') return { state, commands: [] };

  switch (input.type) {
    case 'started': {
      if (state.phase !== 'new') return { state, commands: [] };
      const answer: Command = { type: 'Answer' };
      if (!input.known) {
        const s = close(state, 'not_in_service', settings.notInService, 'not_in_service', [
          answer,
          { type: 'RecordEvent', event: 'number.unknown', data: { dialed: input.dialed } },
        ]);
        return s;
      }
      const next = play({ ...state, phase: 'welcome' }, 'welcome', settings.welcome);
      return { state: next.state, commands: [answer, ...next.commands] };
    }

    case 'dtmf': {
      if (state.phase !== 'welcome' && state.phase !== 'awaiting_digit') {
        return { state, commands: [{ type: 'RecordEvent', event: 'dtmf', data: { digit: input.digit, ignored: true } }] };
      }
      // Barge-in: a digit during the welcome prompt is taken and cuts the prompt short.
      const stop: Command[] =
        state.phase === 'welcome' && state.currentPlayback
          ? [{ type: 'StopPlayback', playbackId: state.currentPlayback.id }]
          : [];
      const withDigit: CallState = { ...state, digit: input.digit, currentPlayback: null };
      return close(withDigit, 'confirmation', settings.confirmation(input.digit), 'completed', [
        ...stop,
        { type: 'CancelTimer', name: DIGIT_TIMER },
        { type: 'RecordEvent', event: 'dtmf', data: { digit: input.digit, bargeIn: stop.length > 0 } },
      ]);
    }

    case 'playback.finished': {
      const current = state.currentPlayback;
      if (!current || current.id !== input.playbackId) {
        // A prompt cut short by barge-in finishes after the next one started: record only.
        return { state, commands: [playedEvent(input.playbackId, promptOf(input.playbackId), 'interrupted')] };
      }
      const played = playedEvent(input.playbackId, current.prompt, input.state);
      const idle: CallState = { ...state, currentPlayback: null };
      if (state.phase === 'welcome') {
        return {
          state: { ...idle, phase: 'awaiting_digit' },
          commands: [played, { type: 'StartTimer', name: DIGIT_TIMER, ms: settings.digitTimeoutMs }],
        };
      }
      if (state.phase === 'closing') {
        const ended = end(idle, state.closeCause ?? 'completed', true);
        return { state: ended.state, commands: [played, ...ended.commands] };
      }
      return { state: idle, commands: [played] };
    }

    case 'timer.fired': {
      if (input.name !== DIGIT_TIMER || state.phase !== 'awaiting_digit') return { state, commands: [] };
      return close(state, 'goodbye', settings.goodbye, 'completed', [
        { type: 'RecordEvent', event: 'digit.timeout', data: { afterMs: settings.digitTimeoutMs } },
      ]);
    }

    case 'hungup':
      return end(state, input.cause, false);

    case 'command.failed':
      // Nothing sensible can follow a failed answer or playback: end the call, keep the reason.
      if (input.command === 'Hangup' || input.command === 'RecordEvent') return { state, commands: [] };
      return end({ ...state }, 'error', true);
  }
}

/** Asterisk reports a stopped playback as 'done'; the flow knows better when it cut one short. */
function playedEvent(playbackId: string, prompt: string, outcome: 'done' | 'stopped' | 'failed' | 'interrupted'): Command {
  return { type: 'RecordEvent', event: 'prompt.played', data: { playbackId, prompt, outcome } };
}

function promptOf(playbackId: string): string {
  return playbackId.slice(playbackId.lastIndexOf(':') + 1);
}
