import { describe, expect, it } from 'vitest';
import { DIGIT_TIMER, defaultPrompts, initialState, step, type CallInput, type CallState, type Command } from '../../src/calls/call-flow.ts';

const settings = { ...defaultPrompts, digitTimeoutMs: 5000 };

/** Feeds inputs in order; returns the final state and every command emitted. */
function run(inputs: CallInput[], state: CallState = initialState('c1')) {
  const commands: Command[] = [];
  for (const input of inputs) {
    const r = step(state, input, settings);
    state = r.state;
    commands.push(...r.commands);
  }
  return { state, commands };
}
const recorded = (cmds: Command[]) => cmds.flatMap((c) => (c.type === 'RecordEvent' ? [c.event] : []));
const plays = (cmds: Command[]) => cmds.flatMap((c) => (c.type === 'PlayPrompt' ? [c] : []));

describe('call flow (pure)', () => {
  it('answers a known number and plays the welcome', () => {
    const { state, commands } = run([{ type: 'started', dialed: '10010', known: true }]);
    expect(commands).toEqual([
      { type: 'Answer' },
      { type: 'PlayPrompt', playbackId: 'c1:pb1:welcome', media: ['sound:hello-world'] },
    ]);
    expect(state.phase).toBe('welcome');
  });

  it('starts the digit timer only after the welcome finished', () => {
    const { state, commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'playback.finished', playbackId: 'c1:pb1:welcome', state: 'done' },
    ]);
    expect(commands).toContainEqual({ type: 'StartTimer', name: DIGIT_TIMER, ms: 5000 });
    expect(state.phase).toBe('awaiting_digit');
  });

  it('confirms a digit, then hangs up with cause completed after the confirmation', () => {
    const { state, commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'playback.finished', playbackId: 'c1:pb1:welcome', state: 'done' },
      { type: 'dtmf', digit: '3' },
      { type: 'playback.finished', playbackId: 'c1:pb2:confirmation', state: 'done' },
    ]);
    expect(plays(commands)[1]!.media).toEqual(['sound:you-entered', 'digits:3', 'sound:auth-thankyou']);
    expect(recorded(commands)).toEqual(['prompt.played', 'dtmf', 'prompt.played', 'call.ended']);
    expect(commands.at(-2)).toEqual({ type: 'Hangup' });
    expect(commands.at(-1)).toEqual({ type: 'RecordEvent', event: 'call.ended', data: { cause: 'completed', digit: '3' } });
    expect(state.phase).toBe('ended');
  });

  it('barge-in: a digit during the welcome stops it and is taken', () => {
    const { commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'dtmf', digit: '9' },
      { type: 'playback.finished', playbackId: 'c1:pb1:welcome', state: 'done' },
    ]);
    expect(commands).toContainEqual({ type: 'StopPlayback', playbackId: 'c1:pb1:welcome' });
    expect(commands).toContainEqual({ type: 'RecordEvent', event: 'dtmf', data: { digit: '9', bargeIn: true } });
    // The late PlaybackFinished of the cut prompt is recorded as interrupted, not mistaken for the confirmation's.
    expect(commands.at(-1)).toEqual({
      type: 'RecordEvent',
      event: 'prompt.played',
      data: { playbackId: 'c1:pb1:welcome', prompt: 'welcome', outcome: 'interrupted' },
    });
    expect(commands.some((c) => c.type === 'Hangup')).toBe(false);
  });

  it('takes only the first digit; later ones are recorded as ignored', () => {
    const { commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'dtmf', digit: '1' },
      { type: 'dtmf', digit: '2' },
    ]);
    expect(commands.at(-1)).toEqual({ type: 'RecordEvent', event: 'dtmf', data: { digit: '2', ignored: true } });
    expect(plays(commands)).toHaveLength(2);
  });

  it('says goodbye on digit timeout', () => {
    const { commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'playback.finished', playbackId: 'c1:pb1:welcome', state: 'done' },
      { type: 'timer.fired', name: DIGIT_TIMER },
      { type: 'playback.finished', playbackId: 'c1:pb2:goodbye', state: 'done' },
    ]);
    expect(recorded(commands)).toEqual(['prompt.played', 'digit.timeout', 'prompt.played', 'call.ended']);
    expect(commands.at(-1)).toEqual({ type: 'RecordEvent', event: 'call.ended', data: { cause: 'completed', digit: null } });
  });

  it('ignores a timer that fires after a digit was taken', () => {
    const { commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'playback.finished', playbackId: 'c1:pb1:welcome', state: 'done' },
      { type: 'dtmf', digit: '1' },
      { type: 'timer.fired', name: DIGIT_TIMER },
    ]);
    expect(recorded(commands)).not.toContain('digit.timeout');
  });

  it('tells an unknown number it is not in service, records it, and hangs up', () => {
    const { commands } = run([
      { type: 'started', dialed: '99999', known: false },
      { type: 'playback.finished', playbackId: 'c1:pb1:not_in_service', state: 'done' },
    ]);
    expect(commands[0]).toEqual({ type: 'Answer' });
    expect(commands[1]).toEqual({ type: 'RecordEvent', event: 'number.unknown', data: { dialed: '99999' } });
    expect(plays(commands)[0]!.media).toEqual(['sound:ss-noservice']);
    expect(commands.at(-1)).toEqual({ type: 'RecordEvent', event: 'call.ended', data: { cause: 'not_in_service', digit: null } });
  });

  it('records the caller hang-up once and ignores everything after', () => {
    const { state, commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'hungup', cause: 'caller_hangup' },
      { type: 'hungup', cause: 'caller_hangup' },
      { type: 'dtmf', digit: '1' },
    ]);
    expect(recorded(commands)).toEqual(['call.ended']);
    expect(commands.some((c) => c.type === 'Hangup')).toBe(false);
    expect(state.phase).toBe('ended');
  });

  it('ends the call with cause error when a playback command fails', () => {
    const { commands } = run([
      { type: 'started', dialed: '10010', known: true },
      { type: 'command.failed', command: 'PlayPrompt', error: 'boom' },
    ]);
    expect(commands.at(-1)).toEqual({ type: 'RecordEvent', event: 'call.ended', data: { cause: 'error', digit: null } });
    expect(commands).toContainEqual({ type: 'Hangup' });
  });
});
