import { describe, expect, it } from 'vitest';
import type { CallRecordRef, CallRegistry } from '../../src/calls/call-registry.ts';
import type { Clock } from '../../src/calls/call-runner.ts';
import { Dispatcher, type FlowDirectory } from '../../src/calls/dispatcher.ts';
import type { QueuePort } from '../../src/calls/queue-port.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { FlowSchema, type Flow } from '../../src/flows/schema.ts';
import type { HttpResult } from '../../src/integrations/http-services.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { SmsMessage } from '../../src/sms/sms.ts';
import { ChannelGoneError } from '../../src/telephony/port.ts';
import { FakeTelephony } from './fakes/fake-telephony.ts';

class MemoryRegistry implements CallRegistry {
  readonly map = new Map<string, CallRecordRef>();
  readonly ended = new Set<string>();
  /** Channels whose end was claimed, in order. */
  readonly claims: string[] = [];
  async register(ch: string, callId: string) {
    this.map.set(ch, { callId, seq: 0 });
  }
  async updateSeq(ch: string, seq: number) {
    const r = this.map.get(ch);
    if (r && seq > r.seq) this.map.set(ch, { ...r, seq });
  }
  async nextSeq(ch: string, atLeast: number) {
    const r = this.map.get(ch);
    if (!r) return null;
    if (this.ended.has(ch)) return 'ended' as const;
    const seq = Math.max(r.seq + 1, atLeast);
    this.map.set(ch, { ...r, seq });
    return seq;
  }
  async claimedAmong(chs: readonly string[]) {
    return new Set(chs.filter((ch) => this.ended.has(ch)));
  }
  async lookup(ch: string) {
    return this.map.get(ch) ?? null;
  }
  async claimEnd(ch: string) {
    this.claims.push(ch);
    const r = this.map.get(ch);
    if (!r) return null;
    if (this.ended.has(ch)) return 'ended' as const;
    this.ended.add(ch);
    this.map.set(ch, { ...r, seq: r.seq + 1 });
    return r;
  }
  async remove(ch: string) {
    this.map.delete(ch);
    this.ended.delete(ch);
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

const flow = (doc: unknown): Flow => FlowSchema.parse(doc);
const MAIN = flow({
  id: 'main',
  version: 3,
  name: 'm',
  language: 'en',
  start: 'lookup',
  nodes: {
    lookup: { type: 'http', service: 'crm', path: '/customers/{{caller}}', map: { tier: 'tier' }, next: 'menu', onError: 'bye' },
    menu: { type: 'menu', prompts: ['prompt:main_menu'], options: { '1': 'text', '2': 'bye' }, timeoutMs: 1000, maxRetries: 0, onExhausted: 'bye' },
    text: { type: 'sms', template: 'info', variables: ['tier'], next: 'bye' },
    bye: { type: 'hangup', prompts: ['prompt:goodbye'], reason: 'completed' },
  },
});
const NIS = flow({ id: 'not-in-service', version: 1, name: 'n', language: 'zh', start: 'x', nodes: { x: { type: 'hangup', prompts: ['prompt:not_in_service'], reason: 'not_in_service' } } });
const QUEUED = flow({
  id: 'queued',
  version: 1,
  name: 'q',
  language: 'en',
  start: 'wait',
  nodes: { wait: { type: 'queue', queue: 'general', next: 'bye' }, bye: { type: 'hangup', reason: 'completed' } },
});
const directory: FlowDirectory = {
  get: (id, v) => [MAIN, NIS, QUEUED].find((f) => f.id === id && f.version === v),
  active: (id) => [MAIN, NIS, QUEUED].find((f) => f.id === id),
  forNumber: (n) => (n === '10010' ? MAIN : n === '10020' ? QUEUED : undefined),
};

/** Routing that takes every caller and does nothing else. */
const acceptingQueues: QueuePort = {
  enqueue: async () => ({ ok: true, position: 1 }),
  leave: async () => undefined,
  callEnded: async () => undefined,
  requestCallback: async () => ({ ok: false, reason: 'off' }),
};

function setup(httpAnswer: HttpResult = { ok: true, status: 200, body: { tier: 'vip' } }, queues?: QueuePort) {
  const telephony = new FakeTelephony();
  const events: CallEvent[] = [];
  const registry = new MemoryRegistry();
  const clock = new ManualClock();
  const sms: SmsMessage[] = [];
  const requests: string[] = [];
  const d = new Dispatcher({
    telephony,
    events: { append: (e) => void events.push(e) },
    registry,
    clock,
    flows: directory,
    http: { request: async (service, path) => (requests.push(`${service}${path}`), httpAnswer) },
    sms: { request: async (m) => void sms.push(m) },
    ...(queues ? { queues } : {}),
    log: createLogger('silent'),
  });
  d.attach();
  return { telephony, events, registry, clock, d, sms, requests };
}
const at = '2026-11-23T08:00:00Z';
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};
const enter = (t: FakeTelephony, channelId: string, dialed = '10010') =>
  t.emit({ type: 'channel.entered', channelId, args: ['inbound', dialed], channelName: 'PJSIP/trunk-00000001', caller: { number: '13800138000', name: '' }, at });
const lastPlayback = (t: FakeTelephony) => t.calls.filter((c) => c.startsWith('play ')).at(-1)!.split(' ')[2]!;

describe('dispatcher and call runner (fake telephony, real interpreter)', () => {
  it('runs a call: CRM lookup, menu, sms job, goodbye; events seq 1..n under one call id', async () => {
    const { telephony, events, d, sms, requests } = setup();
    enter(telephony, 'ch1');
    await flush();
    expect(requests).toEqual(['crm/customers/13800138000']);
    expect(telephony.calls).toEqual(['answer ch1', expect.stringMatching(/^play ch1 \S+ sound:hotline\/en\/main_menu$/)]);
    telephony.emit({ type: 'dtmf.received', channelId: 'ch1', digit: '1', at });
    await flush();
    expect(sms).toEqual([{ id: expect.any(String), callId: events[0]!.callId, to: '13800138000', template: 'info', variables: { tier: 'vip' } }]);
    telephony.emit({ type: 'playback.finished', channelId: 'ch1', playbackId: lastPlayback(telephony), state: 'done', at });
    await flush();
    expect(telephony.calls.at(-1)).toBe('hangup ch1');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.callId)).size).toBe(1);
    expect(events[0]).toMatchObject({ type: 'call.started', data: { flow: 'main', version: 3, dialed: '10010' } });
    expect(events.at(-1)).toMatchObject({ type: 'call.ended', data: { cause: 'completed', node: 'bye' } });
    expect(d.liveCalls).toBe(0);
  });

  it('plays the not-in-service flow for an unknown number and records it', async () => {
    const { telephony, events } = setup();
    enter(telephony, 'ch9', '99999');
    await flush();
    expect(events.slice(0, 2).map((e) => [e.type, e.data.flow ?? e.data.dialed])).toEqual([
      ['call.started', 'not-in-service'],
      ['number.unknown', '99999'],
    ]);
    expect(telephony.calls[1]).toMatch(/sound:hotline\/zh\/not_in_service$/);
  });

  it('takes the error branch when the CRM fails', async () => {
    const { telephony, events } = setup({ ok: false, status: 0, body: null });
    enter(telephony, 'ch1');
    await flush();
    expect(events.find((e) => e.type === 'http.completed')?.data).toMatchObject({ ok: false });
    expect(telephony.calls[1]).toMatch(/goodbye$/);
  });

  it('treats a channel that vanished mid-command as a hang-up, not an error', async () => {
    const { telephony, events } = setup();
    telephony.fail = (c) => (c === 'play' ? new ChannelGoneError('ch1') : null);
    enter(telephony, 'ch1');
    await flush();
    telephony.emit({ type: 'channel.hangup_requested', channelId: 'ch1', cause: 16, at });
    telephony.emit({ type: 'channel.left', channelId: 'ch1', at });
    await flush();
    expect(events.filter((e) => e.type === 'call.ended').map((e) => e.data.cause)).toEqual(['caller_hangup']);
  });

  it('ends the call with cause error when Asterisk rejects a command', async () => {
    const { telephony, events } = setup();
    telephony.fail = (c) => (c === 'answer' ? new Error('500 internal') : null);
    enter(telephony, 'ch1');
    await flush();
    expect(events.filter((e) => e.type === 'call.ended').map((e) => e.data.cause)).toEqual(['error']);
    expect(telephony.calls).toContain('hangup ch1');
  });

  it('reconciles after a reconnect: closes orphans under their registered call id, ends runners whose channel is gone', async () => {
    const { telephony, events, registry } = setup();
    enter(telephony, 'live');
    await flush();
    await registry.register('orphan', '11111111-1111-4111-8111-111111111111');
    await registry.updateSeq('orphan', 4);
    telephony.appChannels = ['orphan'];
    telephony.emitConnection({ type: 'connected', reconnect: true });
    await flush();
    const orphanEvents = events.filter((e) => e.callId === '11111111-1111-4111-8111-111111111111');
    expect(orphanEvents.map((e) => [e.seq, e.type, e.data])).toEqual([[5, 'call.ended', { cause: 'app_restarted' }]]);
    expect(telephony.calls).toContain('hangup orphan');
    expect(events.filter((e) => e.type === 'call.ended' && e.data.cause === 'lost_during_outage')).toHaveLength(1);
    expect(registry.map.has('orphan')).toBe(false);
  });

  it('reconcile hangs up a channel whose call another instance already ended, without ending it again', async () => {
    const { telephony, events, registry } = setup();
    await registry.register('lost', '22222222-2222-4222-8222-222222222222');
    await registry.updateSeq('lost', 4);
    // Another instance found the caller orphaned (its instance gone) and ended the record.
    expect(await registry.claimEnd('lost')).toEqual({ callId: '22222222-2222-4222-8222-222222222222', seq: 4 });
    telephony.appChannels = ['lost'];
    telephony.emitConnection({ type: 'connected', reconnect: true });
    await flush();
    expect(events).toEqual([]);
    expect(telephony.calls).toContain('hangup lost');
    expect(registry.map.has('lost')).toBe(false);
  });

  it('a queued call whose end another instance recorded (it judged this one gone) records no second call.ended; a call that never queued does not ask', async () => {
    const { telephony, events, registry } = setup(undefined, acceptingQueues);
    enter(telephony, 'q1', '10020');
    enter(telephony, 'q2', '10020');
    enter(telephony, 'plain', '99999');
    await flush();
    const callOf = (ch: string) => events.find((e) => e.type === 'call.started' && e.data.channelId === ch)!.callId;
    expect(events.filter((e) => e.type === 'queue.joined')).toHaveLength(2);
    // Another instance took q1's caller out of routing and ended its record (instance_lost).
    expect(await registry.claimEnd('q1')).toMatchObject({ callId: callOf('q1') });
    for (const ch of ['q1', 'q2', 'plain']) telephony.emit({ type: 'channel.hangup_requested', channelId: ch, cause: 16, at });
    await flush();
    // (The plain call's end is not held up by a claim, so it may be written first.)
    expect(new Set(events.filter((e) => e.type === 'call.ended').map((e) => `${e.callId} ${String(e.data.cause)}`))).toEqual(
      new Set([`${callOf('q2')} caller_hangup`, `${callOf('plain')} caller_hangup`]),
    );
    expect(events.filter((e) => e.type === 'call.ended')).toHaveLength(2);
    expect(registry.claims).toEqual(['q1', 'q1', 'q2']);
    expect(registry.map.size).toBe(0);
  });

  it("after a beat, hangs up a queued call another instance ended (its caller only waits: no event asks), recording nothing; one read for the queued calls, not one whose own end is being claimed nor one never queued", async () => {
    const { telephony, events, registry, d } = setup(undefined, acceptingQueues);
    enter(telephony, 'q1', '10020');
    enter(telephony, 'q2', '10020');
    enter(telephony, 'plain', '99999');
    await flush();
    const callOf = (ch: string) => events.find((e) => e.type === 'call.started' && e.data.channelId === ch)!.callId;
    const before = events.length;
    // Another instance ended q1's record (instance_lost).
    expect(await registry.claimEnd('q1')).toMatchObject({ callId: callOf('q1') });
    // q2's caller hangs up: its runner claims the end, which marks its registration ended too; held there.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const claim = registry.claimEnd.bind(registry);
    registry.claimEnd = async (ch) => {
      const r = await claim(ch);
      if (ch === 'q2') await held;
      return r;
    };
    const asked: string[][] = [];
    const among = registry.claimedAmong.bind(registry);
    registry.claimedAmong = async (chs) => (asked.push([...chs]), among(chs));
    telephony.emit({ type: 'channel.hangup_requested', channelId: 'q2', cause: 16, at });
    await flush();
    expect(registry.ended.has('q2')).toBe(true);

    await d.hangUpCallsEndedElsewhere();
    await flush();
    expect(asked).toEqual([['q1']]);
    expect(telephony.calls.filter((c) => c.startsWith('hangup '))).toEqual(['hangup q1']);
    expect(events.slice(before)).toEqual([]);
    expect(registry.map.has('q1')).toBe(false);
    release();
    await flush();
    expect(events.slice(before).map((e) => [e.callId, e.type, e.data.cause])).toEqual([[callOf('q2'), 'call.ended', 'caller_hangup']]);
  });

  it('while draining, sends new calls to the dialplan apology and records them', async () => {
    const { telephony, events, d } = setup();
    await d.drain(10);
    enter(telephony, 'late');
    await flush();
    expect(telephony.calls).toEqual(['continue late hotline-unavailable s']);
    expect(events.map((e) => [e.type, e.data.cause])).toEqual([
      ['call.started', undefined],
      ['call.ended', 'shutdown'],
    ]);
  });
});
