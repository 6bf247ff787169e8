import { describe, expect, it } from 'vitest';
import { defaultPrompts } from '../../src/calls/call-flow.ts';
import type { CallRecordRef, CallRegistry } from '../../src/calls/call-registry.ts';
import type { Clock } from '../../src/calls/call-runner.ts';
import { Dispatcher } from '../../src/calls/dispatcher.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { ChannelGoneError } from '../../src/telephony/port.ts';
import { createLogger } from '../../src/log/logger.ts';
import { FakeTelephony } from './fakes/fake-telephony.ts';

class MemoryRegistry implements CallRegistry {
  readonly map = new Map<string, CallRecordRef>();
  async register(ch: string, callId: string) {
    this.map.set(ch, { callId, seq: 0 });
  }
  async updateSeq(ch: string, seq: number) {
    const r = this.map.get(ch);
    if (r) this.map.set(ch, { ...r, seq });
  }
  async lookup(ch: string) {
    return this.map.get(ch) ?? null;
  }
  async remove(ch: string) {
    this.map.delete(ch);
  }
}

/** A clock whose timers fire only when the test says so. */
class ManualClock implements Clock {
  timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  now = () => new Date('2026-11-23T08:00:00Z');
  setTimeout(fn: () => void, ms: number) {
    const t = { fn, ms, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
  fireAll() {
    for (const t of this.timers.splice(0)) if (!t.cancelled) t.fn();
  }
}

function setup(numbers = ['10010']) {
  const telephony = new FakeTelephony();
  const events: CallEvent[] = [];
  const registry = new MemoryRegistry();
  const clock = new ManualClock();
  const d = new Dispatcher({
    telephony,
    events: { append: (e) => void events.push(e) },
    registry,
    clock,
    settings: { ...defaultPrompts, digitTimeoutMs: 1000 },
    hotlineNumbers: numbers,
    log: createLogger('silent'),
  });
  d.attach();
  return { telephony, events, registry, clock, d };
}
const at = '2026-11-23T08:00:00Z';
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('dispatcher and call runner (fake telephony)', () => {
  it('runs a call through its runner: commands in order, seq 1..n, one owner', async () => {
    const { telephony, events, clock, d } = setup();
    telephony.emit({ type: 'channel.entered', channelId: 'ch1', args: ['inbound', '10010'], caller: { number: '13800138000', name: '' }, at });
    await flush();
    expect(telephony.calls).toEqual(['answer ch1', expect.stringMatching(/^play ch1 .*:pb1:welcome sound:hello-world$/)]);
    const pb1 = telephony.calls[1]!.split(' ')[2]!;
    telephony.emit({ type: 'playback.finished', channelId: 'ch1', playbackId: pb1, state: 'done', at });
    await flush();
    clock.fireAll(); // digit timeout
    await flush();
    const pb2 = telephony.calls.at(-1)!.split(' ')[2]!;
    telephony.emit({ type: 'playback.finished', channelId: 'ch1', playbackId: pb2, state: 'done', at });
    await flush();
    expect(telephony.calls.at(-1)).toBe('hangup ch1');
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'call.started'],
      [2, 'prompt.played'],
      [3, 'digit.timeout'],
      [4, 'prompt.played'],
      [5, 'call.ended'],
    ]);
    expect(new Set(events.map((e) => e.callId)).size).toBe(1);
    expect(d.liveCalls).toBe(0);
  });

  it('treats a channel that vanished mid-command as a hang-up, not an error', async () => {
    const { telephony, events } = setup();
    telephony.fail = (c) => (c === 'play' ? new ChannelGoneError('ch1') : null);
    telephony.emit({ type: 'channel.entered', channelId: 'ch1', args: ['inbound', '10010'], caller: { number: '1', name: '' }, at });
    await flush();
    telephony.emit({ type: 'channel.hangup_requested', channelId: 'ch1', cause: 16, at });
    telephony.emit({ type: 'channel.left', channelId: 'ch1', at });
    await flush();
    expect(events.filter((e) => e.type === 'call.ended').map((e) => e.data)).toEqual([{ cause: 'caller_hangup', digit: null }]);
  });

  it('ends the call with cause error when Asterisk rejects a command', async () => {
    const { telephony, events } = setup();
    telephony.fail = (c) => (c === 'answer' ? new Error('500 internal') : null);
    telephony.emit({ type: 'channel.entered', channelId: 'ch1', args: ['inbound', '10010'], caller: { number: '1', name: '' }, at });
    await flush();
    expect(events.at(-1)).toMatchObject({ type: 'call.ended', data: { cause: 'error' } });
    expect(telephony.calls.at(-1)).toBe('hangup ch1');
  });

  it('reconciles after a reconnect: closes orphans under their registered call id, ends runners whose channel is gone', async () => {
    const { telephony, events, registry } = setup();
    telephony.emit({ type: 'channel.entered', channelId: 'live', args: ['inbound', '10010'], caller: { number: '1', name: '' }, at });
    await flush();
    await registry.register('orphan', '11111111-1111-4111-8111-111111111111');
    await registry.updateSeq('orphan', 4);
    telephony.appChannels = ['orphan'];
    telephony.emitConnection({ type: 'connected', reconnect: true });
    await flush();
    await flush();
    const orphanEvents = events.filter((e) => e.callId === '11111111-1111-4111-8111-111111111111');
    expect(orphanEvents.map((e) => [e.seq, e.type, e.data])).toEqual([[5, 'call.ended', { cause: 'app_restarted' }]]);
    expect(telephony.calls).toContain('hangup orphan');
    expect(events.filter((e) => e.type === 'call.ended' && e.data.cause === 'lost_during_outage')).toHaveLength(1);
    expect(registry.map.has('orphan')).toBe(false);
  });

  it('while draining, sends new calls to the dialplan apology and records them', async () => {
    const { telephony, events, d } = setup();
    await d.drain(10);
    telephony.emit({ type: 'channel.entered', channelId: 'late', args: ['inbound', '10010'], caller: { number: '1', name: '' }, at });
    await flush();
    expect(telephony.calls).toEqual(['continue late hotline-unavailable s']);
    expect(events.map((e) => [e.type, e.data.cause])).toEqual([
      ['call.started', undefined],
      ['call.ended', 'shutdown'],
    ]);
  });
});
